# configs/avslowfast_r50_charades.py shrunk for CPU tests on the synthetic
# fixture (mmaction_avslowfast/testing/synthetic_charades.py): the recipe's
# data set, metric, hooks and head with the demo model's size (ResNet-18,
# a quarter of the width, 16-frame clips), no pretrained checkpoint, and
# 32-px crops of the 80x64 videos. ann_file / data_prefix.video come with
# --cfg-options.
_base_ = [
    '../../configs/avslowfast_r50_charades.py', './_base_/small_model.py'
]

model = _base_.small_model

# pipeline step type -> the arguments that shrink it
small_steps = dict(
    SampleFrames=dict(clip_len=16), AudioLogMelClips=dict(num_frames=64),
    RandomRescale=dict(scale_range=(36, 44)), RandomCrop=dict(size=32),
    Resize=dict(scale=(-1, 40)), CenterCrop=dict(crop_size=32),
    ThreeCrop=dict(crop_size=32))
train_pipeline, val_pipeline, test_pipeline = ([
    dict(step, **small_steps.get(step['type'], {})) for step in pipeline
] for pipeline in (_base_.train_pipeline, _base_.val_pipeline,
                   _base_.test_pipeline))
# ThreeCrop takes the full short side: 40x32 test frames.
test_pipeline = [
    dict(step, scale=(-1, 32)) if step['type'] == 'Resize' else step
    for step in test_pipeline
]
train_dataloader = dict(
    batch_size=2, num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=1, dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=2, num_workers=1, dataset=dict(pipeline=test_pipeline))

train_cfg = dict(max_epochs=2, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True)
]
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=1), logger=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
