# Self-supervised AVS pre-training of the small CPU AVSlowFast of
# configs/avslowfast_demo.py on the synthetic demo data (labels ignored):
# hierarchical AVS losses only (aligned audio vs another video's audio, then
# also the same video's audio shifted >= 0.5 s), no classification head.
#
#   python tools/make_demo_dataset.py --out data/avdemo
#   mim train mmaction configs/avslowfast_demo_avs_pretrain.py --gpus 0 \
#       --work-dir work_dirs/avslowfast_demo_avs_pretrain
#   mim test mmaction configs/avslowfast_demo_avs_pretrain.py --gpus 0 \
#       --work-dir work_dirs/avslowfast_demo_avs_pretrain --checkpoint \
#       work_dirs/avslowfast_demo_avs_pretrain/best_avs_sync_acc_epoch_<N>.pth
#
# Validation / test report AVSyncMetric: avs/sync_acc (mean of the hard and
# easy pair accuracies, chance 0.5), avs/sync_acc_hard, avs/sync_acc_easy and
# avs/sync_acc_res3/res4/res5. Their negatives are fixed by the sample index
# (easy: the audio of sample (i + 1) mod N; hard: the same video shifted by
# 0.5 s), so the figures do not depend on batch size, workers or GPUs.
#
# A->FS fusion is off (AVSPretrainer sets backbone.drop_pathway = 1.0): with
# no classification head, fusion would get no learning signal and the gating
# would zero the later stages' losses whenever audio is fused.
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)

clip_len = 16  # frames at 16 fps = 1 s
audio_frames = 64  # log-mel frames of 16 ms covering the same second

model = dict(
    type='AVSPretrainer',
    fuse_audio=False,
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
        drop_pathway=1.0,  # A->FS fusion off in pre-training (see above)
        avs_stages=(False, False, True, True, True),
        # Easy negatives only in the first half, then 75 % easy / 25 % hard.
        mix_neg_epoch=6,
        easy_neg_ratio=0.75),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        preprocessors=dict(
            imgs=dict(
                type='ActionDataPreprocessor',
                mean=[114.75, 114.75, 114.75],
                std=[57.375, 57.375, 57.375],
                format_shape='NCTHW'),
            audios=dict(type='ActionDataPreprocessor'))))

# The demo's list files (`path label`): UnlabeledAVDataset reads the paths
# and ignores the labels.
dataset_type = 'UnlabeledAVDataset'
data_root = 'data/avdemo/videos_train'
data_root_val = 'data/avdemo/videos_val'
data_root_test = 'data/avdemo/videos_test'
ann_file_train = 'data/avdemo/train_list_videos.txt'
ann_file_val = 'data/avdemo/val_list_videos.txt'
ann_file_test = 'data/avdemo/test_list_videos.txt'

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1,
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
# Eval audio: aligned, hard negative (same video shifted by 0.5 s; the demo
# videos last 2 s, too short for shift_by_clip), easy negative (the audio of
# the data set's partner sample at the same times).
eval_audio = dict(type='AVSyncEvalAudio', num_frames=audio_frames,
                  min_shift=0.5, shift_by_clip=False)
val_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1,
         num_clips=1, test_mode=True),
    dict(type='CheckedDecordDecode'),
    eval_audio,
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
# Testing averages the distances of 2 temporal views per clip.
test_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1,
         num_clips=2, test_mode=True),
    dict(type='CheckedDecordDecode'),
    eval_audio,
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]

# 2 workers for 2 CPU cores; pin_memory only helps with a GPU.
train_dataloader = dict(
    batch_size=8,
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
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        # easy negative of sample i: the audio of sample (i + 1) mod N
        easy_negative_offset=1,
        # An unreadable video is listed in the log and counted as wrong.
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
        easy_negative_offset=1,
        on_unreadable='error',
        test_mode=True))

val_evaluator = dict(type='AVSyncMetric')
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

# DropPathwayHook drives the negative curriculum (backbone.set_epoch) and
# keeps DropPathway at the model's 1.0 (fusion off); MediaIssuesHook reports
# unreadable files and lost audio.
custom_hooks = [
    dict(type='DropPathwayHook'),
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]
default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=1, save_best='avs/sync_acc',
        rule='greater'),
    logger=dict(interval=10))
randomness = dict(seed=0)

env_cfg = dict(dist_cfg=dict(backend='gloo'))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)
