# MMAction2's runtime plus the plugin: its modules (custom_imports), its hooks
# and a DDP wrapper that also wraps CPU models. Docs: docs/configs.md
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)

# DropPathwayHook: DropPathway draws of model.backbone.drop_pathway, the same
# on every rank and on resume. AVSCurriculumHook: the epoch of the AVS
# easy/hard negative curriculum. MediaIssuesHook: one WARNING per unreadable
# file or lost audio track, counts, file lists in the work dir, a stop above
# 5 % unreadable draws per epoch. CheckpointMatchHook: mim test stops when
# the checkpoint's tensors do not fit the model (instead of testing randomly
# initialised ones).
custom_hooks = [
    dict(type='DropPathwayHook'),
    dict(type='AVSCurriculumHook'),
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100),
    dict(type='CheckpointMatchHook')
]

# device_ids=None also wraps CPU models; a dropped audio lateral adds zeros,
# so no parameter goes unused in a step.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)
