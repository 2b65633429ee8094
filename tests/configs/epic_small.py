# configs/avslowfast_r50_epic100.py shrunk for CPU tests
# (tests/test_epic_mim.py): the recipe's data set, metric, hooks, schedule and
# heads with the demo model's size (ResNet-18, a quarter of the width,
# 16-frame clips), no pretrained checkpoint, frames resized to 32x32 and 2
# views per segment. Paths and loader sizes come with --cfg-options.
_base_ = [
    '../../configs/avslowfast_r50_epic100.py', './_base_/small_model.py'
]

model = _base_.small_model

# 16-frame clips with 64 log-mel frames; frames resized to 32x32 (no crop).
small_args = dict(
    SegmentSampleFrames=dict(clip_len=16),
    AudioLogMelClips=dict(num_frames=64))
resize = dict(type='Resize', scale=(32, 32), keep_ratio=False)
train_pipeline, val_pipeline, test_pipeline = ([
    resize if step['type'] in ('RandomRescale', 'Resize') else dict(
        step, **small_args.get(step['type'], {})) for step in pipeline
    if step['type'] not in ('RandomCrop', 'CenterCrop')
] for pipeline in (_base_.train_pipeline, _base_.val_pipeline,
                   _base_.test_pipeline))
test_pipeline[1]['num_clips'] = 2

# No worker processes: the runs are a few iterations long.
train_dataloader = dict(
    batch_size=5, num_workers=0, persistent_workers=False, pin_memory=False,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=3, num_workers=0, persistent_workers=False, pin_memory=False,
    dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=3, num_workers=0, persistent_workers=False, pin_memory=False,
    dataset=dict(pipeline=test_pipeline))

train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
