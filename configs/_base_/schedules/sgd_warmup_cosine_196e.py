# The Kinetics recipe of AVSlowFast: SGD lr 0.1 for 64 clips per iteration
# (8 GPUs x 8), momentum 0.9, wd 1e-4 (none on BN), linear warm-up from 0.01
# over 34 epochs onto a cosine over all 196 epochs (as PySlowFast).
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=196, val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=34,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=196, eta_min=0, by_epoch=True,
         begin=0, end=196, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=64)
