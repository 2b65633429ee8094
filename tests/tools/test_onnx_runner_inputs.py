"""The standalone runner's numpy front end (``tools/deployment/np_audio.py``,
``np_video.py``) against the plugin's: the resampler, the log-mel of the
same waveform, and the whole test inputs (frames and audio views) of the
demo config on the demo test split, its re-encodes, a video without audio
and a looped short one. The runner JSON's refusals. No onnxruntime."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from deploy_helpers import (REENCODES, demo_model, demo_spec,
                            deployment_tool, plugin_inputs)

from mmaction_avslowfast.testing.synthetic_media import mel_bin, tone_waveform

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

np_audio = deployment_tool('np_audio')
onnx_infer = deployment_tool('onnx_infer')
runner_spec = deployment_tool('runner_spec')


@pytest.fixture(scope='module')
def demo():
    """``(model, pipeline, spec)`` of the demo config, random weights."""
    model, pipeline = demo_model()
    return model, pipeline, demo_spec(model, pipeline)


@pytest.mark.parametrize('rate', [8000, 22050, 44100, 48000])
def test_resampler_matches_the_plugins(rate):
    """torchaudio's windowed sinc rebuilt in numpy: the plugin's
    WaveformResampler's output to 1e-5 (measured <= 2.4e-7)."""
    from mmaction_avslowfast.audio import WaveformResampler
    rng = np.random.RandomState(rate)
    wave = tone_waveform(1.5, rate, [(0.0, 500.0), (0.7, 3000.0)])
    wave += 0.01 * rng.randn(wave.size).astype(np.float32)
    ref = WaveformResampler(rate, 16000)(wave)
    got = np_audio.resample(wave, rate, 16000)
    assert got.dtype == np.float32 and got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


def test_log_mel_matches_the_plugins_front_end():
    """Same 16 kHz waveform (500 Hz, near-silence, 3 kHz): the runner's
    log-mel equals LogMelExtractor's to 1e-3 (log units; measured 7.8e-5,
    largest in bins near the 1e-8 floor) and peaks in each tone's mel
    bin."""
    from mmaction_avslowfast.audio import LogMelExtractor
    wave = tone_waveform(3.0, 16000, [(0.0, 500.0), (1.0, None),
                                      (2.0, 3000.0)])
    wave[16000:32000] += 1e-4 * np.random.RandomState(0).randn(16000)
    ref = LogMelExtractor()(wave)
    got = np_audio.log_mel(wave)
    assert got.dtype == np.float32 and got.shape == ref.shape == (186, 80)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-3)
    assert got[10].argmax() == mel_bin(500.0)
    assert got[-10].argmax() == mel_bin(3000.0)
    assert got[93].max() < got[10].max() - 15  # the near-silent second


MEDIA = ['test_left_low', 'test_right_high', 'test_up_high', 'no_audio',
         'short'] + list(REENCODES)


@pytest.mark.parametrize('name', MEDIA)
def test_runner_inputs_equal_the_pipelines(deploy_media, demo, name):
    """The runner's views equal what the recognizer's test step gets from
    the config's pipeline and data preprocessor: frames exactly, audio to
    2e-3 of the normalised log-mel (measured <= 4e-4: torch's float32 FFT
    in bins near the 1e-8 floor)."""
    model, pipeline, spec = demo
    video = deploy_media[name]
    imgs, audios = plugin_inputs(model, pipeline, video)
    prepared = onnx_infer.prepare_inputs(video, spec)
    assert prepared.imgs.shape == imgs.shape == (3, 3, 16, 32, 32)
    assert prepared.audios.shape == audios.shape == (3, 1, 64, 80)
    np.testing.assert_array_equal(prepared.imgs, imgs)
    np.testing.assert_allclose(prepared.audios, audios, rtol=0, atol=2e-3)
    assert prepared.audio_valid == (name != 'no_audio')
    silence = (np.log(1e-8) + 7.03) / 4.66
    if name == 'no_audio':
        np.testing.assert_allclose(prepared.audios, silence, atol=1e-6)
    else:  # every audio frame hears the tone (the late audio: after 0.25 s)
        heard = prepared.audios.max(axis=3)[:, 0] > silence + 2  # [V, 64]
        if name == 'mkv_late_audio':  # before the audio starts: silence
            clips = prepared.frame_inds.reshape(3, 16) / 16.0 - 0.25
            early = np.floor(np.linspace(clips[:, 0], clips[:, -1], 64).T *
                             62.5) < 0
            assert early.sum() >= 9 and not heard[early].any()
            heard[early] = True
        assert heard.all()
    if name == 'short':  # 16 frames: looped clips, looped audio
        assert prepared.frame_inds.max() == 14
        assert len(set(prepared.frame_inds[:16])) == 8


KINETICS = 'configs/avslowfast_r50_kinetics.py'


@pytest.mark.parametrize('split', ['test', 'val'])
@pytest.mark.parametrize('size', [(326, 240), (240, 326)])
def test_runner_views_equal_the_kinetics_pipelines(tmp_path, split, size):
    """The Kinetics config's geometry: Resize to a short side of 256 (the
    long side rounded: 326x240 -> 348x256), then
    ThreeCrop(256) (test: left/right/middle, or top/bottom/middle of a
    portrait video) or CenterCrop(224) (val), 2 clips of 8 frames here;
    the runner's views equal the pipeline's, frames exactly."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate

    from mmaction_avslowfast.apis import build_test_pipeline
    from mmaction_avslowfast.apis.inference import (run_test_pipeline,
                                                     video_input)
    from mmaction_avslowfast.testing.synthetic_media import write_av_video
    cfg = Config.fromfile(osp.join(REPO, KINETICS))
    steps = [dict(s, clip_len=8, num_clips=2) if s['type'] ==
             'SampleFrames' else s for s in cfg[f'{split}_pipeline']]
    pipeline = build_test_pipeline(cfg, steps)
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    spec = runner_spec.spec_from_pipeline(
        pipeline.transforms, cfg.model.data_preprocessor.preprocessors,
        'prob', 400)
    video = write_av_video(str(tmp_path / 'v.mp4'), duration=2.0, fps=30,
                           size=size, sample_rate=44100,
                           channels=2)['path']
    packed, _ = run_test_pipeline(pipeline, video_input(video))
    with torch.no_grad():
        inputs = preprocessor(pseudo_collate([packed]), False)['inputs']
    prepared = onnx_infer.prepare_inputs(video, spec)
    crops = 3 if split == 'test' else 1
    side = 256 if split == 'test' else 224
    assert prepared.imgs.shape == (crops * 2, 3, 8, side, side)
    np.testing.assert_array_equal(prepared.imgs, inputs['imgs'][0].numpy())
    np.testing.assert_allclose(prepared.audios, inputs['audios'][0].numpy(),
                               rtol=0, atol=2e-3)


def test_spec_refuses_steps_the_runner_does_not_reproduce(demo):
    model, pipeline, _ = demo
    from mmaction.datasets.transforms import Flip
    steps = list(pipeline.transforms)
    with pytest.raises(runner_spec.SpecError, match='step Flip'):
        demo_spec(model, type(pipeline)(steps[:5] + [Flip()] + steps[5:]))
    with pytest.raises(runner_spec.SpecError, match='no AudioLogMelClips'):
        demo_spec(model, type(pipeline)(steps[:4] + steps[5:]))
    with pytest.raises(runner_spec.SpecError, match='11 class names'):
        demo_spec(model, pipeline, classes=['x'] * 11)


@pytest.mark.parametrize('change, message', [
    (dict(version=2), 'version 2'),
    (dict(format='other'), 'not a mmaction-avslowfast-onnx'),
    (dict(audio=dict(mel_scale='slaney')), "mel_scale='slaney'"),
    (dict(average_clips='score'), "average_clips='score'"),
])
def test_load_spec_refuses_what_the_runner_does_not_implement(
        demo, tmp_path, change, message):
    spec = json.loads(json.dumps(demo[2]))
    for key, value in change.items():
        if isinstance(value, dict):
            spec[key].update(value)
        else:
            spec[key] = value
    path = tmp_path / 'model.json'
    path.write_text(json.dumps(spec))
    with pytest.raises(runner_spec.SpecError, match=message):
        runner_spec.load_spec(str(path))
    with pytest.raises(runner_spec.SpecError, match='no runner JSON'):
        runner_spec.load_spec(str(tmp_path / 'missing.json'))
