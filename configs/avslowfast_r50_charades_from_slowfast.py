# The Charades recipe with the Slow and Fast pathways from MMAction2's
# public SlowFast R50 4x16 Kinetics-400 checkpoint and the audio pathway
# from scratch: no AVSlowFast weights are published. Not the paper's
# network: MMAction2's Fast->Slow layout (all four junctions, no lateral
# BN) so that every visual tensor loads; ImageNet normalisation, as that
# checkpoint was trained. Docs: docs/pretrained.md
_base_ = './avslowfast_r50_charades.py'

zoo_checkpoint = ('checkpoints/slowfast_r50_8xb8-4x16x1-256e_'
                  'kinetics400-rgb_20220901-701b0f6f.pth')
model = dict(
    backbone=dict(_base_.slowfast_zoo_backbone, pretrained=zoo_checkpoint),
    data_preprocessor=_base_.slowfast_zoo_preprocessor)
