# AVSlowFast R50 8x8 on Kinetics-400 (AVSLOWFAST_8x8_R50 of the author's
# release): Slow 8 frames, Fast 32 (alpha 4), F->S kernel 7; A->FS strides
# follow from the audio/Slow frame ratio (16 at res3, 8 at res4).
# Reference batch: 32 clips in total (8 GPUs x 4) with the same LR 0.1.
_base_ = ['./avslowfast_r50_kinetics.py']

model = dict(
    backbone=dict(
        resample_rate=4,  # tau: Slow 8 frames
        speed_ratio=4,  # alpha: Fast 32 frames
        slow_pathway=dict(fusion_kernel=7)))

train_dataloader = dict(batch_size=4)  # per GPU; 8 GPUs -> 32
auto_scale_lr = dict(enable=False, base_batch_size=32)
