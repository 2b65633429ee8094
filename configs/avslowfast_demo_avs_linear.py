# Linear probe of the small CPU AVSlowFast of configs/avslowfast_demo.py on
# the synthetic demo data (tools/make_demo_dataset.py): frozen backbone, BN
# statistics recomputed on the probe's training data, one linear layer on
# the pooled Slow + Fast features. VISUAL-ONLY, like the UCF101 / HMDB51
# transfer configs (configs/avslowfast_r50_avs_linear_ucf101.py says why):
# the audio is not decoded (BlankAudio), the audio input is blanked, the
# A->FS laterals are off and the head ignores the audio feature. On the demo
# data vision alone reaches at most 50 % top-1 (motion direction; the tone
# needs audio), chance is 1/6.
#
#   python tools/make_demo_dataset.py --out data/avdemo
#   # pre-trained backbone (configs/avslowfast_demo_avs_pretrain.py):
#   mim train mmaction configs/avslowfast_demo_avs_linear.py --gpus 0 \
#       --work-dir work_dirs/avs_linear_pretrained --cfg-options \
#       model.backbone.pretrained=work_dirs/avslowfast_demo_avs_pretrain/<ckpt>.pth  # noqa: E501
#   # baseline, same budget: randomly initialised backbone
#   mim train mmaction configs/avslowfast_demo_avs_linear.py --gpus 0 \
#       --work-dir work_dirs/avs_linear_random \
#       --cfg-options model.backbone.pretrained=None
#   mim test mmaction configs/avslowfast_demo_avs_linear.py --gpus 0 \
#       --checkpoint work_dirs/avs_linear_pretrained/epoch_<N>.pth
#
# Both runs recompute the backbone's BN statistics on the training data
# before the first iteration (RecomputeBNStatsHook); the checkpoints carry
# them, so mim test uses them too. Other data: set the full keys
#   train_dataloader.dataset.ann_file=...
#   train_dataloader.dataset.data_prefix.video=...
# (and the same for val_dataloader / test_dataloader) with --cfg-options.
# The backbone settings are those of configs/avslowfast_demo.py and
# configs/avslowfast_demo_avs_pretrain.py, so their checkpoints load fully
# (AVS heads / A->FS laterals are not built: logged as "unexpected").
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)

pretrain_checkpoint = None  # or a path; see above
num_classes = 6
clip_len = 16  # frames at 16 fps = 1 s
frame_interval = 1  # as the AVS pre-training's clips
audio_frames = 64  # only the shape of the blank audio input

model = dict(
    type='AVRecognizer3D',
    blank_modalities=('audios', ),
    backbone=dict(
        type='AVSlowFast',
        pretrained=pretrain_checkpoint,
        frozen=True,
        resample_rate=4,  # Slow: 4 frames
        speed_ratio=4,  # Fast: 16 frames
        channel_ratio=4,
        clip_len=clip_len,
        audio_frames=audio_frames,
        slow_pathway=dict(
            type='resnet3d',
            depth=18,
            base_channels=16,
            pretrained=None,
            lateral=True,
            lateral_norm=True,
            conv1_kernel=(1, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=(0, 0, 1, 1)),
        fast_pathway=dict(
            type='resnet3d',
            depth=18,
            base_channels=4,
            pretrained=None,
            lateral=False,
            conv1_kernel=(5, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1),
        audio_fusion_interm=16,
        afs_fusion=(False, False, False, False),  # visual-only
        drop_pathway=0.0,
        avs_stages=(False, False, False, False, False)),
    cls_head=dict(
        type='AVSlowFastHead',
        num_classes=num_classes,
        in_channels=128 + 32,  # Slow + Fast of this R18 variant
        pathways=(0, 1),
        dropout_ratio=0.0,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        preprocessors=dict(
            imgs=dict(
                type='ActionDataPreprocessor',
                mean=[114.75, 114.75, 114.75],
                std=[57.375, 57.375, 57.375],
                format_shape='NCTHW'),
            audios=dict(type='ActionDataPreprocessor'))))

dataset_type = 'AVVideoDataset'
data_root = 'data/avdemo/videos_train'
data_root_val = 'data/avdemo/videos_val'
data_root_test = 'data/avdemo/videos_test'
ann_file_train = 'data/avdemo/train_list_videos.txt'
ann_file_val = 'data/avdemo/val_list_videos.txt'
ann_file_test = 'data/avdemo/test_list_videos.txt'

file_client_args = dict(io_backend='disk')
# No Flip: mirroring turns a "left" clip into a "right" one.
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CheckedDecordDecode'),
    dict(type='BlankAudio', num_frames=audio_frames),  # audio not read
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='BlankAudio', num_frames=audio_frames),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
# Testing averages 2 temporal views per clip (softmax probabilities).
test_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=2, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='BlankAudio', num_frames=audio_frames),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]

# 2 workers for 2 CPU cores; pin_memory only helps with a GPU.
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
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
    pin_memory=False,
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
    pin_memory=False,
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

# The linear-evaluation recipe of the R50 configs (SGD, no weight decay, no
# dropout, warm-up then cosine), shortened to a CPU budget.
max_epochs = 8
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]

# RecomputeBNStatsHook: BN statistics of the backbone recomputed from (up
# to) 50 training batches before the first iteration.
custom_hooks = [
    dict(type='RecomputeBNStatsHook', num_batches=50, before_train=True),
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]
default_hooks = dict(
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
    logger=dict(interval=10))
randomness = dict(seed=0)

env_cfg = dict(dist_cfg=dict(backend='gloo'))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)
