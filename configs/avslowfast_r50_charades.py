# AVSlowFast R50 4x16 fine-tuned on Charades v1 (157 actions, multi-label).
#
# Recipe: PySlowFast's Charades SlowFast config (facebookresearch/SlowFast
# configs/Charades/SLOWFAST_16x8_R50.yaml, slowfast/datasets/charades.py,
# slowfast/utils/meters.py; avslowfast.md section 15):
#   - fine-tuned from a Kinetics-400 model; sigmoid head, BCE-with-logits loss,
#     dropout 0.5;
#   - training clip at a random time, target = the actions active during the
#     clip (CharadesClipLabel, rule in its module docstring); validation/test
#     target = every action of the video;
#   - SGD lr 0.0375 for 16 clips per iteration (8 GPUs x 2), momentum 0.9,
#     wd 1e-4 (none on BN), linear warm-up from 1e-4 over 4 epochs, lr x0.1
#     at epochs 41 and 49, 57 epochs; synchronised BN (PySlowFast syncs groups
#     of 4 GPUs, here all GPUs: sync_bn='torch');
#   - short-side jitter [256, 340], random 224 crop, flip; test 10 clips x 3
#     crops of 256, scores aggregated by the MAX over the 30 views (sigmoid
#     probabilities; averaging instead is the known failure SlowFast #190);
#   - mAP over the classes that have positives (CharadesMetric, which also
#     reports the per-sample mAP over the videos that have actions).
# Kept from the Kinetics checkpoint instead of PySlowFast's 16x8 input: the
# 4x16 geometry (32 Fast frames at interval 2, Slow 4, 128 log-mel frames),
# so that configs/avslowfast_r50_kinetics.py's checkpoint loads as is. The
# 16x8 variant (Slow 16 / Fast 64 frames, from an 8x8 Kinetics checkpoint of
# configs/avslowfast_r50_8x8_kinetics.py) builds with
#   model.backbone: resample_rate=4, speed_ratio=4, clip_len=64,
#   audio_frames=256, slow_pathway.fusion_kernel=7
# and the pipelines' clip_len=64 / num_frames=256.
# Not reproduced: precise BN (200 batches), the inverse-uniform scale jitter
# (RandomRescale draws the short side uniformly) and PySlowFast's 24-fps
# frame lists (the mp4s are read at their own frame rate). Validation uses
# one centred clip per video (PySlowFast's val also uses one clip); the
# reported number is the 30-view mim test.
#
# Data (the official Charades.zip and Charades_v1_480.zip, unpacked):
#   data/charades/Charades/Charades_v1_train.csv, Charades_v1_test.csv
#       read by header: `id`, `actions` ("c092 11.90 21.20;c147 0.00 12.60",
#       may be empty) and `length`;
#   data/charades/Charades/Charades_v1_classes.txt (optional, class names);
#   data/charades/Charades_v1_480/<id>.mp4 (picture and audio).
# The Kinetics checkpoint is a local file (no download at run time):
#   mim train mmaction configs/avslowfast_r50_charades.py --gpus 8 \
#       --launcher pytorch
#   mim test mmaction configs/avslowfast_r50_charades.py --checkpoint CKPT
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)

# Kinetics-400 AVSlowFast R50 4x16 (configs/avslowfast_r50_kinetics.py, or
# an author checkpoint converted by tools/convert_pyslowfast_checkpoint.py);
# a SlowFast-only checkpoint loads the visual pathways only.
kinetics_checkpoint = 'checkpoints/avslowfast_r50_4x16x1_kinetics400.pth'

num_classes = 157
clip_len = 32  # Fast frames (Slow: clip_len / resample_rate)
frame_interval = 2
audio_frames = 128  # log-mel frames of 16 ms

model = dict(
    type='AVRecognizer3D',
    backbone=dict(
        type='AVSlowFast',
        pretrained=kinetics_checkpoint,
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
        fs_fusion=(False, False, True, True),
        afs_fusion=(False, False, True, True),
        audio_fusion_interm=64,
        audio_fusion_kernel=5,
        audio_fusion_convs=2,
        drop_pathway=0.8,
        # AVS stays on while fine-tuning (the AVA config turns it off).
        # Charades videos last ~30 s, so a hard negative (the same video's
        # audio shifted by >= 0.5 s, AudioLogMelClips(with_negative=True))
        # always exists, and on ~8k training videos the self-supervised
        # synchronisation loss keeps the audio pathway from drifting while
        # the labels are sparse. The checkpoint already went through the
        # Kinetics easy->hard curriculum, so hard negatives are mixed in
        # from the first epoch (mix_neg_epoch=0). To fine-tune without it:
        # avs_stages=(False,) * 5 and with_negative=False.
        avs_stages=(False, False, True, True, True),
        avs_proj_dim=64,
        avs_margin=0.99,
        easy_neg_ratio=0.75,
        mix_neg_epoch=0),
    cls_head=dict(
        type='AVSlowFastHead',
        num_classes=num_classes,
        in_channels=2048 + 256 + 1024,  # Slow + Fast + Audio = 3328
        multi_class=True,
        loss_cls=dict(type='BCELossWithLogits'),
        dropout_ratio=0.5,
        init_std=0.01,
        # Max over the views of the sigmoid probabilities (PySlowFast
        # ENSEMBLE_METHOD: max).
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

dataset_type = 'CharadesDataset'
data_root = 'data/charades/Charades_v1_480'
data_root_val = 'data/charades/Charades_v1_480'
ann_file_train = 'data/charades/Charades/Charades_v1_train.csv'
ann_file_val = 'data/charades/Charades/Charades_v1_test.csv'
ann_file_test = 'data/charades/Charades/Charades_v1_test.csv'

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CheckedDecordDecode'),
    # Target = actions overlapping [first frame, last frame + 1/fps).
    dict(type='CharadesClipLabel'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames,
         with_negative=True),
    dict(type='RandomRescale', scale_range=(256, 340)),
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
    dict(type='CharadesClipLabel', video_level=True),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
# 10 clips spread over the whole video x 3 crops of 256; the 3 crops of
# clip j share clip j's audio (AlignAudioViews); max over the 30 views.
test_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=10, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='CharadesClipLabel', video_level=True),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]

train_dataloader = dict(
    batch_size=2,  # per GPU; 8 GPUs -> 16
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
    batch_size=2,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        # An unreadable video is listed in the log and scored as a miss.
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
        data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline,
        # mim test stops at the first unreadable video (naming it); 'miss'
        # finishes and scores it as a miss (--cfg-options
        # test_dataloader.dataset.on_unreadable=miss).
        on_unreadable='error',
        test_mode=True))

# charades/mAP (classes with positives), charades/mmit_mAP (videos with
# actions) and the counts of what was left out.
val_evaluator = dict(type='CharadesMetric')
test_evaluator = val_evaluator

base_lr = 0.0375
max_epochs = 57
warmup_epochs = 4
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=6)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0),  # BN.WEIGHT_DECAY 0.0
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    # 1e-4 -> 0.0375 over 4 epochs (WARMUP_START_LR 0.0001).
    dict(
        type='LinearLR',
        start_factor=1e-4 / base_lr,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    # steps_with_relative_lrs: LRS [1, 0.1, 0.01], STEPS [0, 41, 49].
    dict(
        type='MultiStepLR',
        milestones=[41, 49],
        gamma=0.1,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

# Synchronised BN across all GPUs in distributed training (MMEngine converts
# every BN layer; a single-process run keeps plain BN).
sync_bn = 'torch'

custom_hooks = [
    dict(type='DropPathwayHook'),
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]
default_hooks = dict(
    checkpoint=dict(
        interval=6, max_keep_ckpts=3, save_best='charades/mAP',
        rule='greater'),
    logger=dict(interval=100))

env_cfg = dict(dist_cfg=dict(backend='nccl'))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)
