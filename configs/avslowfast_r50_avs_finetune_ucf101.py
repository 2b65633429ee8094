# Full fine-tuning on UCF101 of a self-supervised (AVS) pre-trained
# AVSlowFast R50: the whole network trains, a new linear head on the pooled
# Slow + Fast features. VISUAL-ONLY, as the linear evaluation
# (configs/avslowfast_r50_avs_linear_ucf101.py, whose header explains why
# and how to switch to the audiovisual variant); model, data and pipelines
# are inherited from it.
#
#   mim train mmaction configs/avslowfast_r50_avs_finetune_ucf101.py \
#       --gpus 8 --launcher pytorch
#
# Split: `split` below (1, 2 or 3); edit it in this file (--cfg-options
# cannot change a parsed variable). Checkpoint: `pretrain_checkpoint` below
# or --cfg-options model.backbone.pretrained=/path/to/epoch_N.pth; from
# scratch: model.backbone.pretrained=None.
#
# Recipe (PySlowFast configs/contrastive_ssl/finetune_ucf_Slow_R50_syn0
# .yaml; reference avslowfast.md section 15): SGD lr 0.005 for 64 clips per
# iteration (8 GPUs x 8, kept here; auto_scale_lr base_batch_size=64),
# momentum 0.9, weight decay 1e-4 (none on BN), cosine over 200 epochs
# without warm-up, dropout 0.5, colour jitter (brightness / contrast /
# saturation 0.4), per-GPU BN trained normally (no precise BN). Left out:
# the hue jitter 0.1 (MMAction2 1.2.0's ColorJitter fails under NumPy 2 on
# a negative hue offset: "Python integer -14 out of bounds for uint8") and
# the random grayscale 0.2 (no MMAction2 transform).
#
# DDP: the audio pathway's output is discarded (visual-only), so its
# parameters get no gradient: find_unused_parameters=True (they stay as
# loaded; SGD skips parameters without a gradient).
_base_ = './avslowfast_r50_avs_linear_ucf101.py'

split = 1  # UCF101 split: 1, 2 or 3
pretrain_checkpoint = \
    'work_dirs/avslowfast_r50_avs_pretrain_kinetics/epoch_XX.pth'  # set XX
ann_file_train = f'data/ucf101/ucf101_train_split_{split}_videos.txt'
ann_file_val = f'data/ucf101/ucf101_val_split_{split}_videos.txt'
clip_len = 32
frame_interval = 2
audio_frames = 128

model = dict(
    backbone=dict(pretrained=pretrain_checkpoint, frozen=False),
    cls_head=dict(dropout_ratio=0.5))

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
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
         hue=0.0),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
train_dataloader = dict(
    dataset=dict(ann_file=ann_file_train, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val))
test_dataloader = dict(dataset=dict(ann_file=ann_file_val))

max_epochs = 200
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0))  # no weight decay on BN
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]

# BN trains with the network: no recomputation (add RecomputeBNStatsHook
# with before_train=False, interval=1 for PySlowFast-style precise BN).
custom_hooks = [
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]
default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=2, save_best='auto'))
model_wrapper_cfg = dict(find_unused_parameters=True)
