"""MMAction2's own inference entry points keep working with the plugin:
``mmaction.apis.inference_recognizer`` and ``MMAction2Inferencer`` (rec
mode, no vid_out_dir) on the demo model, and the test pipelines of every
single-label recognition config under both data paths."""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from av_fixtures import DEMO_CONFIG, HIGH_HZ, LOW_HZ, ROOT
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmaction_avslowfast.testing.synthetic_media import mel_bin, write_av_video

RECOGNITION_CONFIGS = [
    'avslowfast_demo.py', 'avslowfast_r50_kinetics.py',
    'avslowfast_r50_8x8_kinetics.py', 'avslowfast_r101_8x8_kinetics.py',
    'avslowfast_r50_kinetics_from_slowfast.py'
]


def test_mmaction2_inferencer_equals_inference_recognizer(
        demo_checkpoint, demo_label_map, api_media):
    """Same scores on a video with and one without an audio track (the
    inferencer's DecordInit/DecordDecode read the same frames)."""
    from mmaction.apis import (MMAction2Inferencer, inference_recognizer,
                               init_recognizer)
    videos = [api_media['low'], api_media['silent']]
    model = init_recognizer(DEMO_CONFIG, demo_checkpoint, device='cpu')
    inferencer = MMAction2Inferencer(
        rec=DEMO_CONFIG, rec_weights=demo_checkpoint, device='cpu',
        label_file=demo_label_map)
    results = inferencer(videos)['predictions']
    assert len(results) == 2
    for video, result in zip(videos, results):
        expected = inference_recognizer(model, video).pred_score
        np.testing.assert_allclose(result['rec_scores'][0], expected.numpy(),
                                   rtol=1e-5, atol=1e-7)
        assert result['rec_labels'][0] == [int(expected.argmax())]


@pytest.fixture(scope='module')
def long_switch_video(tmp_path_factory):
    """10 s at 16 fps (longer than the Kinetics 32 x 2 clip): low tone, then
    high tone from 5 s, so that the first and last clips sound different."""
    path = str(tmp_path_factory.mktemp('long') / 'switch10.mp4')
    write_av_video(path, duration=10.0, fps=16, size=(64, 48),
                   tone_schedule=[(0.0, LOW_HZ), (5.0, HIGH_HZ)])
    return path


def inferencer_pipeline(cfg):
    """``ActionRecogInferencer``'s pipeline for a config (its
    ``_init_pipeline``: DecordInit/DecordDecode, ThreeCrop -> CenterCrop,
    InferencerPackInput first), without building the model."""
    from mmaction.apis.inferencers import ActionRecogInferencer
    stub = SimpleNamespace(input_format='video', pack_cfg={})
    return ActionRecogInferencer._init_pipeline(stub, cfg)


def check_views(packed, num_clips, crops, clip_len, audio_frames):
    imgs, audios = packed['inputs']['imgs'], packed['inputs']['audios']
    views = num_clips * crops
    assert imgs.shape[:3] == (views, 3, clip_len)
    assert audios.shape == (views, 1, audio_frames, 80)
    # AlignAudioViews: view = crop * num_clips + clip carries clip's audio
    for view in range(views):
        assert torch.equal(audios[view], audios[view % num_clips])
    return audios[:num_clips]


def test_recognition_config_test_pipelines(long_switch_video):
    """Every recognition config's test pipeline runs under
    inference_recognizer's data path (ThreeCrop: 10 clips x 3 crops) and
    under MMAction2Inferencer's (CenterCrop: 10 views), pairing each view
    with its clip's audio; both paths give the same audio per clip. Configs
    with the same test pipeline are run once."""
    done = {}
    for name in RECOGNITION_CONFIGS:
        cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
        key = repr(cfg.test_pipeline)
        assert cfg.test_pipeline == cfg.test_dataloader.dataset.pipeline
        if key in done:
            continue
        init_default_scope('mmaction')
        sampler = next(t for t in cfg.test_pipeline
                       if t['type'] == 'SampleFrames')
        audio = next(t for t in cfg.test_pipeline
                     if t['type'] == 'AudioLogMelClips')
        crops = 3 if any(t['type'] == 'ThreeCrop'
                         for t in cfg.test_pipeline) else 1
        dims = (sampler['num_clips'], sampler['clip_len'],
                audio['num_frames'])
        packed = Compose(cfg.test_pipeline)(dict(
            filename=long_switch_video, label=-1, start_index=0,
            modality='RGB'))
        ours = check_views(packed, dims[0], crops, dims[1], dims[2])
        theirs = check_views(
            inferencer_pipeline(cfg)(long_switch_video), dims[0], 1,
            dims[1], dims[2])
        torch.testing.assert_close(theirs, ours, atol=1e-4, rtol=0)
        low, high = mel_bin(LOW_HZ), mel_bin(HIGH_HZ)
        first, last = ours[0, 0], ours[-1, 0]
        assert first[:, low].mean() > first[:, high].mean() + 1
        assert last[:, high].mean() > last[:, low].mean() + 1
        done[key] = name
    # the four Kinetics configs share one test pipeline
    assert sorted(done.values()) == ['avslowfast_demo.py',
                                     'avslowfast_r50_kinetics.py']
