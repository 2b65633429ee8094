# Self-supervised AVS pre-training of the demo model on the demo data set
# (labels ignored): hierarchical AVS losses only, no classification head.
# Docs: docs/self_supervised.md
#   mim train mmaction configs/avslowfast_demo_avs_pretrain.py --gpus 0
_base_ = [
    '_base_/models/avslowfast_demo.py', '_base_/datasets/avdemo.py',
    '_base_/schedules/adamw_cosine_12e.py', '_base_/default_runtime.py'
]

# A->FS fusion off (AVSPretrainer sets drop_pathway = 1.0): every stage loss
# is live and no visual code contains audio. Easy negatives only in the
# first half, then 75 % easy / 25 % hard.
model = dict(
    _delete_=True,
    type='AVSPretrainer',
    fuse_audio=False,
    backbone=dict(_base_.model.backbone, drop_pathway=1.0, mix_neg_epoch=6),
    data_preprocessor=_base_.model.data_preprocessor)

# Clips of 16 consecutive frames. Validation and test audio: aligned, hard
# negative (the same video shifted by 0.5 s; the demo videos last 2 s) and
# easy negative (the audio of sample i + 1 at the same times), so the
# figures do not depend on batch size, workers or GPUs. 2 test views.
dataset_type = 'UnlabeledAVDataset'
eval_audio = dict(
    type='AVSyncEvalAudio', num_frames=64, min_shift=0.5,
    shift_by_clip=False)
train_pipeline = [
    dict(step, frame_interval=1) if step['type'] == 'SampleFrames' else step
    for step in _base_.train_pipeline
]
val_pipeline = [
    dict(step, frame_interval=1) if step['type'] == 'SampleFrames' else
    eval_audio if step['type'] == 'LoadAudioFromVideo' else step
    for step in _base_.val_pipeline if step['type'] != 'AudioLogMelClips'
]
test_pipeline = [
    dict(step, num_clips=2) if step['type'] == 'SampleFrames' else step
    for step in val_pipeline
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(type=dataset_type, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type, pipeline=val_pipeline, easy_negative_offset=1))
test_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type, pipeline=test_pipeline, easy_negative_offset=1))
val_evaluator = dict(type='AVSyncMetric')
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=1, save_best='avs/sync_acc',
        rule='greater'),
    logger=dict(interval=10))
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
