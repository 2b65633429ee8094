# AVSlowFast R101 8x8 on Kinetics-400: the R50 8x8 recipe with ResNet-101
# Slow, Fast and Audio pathways (the Audio pathway follows Slow's depth).
# The author released no R101 recipe; schedule and batch are the R50 8x8 ones.
_base_ = ['./avslowfast_r50_8x8_kinetics.py']

# As PySlowFast (NUM_BLOCK_TEMP_KERNEL [[3,3],[4,4],[6,6],[3,3]]): only the
# first 6 of the 23 res4 blocks get a temporal kernel, in both visual pathways
# (68.60 M params as the reference; inflating all 23 would give 77.3 M).
res4_inflate = (1, ) * 6 + (0, ) * 17
model = dict(
    backbone=dict(
        slow_pathway=dict(depth=101, inflate=(0, 0, res4_inflate, 1)),
        fast_pathway=dict(depth=101, inflate=(1, 1, res4_inflate, 1))))
