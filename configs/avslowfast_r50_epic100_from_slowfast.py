# The EPIC-Kitchens-100 recipe with the Slow and Fast pathways from MMAction2's
# public SlowFast R50 8x8 Kinetics-400 checkpoint and the audio pathway
# from scratch: no AVSlowFast weights are published. Not the paper's
# network: MMAction2's Fast->Slow layout (all four junctions, no lateral
# BN) so that every visual tensor loads; ImageNet normalisation, as that
# checkpoint was trained. Docs: docs/pretrained.md
_base_ = './avslowfast_r50_epic100.py'

model = _base_.from_slowfast_r50_8x8
