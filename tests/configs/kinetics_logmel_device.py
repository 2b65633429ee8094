# The log-mel on the model's device (docs/configs.md): the Kinetics recipe
# with logmel='device' on its audio transforms and AudioLogMelPreprocessor
# for the audio; tests/models/test_audio_preprocessor.py checks it against
# use_device_logmel.
_base_ = ['../../configs/avslowfast_r50_kinetics.py']

on_device = ('AudioLogMelClips', 'AVSyncEvalAudio', 'BlankAudio')
train_pipeline, val_pipeline, test_pipeline = ([
    dict(step, logmel='device') if step['type'] in on_device else step
    for step in pipeline
] for pipeline in (_base_.train_pipeline, _base_.val_pipeline,
                   _base_.test_pipeline))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(data_preprocessor=dict(preprocessors=dict(
    audios=dict(type='AudioLogMelPreprocessor'))))
