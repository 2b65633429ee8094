# AVSlowFast R101 8x8: the R50 8x8 with ResNet-101 Slow, Fast and Audio
# pathways (Audio follows Slow's depth). As PySlowFast (NUM_BLOCK_TEMP_KERNEL
# [[3,3],[4,4],[6,6],[3,3]]) only the first 6 of the 23 res4 blocks get a
# temporal kernel: 68.60 M parameters, as the reference.
_base_ = './avslowfast_r50_8x8.py'

res4_inflate = (1, ) * 6 + (0, ) * 17
model = dict(
    backbone=dict(
        slow_pathway=dict(depth=101, inflate=(0, 0, res4_inflate, 1)),
        fast_pathway=dict(depth=101, inflate=(1, 1, res4_inflate, 1))))
