# AVSlowFast R50 8x8 fine-tuned on EPIC-Kitchens-100 action recognition (verb
# 97 + noun 300 classes, two heads) from a Kinetics-400 AVSlowFast R50 8x8
# checkpoint, with EPIC-Kitchens' own SlowFast recipe (frozen BN, 30
# epochs); clips and their audio lie inside the action segment.
# Docs: docs/epic_kitchens.md
#   mim train mmaction configs/avslowfast_r50_epic100.py \
#       --gpus 8 --launcher pytorch
_base_ = [
    '_base_/models/avslowfast_r50_8x8.py', '_base_/datasets/kinetics400_av.py',
    '_base_/default_runtime.py'
]

# Frozen BN (every BN keeps the Kinetics statistics, the weights train),
# DropPathway 0.8, no AVS (a pre-training objective; many segments are too
# short for a hard negative inside them).
model = dict(
    backbone=dict(
        pretrained='checkpoints/avslowfast_r50_8x8_kinetics400.pth',
        norm_eval=True,
        avs_stages=(False, False, False, False, False)),
    cls_head=dict(
        _delete_=True,
        type='EpicKitchensHead',
        in_channels=2048 + 256 + 1024,
        num_classes=(97, 300),
        loss_weights=(0.5, 0.5),  # mean of the verb and noun cross-entropies
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='prob'))

# Official layout: <data_root>/<participant_id>/videos/<video_id>.MP4 and the
# annotation CSVs; the test labels are withheld, so test = validation.
dataset_type = 'EpicKitchensDataset'
data_root = 'data/EPIC-KITCHENS'
data_root_val = data_root
ann_file_train = 'data/epic-kitchens-100-annotations/EPIC_100_train.csv'
ann_file_val = 'data/epic-kitchens-100-annotations/EPIC_100_validation.csv'
ann_file_test = ann_file_val
# Clips inside the segment (SegmentSampleFrames), no AVS negative; 10 clips
# x 1 centre crop of 256 per segment at test.
train_pipeline, val_pipeline, test_pipeline = ([
    dict(step, type='SegmentSampleFrames')
    if step['type'] == 'SampleFrames' else
    dict(type='AudioLogMelClips', num_frames=128)
    if step['type'] == 'AudioLogMelClips' else
    dict(type='CenterCrop', crop_size=256)
    if step['type'] == 'ThreeCrop' else step for step in pipeline
] for pipeline in (_base_.train_pipeline, _base_.val_pipeline,
                   _base_.test_pipeline))
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    dataset=dict(
        train_dataloader['dataset'],
        ann_file=ann_file_val,
        pipeline=val_pipeline))
test_dataloader = dict(
    dataset=dict(val_dataloader['dataset'], pipeline=test_pipeline))
# verb / noun / action top-1 and top-5 (action scored as the official
# evaluation) and the mean class accuracies.
val_evaluator = dict(type='EpicKitchensMetric')
test_evaluator = val_evaluator

# SGD lr 0.01 (Nesterov) for 32 clips (8 GPUs x 4), one warm-up epoch from
# 0.001, lr x0.1 at epoch 20 and x0.01 at 25, 30 epochs.
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=30, val_begin=1, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4, nesterov=True),
    paramwise_cfg=dict(norm_decay_mult=0.0),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[20, 25], gamma=0.1, by_epoch=True,
         begin=0, end=30)
]
auto_scale_lr = dict(enable=False, base_batch_size=32)

default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=3, save_best='epic/action_top1',
        rule='greater'),
    logger=dict(interval=100))
