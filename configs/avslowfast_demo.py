# The small CPU AVSlowFast on the synthetic demo data set (6 classes = motion
# {left, right, up} x tone {low, high}; vision alone reaches at most 50 %).
# ./tools/quickstart.sh runs it end to end. Docs: docs/get_started.md
#   python tools/make_demo_dataset.py --out data/avdemo
#   mim train mmaction configs/avslowfast_demo.py --gpus 0
# Visual-only ablation: --cfg-options model.blank_modalities=audios
_base_ = [
    '_base_/models/avslowfast_demo.py', '_base_/datasets/avdemo.py',
    '_base_/schedules/adamw_cosine_12e.py', '_base_/default_runtime.py'
]

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=1), logger=dict(interval=10))
randomness = dict(seed=0)
# gloo: multi-process training (--launcher pytorch) on CPUs too.
env_cfg = dict(dist_cfg=dict(backend='gloo'))
