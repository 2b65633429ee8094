# AVSlowFast R50 4x16 on Kinetics-400 whose Slow and Fast pathways start from
# MMAction2's SlowFast R50 4x16 model-zoo checkpoint, with that model's recipe
# (augmentation, ImageNet normalisation, 256 epochs). Not the paper's
# network: F->S laterals at all four junctions without lateral BN (the zoo
# layout), so every visual tensor of the checkpoint loads; the Audio pathway,
# A->FS laterals, AVS heads and classifier start new. Docs: docs/configs.md
# Download the checkpoint once ("Weights" of
# slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb in MMAction2's metafile):
#   https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb_20220901-701b0f6f.pth  # noqa: E501
_base_ = './avslowfast_r50_kinetics.py'

model = _base_.from_slowfast_r50_4x16

# The zoo model's augmentation: random resized crop to 224, flip.
train_pipeline = [
    step for step in _base_.train_pipeline
    if step['type'] not in ('RandomRescale', 'RandomCrop')
]
train_pipeline[-4:-4] = [
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False)
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# The zoo model's schedule: SGD lr 0.1, linear warm-up over 34 epochs,
# cosine over 256.
train_cfg = dict(max_epochs=256)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=34,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=256, eta_min=0, by_epoch=True,
         begin=0, end=256)
]
