# AVSlowFast R50 4x16 (AVSLOWFAST_4x16_R50 of the author's release): Slow 4
# and Fast 32 frames, a Faster Audio pathway on 128x80 log-mel, F->S and A->FS
# laterals after res3 and res4, AVS after res3, res4 and res5, DropPathway 0.8.
model = dict(
    type='AVRecognizer3D',
    backbone=dict(
        type='AVSlowFast',
        pretrained=None,
        resample_rate=8,  # tau: Slow takes every 8th frame
        speed_ratio=8,  # alpha: Fast/Slow frame ratio
        channel_ratio=8,  # beta_inv: Slow/Fast width ratio
        clip_len=32,  # frames of the input clip (Fast rate)
        audio_frames=128,  # log-mel frames of the clip's time span
        slow_pathway=dict(
            type='resnet3d',
            depth=50,
            pretrained=None,
            lateral=True,
            lateral_norm=True,
            fusion_kernel=5,
            conv1_kernel=(1, 7, 7),
            dilations=(1, 1, 1, 1),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=(0, 0, 1, 1),
            norm_eval=False),
        fast_pathway=dict(
            type='resnet3d',
            depth=50,
            pretrained=None,
            lateral=False,
            base_channels=8,
            conv1_kernel=(5, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            norm_eval=False),
        fs_fusion=(False, False, True, True),
        afs_fusion=(False, False, True, True),
        audio_fusion_interm=64,
        audio_fusion_kernel=5,
        audio_fusion_convs=2,
        drop_pathway=0.8,
        avs_stages=(False, False, True, True, True),
        avs_proj_dim=64,
        avs_margin=0.99,
        easy_neg_ratio=0.75,
        mix_neg_epoch=96),
    cls_head=dict(
        type='AVSlowFastHead',
        num_classes=400,
        in_channels=2048 + 256 + 1024,  # Slow + Fast + Audio
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        preprocessors=dict(
            # RGB mean 0.45 / std 0.225 of the reference, in 0..255.
            imgs=dict(
                type='ActionDataPreprocessor',
                mean=[114.75, 114.75, 114.75],
                std=[57.375, 57.375, 57.375],
                format_shape='NCTHW'),
            audios=dict(type='ActionDataPreprocessor'))))

# For the *_from_slowfast configs, which start Slow and Fast from MMAction2's
# SlowFast Kinetics-400 checkpoints (model zoo, downloaded to checkpoints/):
# their layout (F->S at all four junctions, no lateral BN), their ImageNet
# normalisation and the checkpoint, as model overrides per geometry.
slowfast_zoo_layout = dict(
    fs_fusion=(True, True, True, True), slow_pathway=dict(lateral_norm=False))
imagenet_normalisation = dict(
    preprocessors=dict(
        imgs=dict(
            mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])))
from_slowfast_r50_4x16 = dict(
    backbone=dict(
        slowfast_zoo_layout,
        pretrained='checkpoints/slowfast_r50_8xb8-4x16x1-256e_kinetics400-'
        'rgb_20220901-701b0f6f.pth'),
    data_preprocessor=imagenet_normalisation)
from_slowfast_r50_8x8 = dict(
    backbone=dict(
        slowfast_zoo_layout,
        pretrained='checkpoints/slowfast_r50_8xb8-8x8x1-256e_kinetics400-'
        'rgb_20220818-1cb6dfc8.pth'),
    data_preprocessor=imagenet_normalisation)
