# Linear evaluation of a self-supervised (AVS) pre-trained AVSlowFast R50 on
# UCF101: frozen backbone, BN statistics recomputed on UCF101, one linear
# layer on the pooled Slow + Fast features. VISUAL-ONLY (see below).
#
#   mim train mmaction configs/avslowfast_r50_avs_linear_ucf101.py \
#       --gpus 8 --launcher pytorch
#   mim test mmaction configs/avslowfast_r50_avs_linear_ucf101.py \
#       --checkpoint work_dirs/avslowfast_r50_avs_linear_ucf101/best_acc_top1_epoch_<N>.pth  # noqa: E501
#
# Split: `split` below (1, 2 or 3). Edit it in this file: it is a variable
# of the config, which --cfg-options cannot change once the file is parsed
# (full keys such as train_dataloader.dataset.ann_file=... can be set).
# Pre-training checkpoint: `pretrain_checkpoint` below, or
#   --cfg-options model.backbone.pretrained=/path/to/epoch_N.pth
# (a checkpoint of AVSPretrainer or of any AVSlowFast recognizer: the
# `backbone.` keys are loaded, the log lists loaded / newly initialised /
# unexpected keys). Random-init baseline with the same budget:
#   --cfg-options model.backbone.pretrained=None
#
# Data: MMAction2's UCF101 layout (tools/data/ucf101):
#   data/ucf101/videos/<Class>/<name>.avi
#   data/ucf101/ucf101_{train,val}_split_{1,2,3}_videos.txt
#
# Why visual-only: UCF101 and HMDB51 ship as AVI and many of their videos
# have no audio track, unevenly across classes, so the silence filled in for
# a missing track would itself tell the class. Here the audio is neither
# decoded nor used: BlankAudio writes the same constant silence for every
# video without opening its audio, AVRecognizer3D blanks the audio input
# (blank_modalities), the A->FS laterals are off (afs_fusion: the visual
# pathways run exactly as in a DropPathway-dropped / AVS pre-training step)
# and the head pools only Slow + Fast (pathways=(0, 1)). The audio pathway
# still runs on the constant input (the backbone has no switch to skip it);
# its output is discarded. The AVS heads and A->FS laterals of the
# checkpoint are not built (logged as "unexpected").
#
# Audiovisual variant (optional): first measure the share of videos without
# audio, per class (tools/check_dataset.py flags `no_audio`; in training
# MediaIssuesHook counts data/no_audio), and only if it is negligible replace
# BlankAudio by
#   dict(type='LoadAudioFromVideo'),
#   dict(type='AudioLogMelClips', num_frames=audio_frames)
# in the three pipelines, set model.blank_modalities=(), restore
# model.backbone.afs_fusion=(False, False, True, True), and pool all
# pathways: cls_head pathways=None, in_channels=2048 + 256 + 1024.
#
# Recipe (PySlowFast configs/contrastive_ssl/linear_k400_Slow_8x8_R50_syn0
# .yaml, the linear evaluation of its self-supervised models; reference
# avslowfast.md section 15): SGD lr 0.5 for 64 clips per iteration (8 GPUs
# x 8), momentum 0.9, no weight decay, no dropout, 60 epochs, linear
# warm-up over 8 epochs then cosine. Kept as is: 8 GPUs x 8 clips here too
# (auto_scale_lr with base_batch_size=64 for other sizes). PySlowFast keeps
# the backbone's BN statistics (USE_PRECISE_STATS: False); here they are
# recomputed on UCF101 before training (RecomputeBNStatsHook, 200 batches),
# so that a randomly initialised backbone gets a fair baseline too.
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)

split = 1  # UCF101 split: 1, 2 or 3
pretrain_checkpoint = \
    'work_dirs/avslowfast_r50_avs_pretrain_kinetics/epoch_XX.pth'  # set XX

num_classes = 101
clip_len = 32  # Fast frames (Slow: clip_len / resample_rate)
frame_interval = 2
audio_frames = 128  # only the shape of the blank audio input

model = dict(
    type='AVRecognizer3D',
    blank_modalities=('audios', ),
    backbone=dict(
        type='AVSlowFast',
        pretrained=pretrain_checkpoint,
        frozen=True,  # all pathways, laterals; eval mode throughout
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
        fs_fusion=(False, False, True, True),
        afs_fusion=(False, False, False, False),  # visual-only
        audio_fusion_interm=64,
        audio_fusion_kernel=5,
        audio_fusion_convs=2,
        drop_pathway=0.0,
        avs_stages=(False, False, False, False, False)),
    cls_head=dict(
        type='AVSlowFastHead',
        num_classes=num_classes,
        in_channels=2048 + 256,  # Slow + Fast
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
data_root = 'data/ucf101/videos'
ann_file_train = f'data/ucf101/ucf101_train_split_{split}_videos.txt'
ann_file_val = f'data/ucf101/ucf101_val_split_{split}_videos.txt'
ann_file_test = ann_file_val

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CheckedDecordDecode'),
    dict(type='BlankAudio', num_frames=audio_frames),  # audio not read
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
    dict(type='BlankAudio', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
# 10 temporal clips x 3 spatial crops of 256, softmax scores averaged.
test_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=10, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='BlankAudio', num_frames=audio_frames),
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
    pin_memory=True,
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
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root),
        pipeline=val_pipeline,
        # An unreadable video is listed in the log and counted as a miss.
        on_unreadable='miss',
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline,
        # mim test stops at the first unreadable video (naming it); 'miss'
        # finishes and counts it as wrong (--cfg-options
        # test_dataloader.dataset.on_unreadable=miss).
        on_unreadable='error',
        test_mode=True))

val_evaluator = dict(type='AVAccMetric')
test_evaluator = val_evaluator

max_epochs = 60
warmup_epochs = 8
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Only the head has trainable parameters (the backbone is frozen).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=64)

# RecomputeBNStatsHook: before the first iteration (after the checkpoint is
# loaded) the backbone's BN running statistics are reset and recomputed as
# exact averages over 200 training batches (per rank, averaged over ranks);
# they are saved with the checkpoints and used by mim test.
# MediaIssuesHook: unreadable videos (logged, counted, stop above 5 %).
custom_hooks = [
    dict(type='RecomputeBNStatsHook', num_batches=200, before_train=True),
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]
default_hooks = dict(
    checkpoint=dict(interval=5, max_keep_ckpts=2, save_best='auto'),
    logger=dict(interval=50))

env_cfg = dict(dist_cfg=dict(backend='nccl'))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)  # frozen backbone: only the head trains
