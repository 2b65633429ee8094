# The small CPU AVSlowFast of the demos: the R50 4x16 design at ResNet-18
# depth and a quarter of its width, 16-frame clips (Slow 4, Fast 16) with
# 64 log-mel frames, 6 classes.
_base_ = './avslowfast_r50_4x16.py'

model = dict(
    backbone=dict(
        resample_rate=4,
        speed_ratio=4,
        channel_ratio=4,
        clip_len=16,
        audio_frames=64,
        slow_pathway=dict(depth=18, base_channels=16),
        fast_pathway=dict(depth=18, base_channels=4),
        audio_fusion_interm=16),
    cls_head=dict(num_classes=6, in_channels=128 + 32 + 64))
