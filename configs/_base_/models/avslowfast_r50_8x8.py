# AVSlowFast R50 8x8 (AVSLOWFAST_8x8_R50): Slow 8 and Fast 32 frames (alpha 4),
# F->S kernel 7; the A->FS strides follow from the audio/Slow frame ratio.
_base_ = './avslowfast_r50_4x16.py'

model = dict(
    backbone=dict(
        resample_rate=4, speed_ratio=4, slow_pathway=dict(fusion_kernel=7)))
