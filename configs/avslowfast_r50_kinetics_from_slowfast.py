# AVSlowFast R50 4x16 whose Slow and Fast pathways start from MMAction2's
# SlowFast R50 4x16 Kinetics-400 model-zoo checkpoint.
#
# Inherits MMAction2's stock SlowFast recipe (data layout, augmentation,
# schedule) and swaps in the audiovisual parts. The fusion uses the model-zoo
# layout: F->S laterals at all four junctions without lateral BN
# (`slow_path.conv1_lateral`, `layer{1,2,3}_lateral`), so every visual tensor
# of the checkpoint loads; the Audio pathway, the A->FS laterals, the AVS
# heads and the classifier (3328 inputs instead of 2304) are newly
# initialised. The log lists both groups ("AVRecognizer3D: pretrained ...").
#
# Download the checkpoint once (no download happens at run time):
#   mkdir -p checkpoints && wget -P checkpoints <URL>
# with <URL> the "Weights" of slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb in
# MMAction2's configs/recognition/slowfast/metafile.yml:
#   https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb_20220901-701b0f6f.pth  # noqa: E501
# or point to another local copy with
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/to/ckpt.pth
_base_ = 'mmaction::recognition/slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py'  # noqa: E501

custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)

slowfast_checkpoint = ('checkpoints/slowfast_r50_8xb8-4x16x1-256e_'
                       'kinetics400-rgb_20220901-701b0f6f.pth')
clip_len = 32
audio_frames = 128

model = dict(
    _delete_=True,
    type='AVRecognizer3D',
    backbone=dict(
        type='AVSlowFast',
        # Loaded non-strictly by AVSlowFast.init_weights from a local file.
        init_cfg=dict(type='Pretrained', checkpoint=slowfast_checkpoint),
        resample_rate=8,
        speed_ratio=8,
        channel_ratio=8,
        clip_len=clip_len,
        audio_frames=audio_frames,
        slow_pathway=dict(
            type='resnet3d',
            depth=50,
            pretrained=None,
            lateral=True,
            lateral_norm=False,  # as ResNet3dSlowFast
            fusion_kernel=5,
            conv1_kernel=(1, 7, 7),
            dilations=(1, 1, 1, 1),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=(0, 0, 1, 1),
            norm_eval=False),
        fast_pathway=dict(
            type='resnet3d',
            depth=50,
            pretrained=None,
            lateral=False,
            base_channels=8,
            conv1_kernel=(5, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            norm_eval=False),
        fs_fusion=(True, True, True, True),  # model-zoo SlowFast laterals
        afs_fusion=(False, False, True, True),
        drop_pathway=0.8,
        avs_stages=(False, False, True, True, True)),
    cls_head=dict(
        type='AVSlowFastHead',
        num_classes=400,
        in_channels=2048 + 256 + 1024,
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        preprocessors=dict(
            # The checkpoint was trained with MMAction2's ImageNet statistics.
            imgs=dict(
                type='ActionDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                format_shape='NCTHW'),
            audios=dict(type='ActionDataPreprocessor'))))

file_client_args = dict(io_backend='disk')
# The stock pipelines plus the audio of the same clips.
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=2,
         num_clips=1),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames,
         with_negative=True),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=2,
         num_clips=1, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
test_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=2,
         num_clips=10, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
# The stock data sets become AVVideoDataset (same keys): unreadable videos are
# redrawn in training, counted as misses in validation, and stop mim test
# (naming the file) unless test_dataloader.dataset.on_unreadable=miss.
train_dataloader = dict(
    pin_memory=True,
    dataset=dict(type='AVVideoDataset', pipeline=train_pipeline))
val_dataloader = dict(
    pin_memory=True,
    dataset=dict(
        type='AVVideoDataset', pipeline=val_pipeline, on_unreadable='miss'))
test_dataloader = dict(
    pin_memory=True,
    dataset=dict(
        type='AVVideoDataset', pipeline=test_pipeline, on_unreadable='error'))
# AccMetric that counts unreadable samples as misses.
val_evaluator = dict(type='AVAccMetric')
test_evaluator = val_evaluator

# DropPathwayHook takes its probability from model.backbone.drop_pathway.
# MediaIssuesHook: one WARNING per unreadable file or lost audio track, the
# per-epoch counts data/unreadable and data/no_audio, the files listed in the
# work dir, and a stop when over 5 % of an epoch's draws are unreadable.
custom_hooks = [
    dict(type='DropPathwayHook'),
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]

# Multi-process training (`--launcher pytorch`): nccl on GPUs; on a machine without
# CUDA the plugin switches to gloo (mmaction_avslowfast/utils/compat.py).
# device_ids=None lets DDP wrap CPU models too (for a CUDA model it uses the
# model's device, cuda:LOCAL_RANK); no parameter goes unused in a step
# (dropped audio laterals are multiplied by zero, not skipped).
env_cfg = dict(dist_cfg=dict(backend='nccl'))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)
