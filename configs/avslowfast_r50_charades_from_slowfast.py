# The Charades recipe with the Slow and Fast pathways from MMAction2's
# public SlowFast R50 4x16 Kinetics-400 checkpoint and the audio pathway
# from scratch: no AVSlowFast weights are published. Not the paper's
# network: MMAction2's Fast->Slow layout (all four junctions, no lateral
# BN) so that every visual tensor loads; ImageNet normalisation, as that
# checkpoint was trained. Docs: docs/pretrained.md
_base_ = './avslowfast_r50_charades.py'

model = dict(
    backbone=dict(
        pretrained='checkpoints/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb_20220901-701b0f6f.pth',
        fs_fusion=(True, True, True, True),
        slow_pathway=dict(lateral_norm=False)),
    data_preprocessor=dict(
        preprocessors=dict(
            imgs=dict(
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375]))))
