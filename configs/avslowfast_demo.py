# AVSlowFast demo: a small CPU model on the synthetic audiovisual dataset of
# tools/make_demo_dataset.py (6 classes = {left, right, up} motion x
# {low, high} tone; vision alone can reach at most 50 % top-1).
#
#   python tools/make_demo_dataset.py --out data/avdemo
#   mim train mmaction configs/avslowfast_demo.py --gpus 0 \
#       --work-dir work_dirs/avslowfast_demo
#   mim test mmaction configs/avslowfast_demo.py \
#       --checkpoint work_dirs/avslowfast_demo/best_acc_top1_epoch_<N>.pth \
#       --work-dir work_dirs/avslowfast_demo \
#       --dump work_dirs/avslowfast_demo/test.pkl
#   python tools/demo_report.py work_dirs/avslowfast_demo/test.pkl \
#       --label-map data/avdemo/label_map.txt
#
# The val split picks the best checkpoint; the test split is held out.
# Visual-only ablation (same model, audio input zeroed in training and
# test): add  --cfg-options model.blank_modalities=audios  to train and test.
#
# Multi-process training: mim train ... --gpus 2 --launcher pytorch
# (gloo backend, also on CPU; see env_cfg at the end).
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)

num_classes = 6
clip_len = 16  # frames at 16 fps = 1 s
audio_frames = 64  # log-mel frames of 16 ms covering the same second

model = dict(
    type='AVRecognizer3D',
    blank_modalities=(),
    backbone=dict(
        type='AVSlowFast',
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
        drop_pathway=0.8,
        avs_stages=(False, False, True, True, True)),
    cls_head=dict(
        type='AVSlowFastHead',
        num_classes=num_classes,
        in_channels=128 + 32 + 64,  # Slow + Fast + Audio of this R18 variant
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

dataset_type = 'AVVideoDataset'
data_root = 'data/avdemo/videos_train'
data_root_val = 'data/avdemo/videos_val'
# A held-out test split: val selects the best checkpoint, test reports it.
data_root_test = 'data/avdemo/videos_test'
ann_file_train = 'data/avdemo/train_list_videos.txt'
ann_file_val = 'data/avdemo/val_list_videos.txt'
ann_file_test = 'data/avdemo/test_list_videos.txt'

file_client_args = dict(io_backend='disk')
# No Flip: mirroring turns a "left" clip into a "right" one.
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=2,
         num_clips=1),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames,
         with_negative=True),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
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
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
# Testing averages 3 temporal views per clip (softmax probabilities).
test_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=2,
         num_clips=3, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,  # no pin_memory: a CPU-only demo (needs a GPU)
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
        # An unreadable video is listed in the log and counted as a miss.
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
        # mim test stops at the first unreadable video (naming it); 'miss'
        # finishes and counts it as wrong (--cfg-options
        # test_dataloader.dataset.on_unreadable=miss).
        on_unreadable='error',
        test_mode=True))

# AccMetric that counts unreadable samples (on_unreadable='miss') as misses.
val_evaluator = dict(type='AVAccMetric')
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs)
]

# DropPathwayHook takes its probability from model.backbone.drop_pathway.
# MediaIssuesHook: one WARNING per unreadable file or lost audio track, the
# per-epoch counts data/unreadable and data/no_audio, the files listed in the
# work dir, and a stop when over 5 % of an epoch's draws are unreadable.
custom_hooks = [
    dict(type='DropPathwayHook'),
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=1, save_best='auto'),
    logger=dict(interval=10))
randomness = dict(seed=0)

# Multi-process training (`--launcher pytorch`): gloo runs on CPU and GPU;
# GPU users may switch to --cfg-options env_cfg.dist_cfg.backend=nccl.
# device_ids=None lets DDP wrap CPU models too (for a CUDA model it uses the
# model's device, cuda:LOCAL_RANK); no parameter goes unused in a step
# (dropped audio laterals are multiplied by zero, not skipped).
env_cfg = dict(dist_cfg=dict(backend='gloo'))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)
