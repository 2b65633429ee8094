# Linear evaluation on UCF101 of a self-supervised (AVS) pre-trained
# AVSlowFast R50: frozen backbone, BN statistics recomputed on UCF101, one
# linear layer on the pooled Slow + Fast features; PySlowFast's linear
# evaluation recipe. Visual-only: many UCF101 / HMDB51 videos have no audio
# track, unevenly across classes. Docs: docs/self_supervised.md
#   mim train mmaction configs/avslowfast_r50_avs_linear_ucf101.py \
#       --gpus 8 --launcher pytorch
_base_ = [
    '_base_/models/avslowfast_r50_4x16.py',
    '_base_/datasets/kinetics400_av.py', '_base_/default_runtime.py'
]

split = 1  # UCF101 split (1, 2 or 3): a variable, so edit it here
pretrain_checkpoint = \
    'work_dirs/avslowfast_r50_avs_pretrain_kinetics/epoch_XX.pth'  # set XX

# Visual-only: the audio is not decoded (BlankAudio) and the model blanks its
# input to the normalised mean, no A->FS lateral, no AVS; the head pools
# Slow + Fast only.
model = dict(
    blank_modalities=dict(audios='mean'),
    backbone=dict(
        pretrained=pretrain_checkpoint,
        frozen=True,
        afs_fusion=(False, False, False, False),
        drop_pathway=0.0,
        avs_stages=(False, False, False, False, False)),
    cls_head=dict(
        num_classes=101,
        in_channels=2048 + 256,
        pathways=(0, 1),
        dropout_ratio=0.0))

# MMAction2's UCF101 layout (tools/data/ucf101).
data_root = 'data/ucf101/videos'
data_root_val = data_root
ann_file_train = f'data/ucf101/ucf101_train_split_{split}_videos.txt'
ann_file_val = f'data/ucf101/ucf101_val_split_{split}_videos.txt'
ann_file_test = ann_file_val
train_pipeline, val_pipeline, test_pipeline = ([
    dict(type='BlankAudio', num_frames=128)
    if step['type'] == 'LoadAudioFromVideo' else step
    for step in pipeline if step['type'] != 'AudioLogMelClips'
] for pipeline in (_base_.train_pipeline, _base_.val_pipeline,
                   _base_.test_pipeline))
train_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        train_dataloader['dataset'],
        ann_file=ann_file_val,
        pipeline=val_pipeline))
test_dataloader = dict(
    dataset=dict(val_dataloader['dataset'], pipeline=test_pipeline))

# SGD lr 0.5 for 64 clips (8 GPUs x 8), no weight decay, no dropout, linear
# warm-up over 8 epochs, cosine over 60.
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=60, val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=8,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=60, eta_min=0, by_epoch=True,
         begin=0, end=60, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=64)

# The backbone's BN statistics recomputed from 200 training batches before
# the first iteration (saved with the checkpoints, used by mim test); then
# the default runtime's hooks less the DropPathway and AVS schedules (no
# audio fusion, no AVS here).
custom_hooks = [
    dict(type='RecomputeBNStatsHook', num_batches=200, before_train=True),
    *(hook for hook in _base_.custom_hooks
      if hook['type'] not in ('DropPathwayHook', 'AVSCurriculumHook'))
]
default_hooks = dict(
    checkpoint=dict(interval=5, max_keep_ckpts=2), logger=dict(interval=50))
