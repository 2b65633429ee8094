# The synthetic audiovisual demo data set of tools/make_demo_dataset.py
# (data/avdemo: train / val / held-out test lists): the Kinetics pipelines at
# the demo's size, 16-frame clips at interval 2 (1 s at 16 fps) with their 64
# log-mel frames, frames resized to 32x32 without crop or flip (mirroring
# turns "left" into "right"), 3 clips per test video. 2 workers for a 2-core
# CPU; no pinned memory (it only helps a GPU).
_base_ = './kinetics400_av.py'

data_root = 'data/avdemo/videos_train'
data_root_val = 'data/avdemo/videos_val'
data_root_test = 'data/avdemo/videos_test'
ann_file_train = 'data/avdemo/train_list_videos.txt'
ann_file_val = 'data/avdemo/val_list_videos.txt'
ann_file_test = 'data/avdemo/test_list_videos.txt'

demo_size = dict(
    SampleFrames=dict(clip_len=16), AudioLogMelClips=dict(num_frames=64))
train_pipeline, val_pipeline = ([
    dict(type='Resize', scale=(32, 32), keep_ratio=False)
    if step['type'] in ('RandomRescale', 'Resize') else dict(
        step, **demo_size.get(step['type'], {})) for step in pipeline
    if step['type'] not in ('RandomCrop', 'CenterCrop', 'Flip')
] for pipeline in (_base_.train_pipeline, _base_.val_pipeline))
test_pipeline = [
    dict(step, num_clips=3) if step['type'] == 'SampleFrames' else step
    for step in val_pipeline
]

demo_loader = dict(num_workers=2, pin_memory=False)
train_dataloader = dict(
    demo_loader,
    batch_size=16,
    dataset=dict(
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    demo_loader,
    batch_size=16,
    dataset=dict(
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline))
test_dataloader = dict(
    demo_loader,
    batch_size=8,
    dataset=dict(
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root_test),
        pipeline=test_pipeline))
