# The EPIC-Kitchens-100 config shrunk for CPU tests (tests/test_epic_mim.py):
# everything of configs/avslowfast_r50_epic100.py (data set, metric, hooks,
# schedule, recipe) except the model, which is the small CPU model of
# configs/avslowfast_demo.py with the EPIC head, and the pipelines (small
# clips, 32x32 frames). Config variables are fixed when a config is parsed,
# so the pipeline lists are reassigned here; paths and loader sizes come on
# the command line (--cfg-options).
_base_ = ['../../configs/avslowfast_r50_epic100.py']

clip_len = 16  # frames (Slow 4, Fast 16)
frame_interval = 2
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
        # As the EPIC config: frozen BN, DropPathway on, AVS off.
        norm_eval=True,
        drop_pathway=0.8,
        avs_stages=(False, False, False, False, False)),
    cls_head=dict(
        type='EpicKitchensHead',
        in_channels=128 + 32 + 64,  # Slow + Fast + Audio of this R18
        num_classes=(97, 300),
        loss_weights=(0.5, 0.5),
        dropout_ratio=0.5,
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

train_pipeline = [
    dict(type='CheckedDecordInit', io_backend='disk'),
    dict(type='SegmentSampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit', io_backend='disk'),
    dict(type='SegmentSampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
# 2 views per segment, averaged by the head.
test_pipeline = [
    dict(type='CheckedDecordInit', io_backend='disk'),
    dict(type='SegmentSampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=2, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]

# No worker processes: the runs are a few iterations long.
train_dataloader = dict(
    batch_size=5, num_workers=0, persistent_workers=False, pin_memory=False,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=3, num_workers=0, persistent_workers=False, pin_memory=False,
    dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=3, num_workers=0, persistent_workers=False, pin_memory=False,
    dataset=dict(pipeline=test_pipeline))

train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
