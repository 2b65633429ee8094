# Self-supervised AVS pre-training of AVSlowFast R50 4x16 on Kinetics-400
# videos, labels ignored: the hierarchical AVS losses only (aligned audio vs
# another video's audio, from mix_neg_epoch on also the same video's audio
# shifted >= 0.5 s), no classification head. Ours: the paper's exact
# self-supervised protocol is not public (the author's fork has no
# self-supervised config); this keeps the supervised Kinetics recipe
# (configs/avslowfast_r50_kinetics.py: data, augmentation, SGD 0.1 cosine,
# 8 GPUs x 8 clips) and changes what is trained:
# - AVSPretrainer instead of AVRecognizer3D (no cls_head, no labels);
# - A->FS fusion off (AVSPretrainer sets backbone.drop_pathway = 1.0): with
#   no head, fused audio would only reach the later stages' AVS losses, which
#   the gating zeroes whenever audio is fused; with fusion off all three stage
#   losses (res3, res4, res5) count every iteration and no visual code ever
#   contains audio. The A->FS convs still train: their outputs are the AVS
#   audio codes.
# - UnlabeledAVDataset reads the same list files (the label column is ignored)
#   and drops videos without an audio stream when it is built (logged count).
# - validation/test: AVSyncMetric (avs/sync_acc, _hard, _easy, _res3/4/5) with
#   negatives fixed by the sample index (easy: the audio of sample i + 1;
#   hard: the same video shifted by max(0.5 s, clip span)), so the figures do
#   not depend on batch size, workers or GPUs.
#
#   mim train mmaction configs/avslowfast_r50_avs_pretrain_kinetics.py \
#       --gpus 8 --launcher pytorch
#
# Transfer: configs/avslowfast_r50_avs_{linear,finetune}_{ucf101,hmdb51}.py
# load the backbone of the resulting checkpoint.
_base_ = './avslowfast_r50_kinetics.py'

model = dict(
    _delete_=True,
    type='AVSPretrainer',
    fuse_audio=False,
    backbone={{_base_.model.backbone}},
    data_preprocessor={{_base_.model.data_preprocessor}})

dataset_type = 'UnlabeledAVDataset'
eval_audio = dict(type='AVSyncEvalAudio', num_frames=128, min_shift=0.5)
val_pipeline = [
    dict(type='CheckedDecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    eval_audio,
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
test_pipeline = [
    dict(type='CheckedDecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=10,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    eval_audio,
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs')
]
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, pipeline=val_pipeline, easy_negative_offset=1))
test_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type, pipeline=test_pipeline, easy_negative_offset=1))
val_evaluator = dict(_delete_=True, type='AVSyncMetric')
test_evaluator = val_evaluator
default_hooks = dict(
    checkpoint=dict(interval=4, max_keep_ckpts=3, save_best='avs/sync_acc',
                    rule='greater'))
