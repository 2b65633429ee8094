# AVSlowFast R50 4x16 on Kinetics-400, the author's recipe (196 epochs,
# 8 GPUs x 8 clips). Docs: docs/configs.md
#   mim train mmaction configs/avslowfast_r50_kinetics.py \
#       --gpus 8 --launcher pytorch
_base_ = [
    '_base_/models/avslowfast_r50_4x16.py',
    '_base_/datasets/kinetics400_av.py',
    '_base_/schedules/sgd_warmup_cosine_196e.py', '_base_/default_runtime.py'
]

default_hooks = dict(
    checkpoint=dict(interval=4, max_keep_ckpts=3), logger=dict(interval=100))
