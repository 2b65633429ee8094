"""Shared pieces of the ONNX deployment tests (``tests/tools/test_onnx_*``):
the media fixture, the demo config's runner spec, the plugin's normalised
test inputs of a video, and a random-weight demo model whose prediction
depends on the video."""
import os.path as osp

import numpy as np
import pytest
import torch
from av_fixtures import DEMO_CONFIG
from tool_helpers import load_tool



def deployment_tool(name: str):
    """``tools/deployment/<name>.py`` as a module (loaded once; not at
    import: conftest imports this module in every session)."""
    import sys
    return sys.modules.get(name) or load_tool(f'deployment/{name}.py')


# deploy_media names of the re-encodes of the first demo test video:
# name -> (file name, reencode() arguments).
REENCODES = {
    'avi_mp3': ('avi_mp3.avi', dict(sample_rate=44100)),
    'mkv_late_audio': ('late_audio.mkv', dict(audio_start=0.25)),
    'stereo_48k': ('stereo_48k.mp4', dict(sample_rate=48000)),
    'surround_51': ('surround_51.mp4', dict(sample_rate=44100, channels=6)),
}


@pytest.fixture(scope='session')
def deploy_media(tmp_path_factory, demo_clips, api_media):
    """name -> video: the demo test split (``tools/make_demo_dataset.py``,
    the first 2-s 64x64 clip per class of ``demo_clips``:
    ``test_<class>``), :data:`REENCODES` of its first video, ``no_audio``
    (``api_media['silent']``: 3 s, no audio stream) and ``short`` (1 s at
    16 fps, 44.1 kHz stereo: shorter than one 31-frame clip, so
    ``SampleFrames`` loops it)."""
    from mmaction_avslowfast.testing.reencode import reencode
    from mmaction_avslowfast.testing.synthetic_media import write_av_video
    out = tmp_path_factory.mktemp('deploy_media')
    media = {'test_' + osp.basename(osp.dirname(path)): path
             for path in demo_clips[1] if path.endswith('_0000.mp4')}
    first = next(iter(media.values()))
    for name, (filename, kwargs) in REENCODES.items():
        media[name] = reencode(first, str(out / filename), **kwargs)
    media['no_audio'] = api_media['silent']
    media['short'] = write_av_video(
        str(out / 'short.mp4'), duration=1.0, fps=16, size=(64, 48),
        tone_schedule=[(0.0, 500.0), (0.5, 2000.0)], sample_rate=44100,
        channels=2)['path']
    return media


def demo_model(checkpoint=None):
    """The demo recognizer on CPU, eval mode, and its test pipeline."""
    from mmaction_avslowfast.apis import build_test_pipeline, \
        init_av_recognizer
    model = init_av_recognizer(DEMO_CONFIG, checkpoint, 'cpu')
    return model, build_test_pipeline(model.cfg)


def demo_spec(model, pipeline, classes=None) -> dict:
    """The runner JSON the exporter writes for the demo config."""
    return deployment_tool('export_onnx').recognizer_spec(model, pipeline,
                                                          classes)


def plugin_inputs(model, pipeline, video):
    """``(imgs [V, 3, T, H, W], audios [V, 1, T_a, F])`` float32 numpy, as
    the recognizer's test step receives them."""
    imgs, audios = deployment_tool('export_onnx').pipeline_inputs(
        model, pipeline, video)
    return imgs.numpy(), audios.numpy()


def centre_head(model, pipeline, videos, spread: float = 2.0) -> None:
    """Re-draw the classifier of a random-weight ``model`` so that its
    prediction depends on the video.

    With random weights (BN statistics at their initial values) the pooled
    features share a large common component, and one class wins on every
    video. Here the classifier reads the features standardised over the
    views of ``videos`` (``W' = W / std``, bias ``-W' mean``), scaled to
    logits of standard deviation ``spread``.
    """
    feats = []
    with torch.no_grad():
        for video in videos:
            imgs, audios = deployment_tool('export_onnx').pipeline_inputs(
                model, pipeline, video)
            out = model.backbone(imgs=imgs, audios=audios)
            feats.append(torch.cat([model.cls_head.pool(x) for x in out],
                                   1))
        feats = torch.cat(feats)
        mean, std = feats.mean(0), feats.std(0) + 1e-6
        fc = model.cls_head.fc_cls
        weight = torch.randn(fc.weight.shape,
                             generator=torch.Generator().manual_seed(0))
        weight = weight / std
        logits = (feats - mean) @ weight.T
        weight *= spread / logits.std()
        fc.weight.copy_(weight)
        fc.bias.copy_(-(weight @ mean))


def top1_margin(probs: np.ndarray) -> float:
    """Best minus second-best probability."""
    top = np.sort(probs)[::-1]
    return float(top[0] - top[1])
