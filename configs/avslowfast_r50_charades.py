# AVSlowFast R50 4x16 fine-tuned on Charades v1 (157 actions, multi-label)
# from a Kinetics-400 AVSlowFast checkpoint, with PySlowFast's Charades
# recipe (sigmoid + BCE, max over the 30 test views, 57 epochs, sync BN).
# Docs: docs/charades.md
#   mim train mmaction configs/avslowfast_r50_charades.py \
#       --gpus 8 --launcher pytorch
_base_ = [
    '_base_/models/avslowfast_r50_4x16.py',
    '_base_/datasets/kinetics400_av.py', '_base_/default_runtime.py'
]

# AVS stays on; the checkpoint went through the Kinetics curriculum, so hard
# negatives are mixed in from the first epoch.
model = dict(
    backbone=dict(
        pretrained='checkpoints/avslowfast_r50_4x16x1_kinetics400.pth',
        mix_neg_epoch=0),
    cls_head=dict(
        num_classes=157,
        multi_class=True,
        loss_cls=dict(type='BCELossWithLogits'),
        average_clips='max'))

# The official Charades.zip and Charades_v1_480.zip, unpacked.
dataset_type = 'CharadesDataset'
data_root = 'data/charades/Charades_v1_480'
data_root_val = data_root
ann_file_train = 'data/charades/Charades/Charades_v1_train.csv'
ann_file_val = 'data/charades/Charades/Charades_v1_test.csv'
ann_file_test = ann_file_val
# After decoding, the target: the actions overlapping the clip (training) or
# all actions of the video (validation, test); short side in [256, 340].
train_pipeline = [
    dict(step, scale_range=(256, 340))
    if step['type'] == 'RandomRescale' else step
    for step in _base_.train_pipeline
]
train_pipeline.insert(3, dict(type='CharadesClipLabel'))
val_pipeline = _base_.val_pipeline
val_pipeline.insert(3, dict(type='CharadesClipLabel', video_level=True))
test_pipeline = _base_.test_pipeline
test_pipeline.insert(3, dict(type='CharadesClipLabel', video_level=True))
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    dataset=dict(
        train_dataloader['dataset'],
        ann_file=ann_file_val,
        pipeline=val_pipeline))
test_dataloader = dict(
    dataset=dict(val_dataloader['dataset'], pipeline=test_pipeline))
val_evaluator = dict(type='CharadesMetric')
test_evaluator = val_evaluator

# SGD lr 0.0375 for 16 clips (8 GPUs x 2), linear warm-up from 1e-4 over 4
# epochs, lr x0.1 at epochs 41 and 49; BN synchronised over all GPUs.
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=57, val_begin=1, val_interval=6)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.0375, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4 / 0.0375, by_epoch=True,
         begin=0, end=4, convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[41, 49], gamma=0.1, by_epoch=True,
         begin=0, end=57)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
sync_bn = 'torch'

default_hooks = dict(
    checkpoint=dict(
        interval=6, max_keep_ckpts=3, save_best='charades/mAP',
        rule='greater'),
    logger=dict(interval=100))
