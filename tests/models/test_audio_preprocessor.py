"""The device log-mel path: with ``logmel='device'`` the workers ship each
output frame's samples and ``AudioLogMelPreprocessor`` computes the
log-mel of the batch in one call; the model gets the worker path's inputs
(float tolerance), for every audio input: the AVS negative, missing audio,
a whole-track (Matroska) decode, ``AVSyncEvalAudio``'s three channels,
``BlankAudio``'s silence; float32 under autocast; the config switch."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmaction_avslowfast  # noqa: F401
from mmaction.registry import MODELS, TRANSFORMS
from mmaction_avslowfast.audio import silence_value
from mmaction_avslowfast.models import (AudioLogMelPreprocessor,
                                        use_device_logmel)
from mmaction_avslowfast.testing.realworld_media import write_textured_video
from mmaction_avslowfast.testing.synthetic_media import write_av_video

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ATOL = 1e-5


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp('device_logmel')
    out = {name: write_textured_video(
        str(folder / file), duration=3.0, size=(64, 48), seed=i,
        preset='ultrafast', **kwargs)['path']
        for i, (name, file, kwargs) in enumerate([
            ('mp4', 'a.mp4', dict(audio_options={'aac_pns': '0'})),
            ('mkv', 'b.mkv', dict(audio_codec='vorbis'))])}
    out['silent'] = write_av_video(str(folder / 'silent.mp4'), duration=3.0,
                                   with_audio=False)['path']
    return out


def run(steps, results, seed=0):
    np.random.seed(seed)
    for step in steps:
        results = TRANSFORMS.build(step)(results)
    return results


def sample(path, num_clips=1):
    starts = np.linspace(0, 26, num_clips).astype(int)
    inds = np.concatenate([np.arange(s, s + 64, 2) for s in starts])
    return dict(filename=path, frame_inds=inds, num_clips=num_clips,
                avg_fps=30.0, start_index=0, avs_partner_filename=path,
                imgs=np.zeros((3 * num_clips, 3, 1, 2, 2), np.uint8))


def both_paths(steps, samples):
    """The stacked worker inputs and the device path's preprocessed batch
    (one preprocessor call)."""
    worker, frames = [], []
    for i, results in enumerate(samples):
        worker.append(run(steps, dict(results), i)['audios'])
        device = [dict(s, logmel='device') if s['type'] in (
            'AudioLogMelClips', 'AVSyncEvalAudio', 'BlankAudio') else s
                  for s in steps]
        frames.append(torch.from_numpy(run(device, dict(results),
                                           i)['audios']))
    batch, _ = AudioLogMelPreprocessor().preprocess(frames, None)
    return np.stack(worker), batch


def test_training_inputs_with_negative_missing_and_whole_track(videos):
    steps = [dict(type='LoadAudioFromVideo'),
             dict(type='AudioLogMelClips', with_negative=True),
             dict(type='AlignAudioViews')]
    worker, device = both_paths(steps, [sample(videos['mp4']),
                                        sample(videos['mkv']),
                                        sample(videos['silent'])])
    assert device.dtype == torch.float32
    assert device.shape == worker.shape == (3, 3, 2, 128, 80)
    np.testing.assert_allclose(device.numpy(), worker, rtol=0, atol=ATOL)
    np.testing.assert_allclose(worker[2], silence_value(), atol=1e-5)
    # sound in both channels of both files, far from silence
    assert (np.abs(worker[:2] - silence_value()) > 1).mean() > 0.9


def test_test_views_and_avsync_channels(videos):
    clips = [dict(type='LoadAudioFromVideo'),
             dict(type='AudioLogMelClips'), dict(type='AlignAudioViews')]
    worker, device = both_paths(clips, [sample(videos['mp4'], 3)])
    assert device.shape == (1, 9, 1, 128, 80)
    np.testing.assert_allclose(device.numpy(), worker, rtol=0, atol=ATOL)
    avsync = [dict(type='AVSyncEvalAudio'), dict(type='AlignAudioViews')]
    results = sample(videos['mkv'], 2)
    results['avs_partner_filename'] = videos['mp4']
    worker, device = both_paths(avsync, [results])
    assert device.shape == (1, 6, 3, 128, 80)
    np.testing.assert_allclose(device.numpy(), worker, rtol=0, atol=ATOL)


def test_blank_audio(videos):
    worker, device = both_paths([dict(type='BlankAudio')],
                                [dict(num_clips=2)])
    np.testing.assert_allclose(worker, silence_value(), atol=1e-6)
    np.testing.assert_allclose(device.numpy(), worker, rtol=0, atol=ATOL)
    frames = TRANSFORMS.build(dict(type='BlankAudio', logmel='device'))(
        dict(num_clips=2))['audios']
    assert frames.shape == (2, 1, 128, 512) and not frames.any()
    # not samples of a sound: the constant log-mel passes on unchanged
    mean = TRANSFORMS.build(dict(type='BlankAudio', fill='mean',
                                 logmel='device'))(dict())['audios']
    batch, _ = AudioLogMelPreprocessor().preprocess(
        [torch.from_numpy(mean)], None)
    assert batch.shape == (1, 1, 1, 128, 80) and not batch.any()


def test_float32_under_autocast_and_shape_check():
    frames = torch.randn(2, 1, 2, 128, 512)
    pre = AudioLogMelPreprocessor()
    expected, _ = pre.preprocess(list(frames), None)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        under, _ = pre.preprocess(list(frames), None)
    assert under.dtype == torch.float32
    torch.testing.assert_close(under, expected)
    with pytest.raises(ValueError, match='neither frames'):
        pre.preprocess([torch.zeros(1, 1, 128, 100)], None)


def test_config_switch(videos):
    """``use_device_logmel`` turns the demo config's pipelines and audio
    preprocessor; a batch through each config's pipeline, packing and
    data preprocessor gives the same model inputs."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'avslowfast_demo.py'))
    device_cfg = use_device_logmel(Config.fromfile(
        osp.join(ROOT, 'configs', 'avslowfast_demo.py')))
    assert device_cfg.model.data_preprocessor.preprocessors.audios.type == \
        'AudioLogMelPreprocessor'
    for split in ('train', 'val', 'test'):
        steps = device_cfg[f'{split}_dataloader'].dataset.pipeline
        assert [s.get('logmel') for s in steps
                if s['type'] == 'AudioLogMelClips'] == ['device']
    inputs = []
    for config in (cfg, device_cfg):
        steps = config.test_dataloader.dataset.pipeline
        batch = [run(steps, dict(filename=videos[name], label=0,
                                 start_index=0, modality='RGB'), i)
                 for i, name in enumerate(('mp4', 'mkv'))]
        pre = MODELS.build(config.model.data_preprocessor)
        data = pre(dict(inputs=dict(
            imgs=[b['inputs']['imgs'] for b in batch],
            audios=[b['inputs']['audios'] for b in batch]),
            data_samples=[b['data_samples'] for b in batch]))
        inputs.append(data['inputs'])
    assert inputs[0]['audios'].shape == (2, 3, 1, 64, 80)
    torch.testing.assert_close(inputs[1]['audios'], inputs[0]['audios'],
                               rtol=0, atol=ATOL)
    torch.testing.assert_close(inputs[1]['imgs'], inputs[0]['imgs'])


def test_documented_recipe_is_the_switch():
    """The child config of docs/configs.md sets what use_device_logmel
    sets."""
    recipe = Config.fromfile(osp.join(ROOT, 'tests', 'configs',
                                      'kinetics_logmel_device.py'))
    switched = use_device_logmel(Config.fromfile(
        osp.join(ROOT, 'configs', 'avslowfast_r50_kinetics.py')))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert recipe[key].dataset.pipeline == switched[key].dataset.pipeline
    audio = recipe.model.data_preprocessor.preprocessors.audios
    assert MODELS.build(audio).__class__ is AudioLogMelPreprocessor
    assert MODELS.build(switched.model.data_preprocessor.preprocessors.audios
                        ).__class__ is AudioLogMelPreprocessor
