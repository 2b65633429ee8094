# configs/avslowfast_r50_charades.py shrunk for CPU tests on the synthetic
# fixture (mmaction_avslowfast/utils/synthetic_charades.py): the small R18
# model of configs/avslowfast_demo.py with the Charades head (157 classes,
# sigmoid/BCE, max over views) and pipelines for 80x64 videos. Only these
# variables are reassigned: the data set, metric, hooks and loaders come
# from the real config (ann_file / data_prefix.video set with --cfg-options;
# the model has no pretrained checkpoint).
_base_ = '../../configs/avslowfast_r50_charades.py'

clip_len = 16
audio_frames = 64

model = dict(
    _delete_=True,
    type='AVRecognizer3D',
    backbone=dict(
        type='AVSlowFast',
        resample_rate=4,
        speed_ratio=4,
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
        drop_pathway=0.8,
        avs_stages=(False, False, True, True, True),
        mix_neg_epoch=0),
    cls_head=dict(
        type='AVSlowFastHead',
        num_classes=157,
        in_channels=128 + 32 + 64,
        multi_class=True,
        loss_cls=dict(type='BCELossWithLogits'),
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='max'),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        preprocessors=dict(
            imgs=dict(
                type='ActionDataPreprocessor',
                mean=[114.75, 114.75, 114.75],
                std=[57.375, 57.375, 57.375],
                format_shape='NCTHW'),
            audios=dict(type='ActionDataPreprocessor'))))

train_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=2,
         num_clips=1),
    dict(type='CheckedDecordDecode'),
    dict(type='CharadesClipLabel'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames,
         with_negative=True),
    dict(type='RandomRescale', scale_range=(36, 44)),
    dict(type='RandomCrop', size=32),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=2,
         num_clips=1, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='CharadesClipLabel', video_level=True),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 40)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
test_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=2,
         num_clips=10, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='CharadesClipLabel', video_level=True),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 32)),  # 80x64 videos -> 40x32
    dict(type='ThreeCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
train_dataloader = dict(
    batch_size=2, num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=1, dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=2, num_workers=1, dataset=dict(pipeline=test_pipeline))

train_cfg = dict(max_epochs=2, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True)
]
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=1), logger=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
