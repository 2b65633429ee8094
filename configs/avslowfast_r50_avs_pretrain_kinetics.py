# Self-supervised AVS pre-training of AVSlowFast R50 4x16 on Kinetics-400
# videos (labels ignored): the hierarchical AVS losses only, with the
# supervised recipe's data, augmentation and schedule. Ours: the paper's
# self-supervised protocol is not public. Docs: docs/self_supervised.md
#   mim train mmaction configs/avslowfast_r50_avs_pretrain_kinetics.py \
#       --gpus 8 --launcher pytorch
_base_ = './avslowfast_r50_kinetics.py'

# A->FS fusion off (AVSPretrainer sets drop_pathway = 1.0): every stage loss
# is live and no visual code contains audio.
model = dict(
    _delete_=True,
    type='AVSPretrainer',
    fuse_audio=False,
    backbone=_base_.model.backbone,
    data_preprocessor=_base_.model.data_preprocessor)

# Videos without an audio stream are dropped when the data set is built.
# Validation and test audio: aligned, hard negative (the same video shifted
# by max(0.5 s, clip span)) and easy negative (the audio of sample i + 1),
# so the figures do not depend on batch size, workers or GPUs.
dataset_type = 'UnlabeledAVDataset'
# The audio-stream probe of the build opens each file on one rank only; the
# answers are cached (keyed by path, size and mtime) in the default work dir,
# so a relaunch or `mim test` opens only new or changed files. Elsewhere:
# --cfg-options train_dataloader.dataset.probe_cache=PATH (and val/test).
probe_cache = 'work_dirs/avslowfast_r50_avs_pretrain_kinetics/' \
    'audio_probe_cache.json'
eval_audio = dict(type='AVSyncEvalAudio', num_frames=128, min_shift=0.5)
val_pipeline, test_pipeline = ([
    eval_audio if step['type'] == 'LoadAudioFromVideo' else
    dict(type='CenterCrop', crop_size=224)
    if step['type'] == 'ThreeCrop' else step
    for step in pipeline if step['type'] != 'AudioLogMelClips'
] for pipeline in (_base_.val_pipeline, _base_.test_pipeline))
train_dataloader = dict(
    dataset=dict(type=dataset_type, probe_cache=probe_cache))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, pipeline=val_pipeline, easy_negative_offset=1,
        probe_cache=probe_cache))
test_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type, pipeline=test_pipeline, easy_negative_offset=1,
        probe_cache=probe_cache))
val_evaluator = dict(_delete_=True, type='AVSyncMetric')
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(save_best='avs/sync_acc', rule='greater'))
