# AVSlowFast R50 8x8 fine-tuned on EPIC-Kitchens-100 action recognition
# (verb 97 + noun 300 classes, two heads), from a local Kinetics-400
# AVSlowFast checkpoint.
#
# Recipe = EPIC-Kitchens' own SlowFast baseline
# (epic-kitchens/epic-kitchens-slowfast, configs/EPIC-KITCHENS/
# SLOWFAST_8x8_R50.yaml; reference/avslowfast.md section 15), since the
# AVSlowFast paper's EPIC recipe is not published (the author's fork has no
# EPIC code):
#   - Kinetics-400 pretrained, fine-tuned end to end with frozen BN
#     (BN.FREEZE: True -> model.backbone.norm_eval=True here);
#   - two linear heads NUM_CLASSES [97, 300] after dropout 0.5, loss = mean
#     of the verb and noun cross-entropies;
#   - SGD lr 0.01, momentum 0.9, Nesterov (PySlowFast default), weight decay
#     1e-4, none on BN; 1 warm-up epoch from lr 0.001; 30 epochs, lr x0.1 at
#     epoch 20 and x0.01 at epoch 25 (steps_with_relative_lrs [0, 20, 25]);
#   - 32 clips per iteration (8 GPUs x 4);
#   - clips of 32 frames every 2nd frame (Fast 32, Slow 8: "8x8"), short
#     side jittered in [256, 320], random 224 crop, horizontal flip;
#   - test: 10 clips spread over the segment x 1 centre crop of 256
#     (NUM_ENSEMBLE_VIEWS 10, NUM_SPATIAL_CROPS 1), softmax averaged.
#   Not reproduced: precise BN (moot with frozen BN).
#
# Pretrained weights: `kinetics_checkpoint` below, a LOCAL file (nothing is
# downloaded): an AVSlowFast R50 8x8 trained with
# configs/avslowfast_r50_8x8_kinetics.py (its best_*.pth), or the author's
# release converted with tools/convert_pyslowfast_checkpoint.py. The
# backbone loads it non-strictly (AVSlowFast.load_slowfast_checkpoint) and
# the log lists the loaded and the newly initialised tensors; the verb and
# noun classifiers are always new. Another file:
#   --cfg-options model.backbone.pretrained=/path/to/ckpt.pth
#
# Data (official layout, see the README section "EPIC-Kitchens-100"):
#   data/EPIC-KITCHENS/P01/videos/P01_01.MP4 ...   (download scripts)
#   data/epic-kitchens-100-annotations/EPIC_100_{train,validation}.csv
# Audio is decoded from the same MP4 files; their 48 kHz AAC track goes
# through the normal resampling to 16 kHz (LoadAudioFromVideo), and every
# frame and every audio sample of a clip lies inside its action segment
# (SegmentSampleFrames: short segments loop inside themselves).
#
# Results: the AVSlowFast paper reports EPIC-Kitchens-55 (S1/S2 test sets,
# 125 verb classes): those numbers are NOT comparable with EPIC-Kitchens-100's
# (other videos, 97 verbs / 300 nouns, other splits).
# EpicKitchensMetric reports the EPIC-100 validation metrics (verb / noun /
# action top-1 and top-5, action scored as the official evaluation).
#
#   mim train mmaction configs/avslowfast_r50_epic100.py --gpus 8 \
#       --launcher pytorch
#   mim test mmaction configs/avslowfast_r50_epic100.py --checkpoint \
#       work_dirs/avslowfast_r50_epic100/best_epic_action_top1_*.pth \
#       --dump work_dirs/avslowfast_r50_epic100/val.pkl
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)

kinetics_checkpoint = 'checkpoints/avslowfast_r50_8x8_kinetics400.pth'

num_verbs, num_nouns = 97, 300
clip_len = 32  # Fast frames (Slow: clip_len / resample_rate = 8)
frame_interval = 2
audio_frames = 128  # log-mel frames of the clip's time span

model = dict(
    type='AVRecognizer3D',
    backbone=dict(
        type='AVSlowFast',
        # Loaded non-strictly by AVSlowFast.init_weights (local file).
        pretrained=kinetics_checkpoint,
        # The architecture of the Kinetics checkpoint: AVSLOWFAST_8x8_R50
        # (configs/avslowfast_r50_8x8_kinetics.py).
        resample_rate=4,  # tau: Slow 8 frames
        speed_ratio=4,  # alpha: Fast 32 frames
        channel_ratio=8,
        clip_len=clip_len,
        audio_frames=audio_frames,
        slow_pathway=dict(
            type='resnet3d',
            depth=50,
            pretrained=None,
            lateral=True,
            lateral_norm=True,
            fusion_kernel=7,
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
        # Frozen BN, as the EPIC SlowFast baseline (BN.FREEZE): every BN of
        # the backbone uses the Kinetics statistics; the other weights
        # train. (frozen=True would freeze the whole backbone instead.)
        norm_eval=True,
        # DropPathway stays ON (0.8, the reference value): with probability
        # 0.8 per iteration the audio pathway's laterals are dropped, which
        # keeps the fine-tuned model from leaning on audio alone (the
        # visual pathways carry most of EPIC's signal, and the Audio pathway
        # starts from Kinetics sounds).
        drop_pathway=0.8,
        # AVS OFF while fine-tuning:
        # - the reference curriculum mixes in hard negatives only from
        #   mix_neg_epoch 96, which this 30-epoch schedule never reaches,
        #   so AVS would only see easy (other-video) negatives;
        # - a hard negative is the same track shifted by >= 0.5 s, but it
        #   must stay inside the action segment (no frame or audio may be
        #   read outside it) and many EPIC segments are shorter than that;
        # - the AVS losses are a pre-training objective; the EPIC baseline
        #   trains the classification losses only.
        # Hence no AVS heads and no negative audio channel in the training
        # pipeline (AudioLogMelClips without with_negative).
        avs_stages=(False, False, False, False, False)),
    cls_head=dict(
        type='EpicKitchensHead',
        in_channels=2048 + 256 + 1024,  # Slow + Fast + Audio = 3328
        num_classes=(num_verbs, num_nouns),
        loss_weights=(0.5, 0.5),  # mean of the two cross-entropies
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

dataset_type = 'EpicKitchensDataset'
# <data_root>/<participant_id>/videos/<video_id>.MP4
data_root = 'data/EPIC-KITCHENS'
data_root_val = data_root
ann_file_train = 'data/epic-kitchens-100-annotations/EPIC_100_train.csv'
ann_file_val = 'data/epic-kitchens-100-annotations/EPIC_100_validation.csv'
# The test set's labels are withheld (challenge server): test = validation.
ann_file_test = ann_file_val

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    # Clips inside the segment [start_timestamp, stop_timestamp].
    dict(type='SegmentSampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CheckedDecordDecode'),
    # 48 kHz AAC -> 16 kHz mono (the normal resampling).
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),  # no negative
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SegmentSampleFrames', clip_len=clip_len,
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
# 10 clips spread over the segment x 1 centre crop of 256; the verb and
# noun softmax scores are averaged over the 10 views (EpicKitchensHead).
test_pipeline = [
    dict(type='CheckedDecordInit', **file_client_args),
    dict(type='SegmentSampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=10, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]

train_dataloader = dict(
    batch_size=4,  # per GPU; 8 GPUs -> 32
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
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        # An unreadable video is listed in the log and its segments count
        # as misses.
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
        # finishes and counts it as wrong (--cfg-options
        # test_dataloader.dataset.on_unreadable=miss).
        on_unreadable='error',
        test_mode=True))

# epic/verb_top1, verb_top5, noun_top1, noun_top5, action_top1, action_top5
# and the mean class accuracies; unreadable segments count as misses.
val_evaluator = dict(type='EpicKitchensMetric')
test_evaluator = val_evaluator

max_epochs = 30
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=2)  # EVAL_PERIOD 2
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4,
        nesterov=True),
    paramwise_cfg=dict(norm_decay_mult=0.0),  # no weight decay on BN
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    # 1 warm-up epoch from lr 0.001 (WARMUP_START_LR) to 0.01.
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    # lr x0.1 from epoch 20, x0.01 from epoch 25.
    dict(
        type='MultiStepLR',
        milestones=[20, 25],
        gamma=0.1,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
# The recipe's lr 0.01 is for 32 clips per iteration (8 GPUs x 4).
auto_scale_lr = dict(enable=False, base_batch_size=32)

# DropPathwayHook takes its probability from model.backbone.drop_pathway.
# MediaIssuesHook: one WARNING per unreadable file or lost audio track, the
# per-epoch counts data/unreadable and data/no_audio, the files listed in the
# work dir, and a stop when over 5 % of an epoch's draws are unreadable.
custom_hooks = [
    dict(type='DropPathwayHook'),
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]
default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=3, save_best='epic/action_top1',
        rule='greater'),
    logger=dict(interval=100))

# Multi-process training (`--launcher pytorch`): nccl on GPUs; on a machine
# without CUDA the plugin switches to gloo (mmaction_avslowfast/utils/
# compat.py). No parameter goes unused in a step (dropped audio laterals are
# multiplied by zero, not skipped).
env_cfg = dict(dist_cfg=dict(backend='nccl'))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)
