# AVSlowFast R50 4x16 on Kinetics-400: the reference recipe
# (AVSLOWFAST_4x16_R50 of the author's release; avslowfast.md section 6).
#
# 8 GPUs x 8 clips, SGD lr 0.1 (momentum 0.9, wd 1e-4, no wd on BN), linear
# warm-up from 0.01 over 34 epochs then cosine to 196 epochs; DropPathway 0.8;
# AVS after res3, res4 and res5; 10 clips x 3 crops at test.
# Data: MMAction2's Kinetics-400 video layout (tools/data/kinetics), i.e.
#   data/kinetics400/videos_{train,val}/...  and
#   data/kinetics400/kinetics400_{train,val}_list_videos.txt
# The audio is decoded from the same mp4 files (LoadAudioFromVideo).
#
#   mim train mmaction configs/avslowfast_r50_kinetics.py --gpus 8 --launcher pytorch
#
# env_cfg selects nccl; on a machine without CUDA the plugin uses gloo instead.
# Not reproduced: precise BN (200 batches); RecomputeBNStatsHook(before_train=False,
# interval=1, num_batches=200) in custom_hooks does it (untested at this scale).
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)

num_classes = 400
clip_len = 32  # Fast frames (Slow: clip_len / resample_rate)
frame_interval = 2
audio_frames = 128  # log-mel frames of 16 ms

model = dict(
    type='AVRecognizer3D',
    backbone=dict(
        type='AVSlowFast',
        pretrained=None,
        resample_rate=8,  # tau: Slow 4 frames
        speed_ratio=8,  # alpha: Fast 32 frames
        channel_ratio=8,  # beta_inv
        clip_len=clip_len,
        audio_frames=audio_frames,
        slow_pathway=dict(
            type='resnet3d',
            depth=50,
            pretrained=None,
            lateral=True,
            lateral_norm=True,
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
        # Reference fusion: F->S and A->FS after res3 and res4 only.
        fs_fusion=(False, False, True, True),
        afs_fusion=(False, False, True, True),
        audio_fusion_interm=64,
        audio_fusion_kernel=5,
        audio_fusion_convs=2,
        drop_pathway=0.8,
        avs_stages=(False, False, True, True, True),
        avs_proj_dim=64,
        avs_margin=0.99,
        easy_neg_ratio=0.75,
        mix_neg_epoch=96),
    cls_head=dict(
        type='AVSlowFastHead',
        num_classes=num_classes,
        in_channels=2048 + 256 + 1024,  # Slow + Fast + Audio = 3328
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        preprocessors=dict(
            # RGB mean 0.45 / std 0.225 of the reference, in 0..255.
            imgs=dict(
                type='ActionDataPreprocessor',
                mean=[114.75, 114.75, 114.75],
                std=[57.375, 57.375, 57.375],
                format_shape='NCTHW'),
            audios=dict(type='ActionDataPreprocessor'))))

dataset_type = 'AVVideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'
ann_file_test = 'data/kinetics400/kinetics400_val_list_videos.txt'

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    # Channel 1 = hard negative from the same track for AVS.
    dict(type='AudioLogMelClips', num_frames=audio_frames,
         with_negative=True),
    # Short-side jitter [256, 320], random 224 crop, horizontal flip.
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
# 10 temporal clips x 3 spatial crops of 256; the 3 crops of clip j share
# clip j's audio (AlignAudioViews). Softmax scores averaged over 30 views.
test_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=10, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]

train_dataloader = dict(
    batch_size=8,  # per GPU; 8 GPUs -> 64
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,  # host-to-GPU copies overlap compute
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,  # host-to-GPU copies overlap compute
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        # An unreadable video is listed in the log and counted as a miss.
        on_unreadable='miss',
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,  # host-to-GPU copies overlap compute
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline,
        # mim test stops at the first unreadable video (naming it); 'miss'
        # finishes and counts it as wrong (--cfg-options
        # test_dataloader.dataset.on_unreadable=miss).
        on_unreadable='error',
        test_mode=True))

# AccMetric that counts unreadable samples (on_unreadable='miss') as misses.
val_evaluator = dict(type='AVAccMetric')
test_evaluator = val_evaluator

max_epochs = 196
warmup_epochs = 34
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0),  # no weight decay on BN
    clip_grad=dict(max_norm=40, norm_type=2))
# As PySlowFast: the cosine runs over all 196 epochs and the warm-up ramps
# linearly from 0.01 up to the cosine curve over the first 34 epochs.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
# The recipe's LR 0.1 is for 64 clips per iteration (8 GPUs x 8).
auto_scale_lr = dict(enable=False, base_batch_size=64)

# DropPathwayHook takes its probability from model.backbone.drop_pathway.
# MediaIssuesHook: one WARNING per unreadable file or lost audio track, the
# per-epoch counts data/unreadable and data/no_audio, the files listed in the
# work dir, and a stop when over 5 % of an epoch's draws are unreadable.
custom_hooks = [
    dict(type='DropPathwayHook'),
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]
default_hooks = dict(
    checkpoint=dict(interval=4, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))

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
