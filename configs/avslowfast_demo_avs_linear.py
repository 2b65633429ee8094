# Linear probe of the demo model on the demo data set: frozen backbone (from
# configs/avslowfast_demo_avs_pretrain.py or random), BN statistics
# recomputed on the probe's training data, one linear layer on the pooled
# Slow + Fast features. Visual-only, as the UCF101 / HMDB51 transfer
# configs: vision alone reaches at most 50 % here (chance 1/6).
# Docs: docs/self_supervised.md
#   mim train mmaction configs/avslowfast_demo_avs_linear.py --gpus 0 \
#       --cfg-options model.backbone.pretrained=<pre-training checkpoint>
_base_ = [
    '_base_/models/avslowfast_demo.py', '_base_/datasets/avdemo.py',
    '_base_/default_runtime.py'
]

# Visual-only: the audio is not decoded (BlankAudio) and the model blanks its
# input to the normalised mean, no A->FS lateral, no AVS; the head pools
# Slow + Fast only.
model = dict(
    blank_modalities=dict(audios='mean'),
    backbone=dict(
        frozen=True,
        afs_fusion=(False, False, False, False),
        drop_pathway=0.0,
        avs_stages=(False, False, False, False, False)),
    cls_head=dict(in_channels=128 + 32, pathways=(0, 1), dropout_ratio=0.0))

# Clips of 16 consecutive frames, as in the AVS pre-training; 2 test views.
blank_audio = dict(type='BlankAudio', num_frames=64)
train_pipeline = [
    dict(step, frame_interval=1) if step['type'] == 'SampleFrames' else
    blank_audio if step['type'] == 'LoadAudioFromVideo' else step
    for step in _base_.train_pipeline if step['type'] != 'AudioLogMelClips'
]
val_pipeline = [
    dict(step, frame_interval=1) if step['type'] == 'SampleFrames' else
    blank_audio if step['type'] == 'LoadAudioFromVideo' else step
    for step in _base_.val_pipeline if step['type'] != 'AudioLogMelClips'
]
test_pipeline = [
    dict(step, num_clips=2) if step['type'] == 'SampleFrames' else step
    for step in val_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# The linear-evaluation recipe of the R50 configs (SGD, no weight decay, no
# dropout, warm-up then cosine) shortened to a CPU budget.
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=8, val_begin=1, val_interval=8)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=8, eta_min=0, by_epoch=True,
         begin=0, end=8, convert_to_iter_based=True)
]

# BN statistics of the backbone recomputed from up to 50 training batches
# before the first iteration (saved with the checkpoints); then the default
# runtime's hooks less the DropPathway and AVS schedules (no audio fusion,
# no AVS here).
custom_hooks = [
    dict(type='RecomputeBNStatsHook', num_batches=50, before_train=True),
    *(hook for hook in _base_.custom_hooks
      if hook['type'] not in ('DropPathwayHook', 'AVSCurriculumHook'))
]
default_hooks = dict(
    checkpoint=dict(interval=8, max_keep_ckpts=1), logger=dict(interval=10))
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
