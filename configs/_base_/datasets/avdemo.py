# The synthetic audiovisual demo data set of tools/make_demo_dataset.py
# (data/avdemo: train / val / held-out test lists): 16-frame clips at
# interval 2 (1 s at 16 fps) with their 64 log-mel frames, frames resized to
# 32x32 (no flip: mirroring turns "left" into "right"); 3 clips per test
# video. 2 workers for a 2-core CPU; no pinned memory (it only helps a GPU).
dataset_type = 'AVVideoDataset'
data_root = 'data/avdemo/videos_train'
data_root_val = 'data/avdemo/videos_val'
data_root_test = 'data/avdemo/videos_test'
ann_file_train = 'data/avdemo/train_list_videos.txt'
ann_file_val = 'data/avdemo/val_list_videos.txt'
ann_file_test = 'data/avdemo/test_list_videos.txt'

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=16, frame_interval=2, num_clips=1),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=64, with_negative=True),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=16, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=64),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
test_pipeline = [
    dict(step, num_clips=3) if step['type'] == 'SampleFrames' else step
    for step in val_pipeline
]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        on_unreadable='miss',
        test_mode=True))
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root_test),
        pipeline=test_pipeline,
        on_unreadable='error',
        test_mode=True))

val_evaluator = dict(type='AVAccMetric')
test_evaluator = val_evaluator
