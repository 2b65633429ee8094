# AVSlowFast R101 8x8 on Kinetics-400: the R50 8x8 recipe (the author
# released none for R101).
_base_ = [
    '_base_/models/avslowfast_r101_8x8.py',
    '_base_/datasets/kinetics400_av.py',
    '_base_/schedules/sgd_warmup_cosine_196e.py', '_base_/default_runtime.py'
]

train_dataloader = dict(batch_size=4)
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    checkpoint=dict(interval=4, max_keep_ckpts=3), logger=dict(interval=100))
