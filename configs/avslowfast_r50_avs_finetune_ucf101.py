# Full fine-tuning on UCF101 of a self-supervised (AVS) pre-trained
# AVSlowFast R50 (PySlowFast's UCF101 fine-tuning recipe): the linear
# evaluation config with the whole network trained. Visual-only.
# Docs: docs/self_supervised.md
#   mim train mmaction configs/avslowfast_r50_avs_finetune_ucf101.py \
#       --gpus 8 --launcher pytorch
_base_ = './avslowfast_r50_avs_linear_ucf101.py'

model = dict(backbone=dict(frozen=False), cls_head=dict(dropout_ratio=0.5))

# Colour jitter after the flip (hue jitter left out: MMAction2 1.2.0's
# ColorJitter fails under NumPy 2 on a negative hue offset).
train_pipeline = _base_.train_pipeline
train_pipeline.insert(
    -3,
    dict(
        type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
        hue=0.0))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# SGD lr 0.005 for 64 clips, wd 1e-4 (none on BN), cosine over 200 epochs.
train_cfg = dict(max_epochs=200, val_interval=10)
optim_wrapper = dict(
    optimizer=dict(lr=0.005, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=200, eta_min=0, by_epoch=True,
         begin=0, end=200, convert_to_iter_based=True)
]
custom_hooks = [
    hook for hook in _base_.custom_hooks
    if hook['type'] != 'RecomputeBNStatsHook'
]
default_hooks = dict(checkpoint=dict(interval=10))
# The audio pathway's output is discarded: its parameters get no gradient.
model_wrapper_cfg = dict(find_unused_parameters=True)
