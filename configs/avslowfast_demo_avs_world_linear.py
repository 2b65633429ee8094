# Linear probe (configs/avslowfast_demo_avs_linear.py) on the probe clips of
# the self-supervised demo world (tools/make_selfsup_world.py): in each 1 s
# clip one object flashes once; label = the quarter of the clip that holds
# the flash (chance 25 %). ./tools/selfsup_demo.sh runs it with a pre-trained
# and a random backbone. Docs: docs/self_supervised.md
_base_ = ['./avslowfast_demo_avs_linear.py']

data_root = 'data/selfsup'

model = dict(cls_head=dict(num_classes=4))

train_dataloader = dict(
    dataset=dict(
        ann_file=f'{data_root}/probe_train_list.txt',
        data_prefix=dict(video=f'{data_root}/probe_train')))
val_dataloader = dict(
    dataset=dict(
        ann_file=f'{data_root}/probe_val_list.txt',
        data_prefix=dict(video=f'{data_root}/probe_val')))
# A 1 s clip holds exactly one 16-frame view: test with that one view.
test_dataloader = dict(
    batch_size=16,
    dataset=dict(
        ann_file=f'{data_root}/probe_test_list.txt',
        data_prefix=dict(video=f'{data_root}/probe_test'),
        pipeline={{_base_.val_pipeline}}))

# 4 classes: top-1 and mean class accuracy (top-5 would be trivially 1).
val_evaluator = dict(
    type='AVAccMetric',
    metric_options=dict(top_k_accuracy=dict(topk=(1, ))))
test_evaluator = val_evaluator

# 24 epochs (the base config's 8 left the probe under-fitted on an earlier
# version of this world: training loss still ~1.3 of ln 4 = 1.39 at the
# end); same for both backbones (~1 min each on 2 CPU cores). Validation on
# probe_val once, at the end.
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
