# AVSlowFast R50 4x16 spatio-temporal action detection on AVA v2.2 from a
# Kinetics-400 AVSlowFast checkpoint, with MMAction2's SlowFast AVA schedule
# (20 epochs). Frames from MMAction2's AVA rawframes, audio as log-mel
# precomputed from the 15-min cuts (tools/data/extract_logmel.py).
# Docs: docs/ava.md
#   mim train mmaction configs/avslowfast_r50_ava22.py \
#       --gpus 8 --launcher pytorch
_base_ = ['_base_/models/avslowfast_r50_ava.py', '_base_/default_runtime.py']

model = dict(
    backbone=dict(
        pretrained='checkpoints/avslowfast_r50_4x16x1_kinetics400.pth'))

dataset_type = 'AVAAudioDataset'
data_root = 'data/ava/rawframes'
logmel_root = 'data/ava/logmel_15min'
anno_root = 'data/ava/annotations'
ann_file_train = f'{anno_root}/ava_train_v2.2.csv'
ann_file_val = f'{anno_root}/ava_val_v2.2.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_v2.2.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_v2.2.csv'
label_file = f'{anno_root}/ava_action_list_v2.2_for_activitynet_2019.pbtxt'
proposal_file_train = (f'{anno_root}/ava_dense_proposals_train.FAIR.'
                       'recall_93.9.pkl')
proposal_file_val = f'{anno_root}/ava_dense_proposals_val.FAIR.recall_93.9.pkl'

# Boxes are mapped back through flip and crop at test time: keep both in the
# metainfo. Testing is without cropping or flipping.
meta_keys = ('img_shape', 'img_key', 'video_id', 'timestamp', 'flip',
             'crop_quadruple')
file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2),
    dict(type='CheckedRawFrameDecode', **file_client_args),
    dict(type='LoadLogMel', logmel_root=logmel_root,
         on_missing_audio='zeros'),
    dict(type='AudioLogMelClips', num_frames=128),
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=256),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs', meta_keys=meta_keys)
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2,
         test_mode=True),
    *train_pipeline[1:4],
    dict(type='Resize', scale=(-1, 256)),
    *train_pipeline[-3:]
]

train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        exclude_file=exclude_file_train,
        pipeline=train_pipeline,
        label_file=label_file,
        proposal_file=proposal_file_train,
        data_prefix=dict(img=data_root, logmel=logmel_root)))
val_dataloader = dict(
    train_dataloader,
    batch_size=1,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        train_dataloader['dataset'],
        ann_file=ann_file_val,
        exclude_file=exclude_file_val,
        pipeline=val_pipeline,
        proposal_file=proposal_file_val,
        # unreadable frames: named in the log, the keyframe counted as missed
        on_unreadable='miss',
        test_mode=True))
# mim test stops at an unreadable sample, naming it ('miss' finishes).
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'],
                                 on_unreadable='error'))

val_evaluator = dict(
    type='RobustAVAMetric',
    ann_file=ann_file_val,
    label_file=label_file,
    exclude_file=exclude_file_val,
    num_workers=8)
test_evaluator = val_evaluator

# SGD lr 0.2 for 128 clips (8 GPUs x 16), 5 warm-up epochs, lr x0.1 at
# epochs 10 and 15.
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=20, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5),
    dict(type='MultiStepLR', begin=0, end=20, by_epoch=True,
         milestones=[10, 15], gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=0.00001),
    clip_grad=dict(max_norm=40, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=128)
