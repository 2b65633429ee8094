# AVSlowFast R101 8x8 on Kinetics-400: the R50 8x8 recipe with ResNet-101
# Slow, Fast and Audio pathways (the Audio pathway follows Slow's depth).
# The author released no R101 recipe; schedule and batch are the R50 8x8 ones.
_base_ = ['./avslowfast_r50_8x8_kinetics.py']

model = dict(
    backbone=dict(
        slow_pathway=dict(depth=101), fast_pathway=dict(depth=101)))
