# The model overrides that shrink an R50 recipe to the demo model's size
# (ResNet-18, a quarter of the width, 16-frame clips with 64 log-mel frames,
# no pretrained checkpoint) for the CPU test configs: model = small_model.
small_model = dict(
    backbone=dict(
        pretrained=None, resample_rate=4, speed_ratio=4, channel_ratio=4,
        clip_len=16, audio_frames=64, audio_fusion_interm=16,
        slow_pathway=dict(depth=18, base_channels=16),
        fast_pathway=dict(depth=18, base_channels=4)),
    cls_head=dict(in_channels=128 + 32 + 64))
