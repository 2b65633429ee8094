# Kinetics-400 videos with their audio in MMAction2's layout
# (tools/data/kinetics), read by AVVideoDataset: 32-frame clips at interval 2
# with the log-mel of the same time span; short side jittered in [256, 320],
# random 224 crop and flip for training; 10 clips x 3 crops of 256 for
# testing (the crops of a clip share its audio). Docs: docs/configs.md
dataset_type = 'AVVideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'
ann_file_test = 'data/kinetics400/kinetics400_val_list_videos.txt'

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=1),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    # channel 1: the AVS hard negative, the same track shifted >= 0.5 s
    dict(type='AudioLogMelClips', num_frames=128, with_negative=True),
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=128),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
test_pipeline = [
    dict(step, num_clips=10) if step['type'] == 'SampleFrames' else
    dict(type='ThreeCrop', crop_size=256)
    if step['type'] == 'CenterCrop' else step for step in val_pipeline
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    train_dataloader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        train_dataloader['dataset'],
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        # an unreadable video is named in the log and counted as a miss
        on_unreadable='miss',
        test_mode=True))
test_dataloader = dict(
    val_dataloader,
    batch_size=1,
    dataset=dict(
        val_dataloader['dataset'],
        ann_file=ann_file_test,
        pipeline=test_pipeline,
        # mim test stops at an unreadable video, naming it ('miss' finishes)
        on_unreadable='error'))

val_evaluator = dict(type='AVAccMetric')
test_evaluator = val_evaluator
