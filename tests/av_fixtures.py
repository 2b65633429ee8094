"""Fixtures for the inference API tests: synthesized videos, a tone-probe
model whose prediction is known, and the demo config with random weights;
the demo config's pipelines for tests that build their own data set.

Tone-probe model (``TONE_MODEL_SOURCE``): a test-only backbone, written to a
module that the config (the demo config with this model) loads through
``custom_imports``, returns the mean
normalised log-mel of two tone bins (``[N, 2, 1, 1, 1]``: energy at
``mel_bin(LOW_HZ)``, energy at ``mel_bin(HIGH_HZ)``) and keeps the inputs it
was given; an ``I3DHead`` with weights set by hand in the checkpoint
(``fc = 3 * identity``) turns them into the classes ``low_tone`` and
``high_tone``. A tone at ``LOW_HZ`` is therefore ``low_tone``, one at
``HIGH_HZ`` ``high_tone``, whatever the frames show.
"""
import os.path as osp
import uuid

import pytest
import torch

import mmaction_avslowfast  # noqa: F401  (registers modules, applies compat)
from mmengine.config import Config

from mmaction_avslowfast.testing.synthetic_media import mel_bin, write_av_video

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'avslowfast_demo.py')
LOW_HZ, HIGH_HZ = 500.0, 2000.0
TONE_CLASSES = ['low_tone', 'high_tone']
DEMO_CLASSES = ['left_low', 'left_high', 'right_low', 'right_high', 'up_low',
                'up_high']

TONE_MODEL_SOURCE = '''
import torch
from torch import nn
from mmaction.registry import MODELS


@MODELS.register_module(force=True)
class ToneProbeBackbone(nn.Module):
    """Features = mean normalised log-mel at two mel bins, [N, 2, 1, 1, 1];
    keeps the last inputs in ``self.seen`` (test only)."""

    def __init__(self, low_bin, high_bin):
        super().__init__()
        self.bins = (low_bin, high_bin)
        self.seen = None

    def forward(self, imgs, audios):
        self.seen = dict(imgs=imgs.detach().clone(),
                         audios=audios.detach().clone())
        energy = audios[:, 0, :, list(self.bins)].mean(dim=1)  # [N, 2]
        return energy[:, :, None, None, None]
'''

# The demo config's data (test: 3 clips of 16 frames at interval 2, their
# 64 log-mel frames, 32x32) and preprocessor, with the tone-probe model.
TONE_CONFIG = '''
_base_ = {demo!r}
custom_imports = dict(imports=['mmaction_avslowfast', {module!r}],
                      allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='AVRecognizer3D',
    backbone=dict(type='ToneProbeBackbone', low_bin={low}, high_bin={high}),
    cls_head=dict(type='I3DHead', num_classes=2, in_channels=2,
                  dropout_ratio=0.0, average_clips='prob'),
    data_preprocessor=_base_.model.data_preprocessor)
'''


def demo_pipeline(split: str = 'val', audio_frames: int = None,
                  **sample_frames) -> list:
    """The demo config's ``<split>_pipeline`` (``CheckedDecordInit ->
    SampleFrames -> CheckedDecordDecode -> LoadAudioFromVideo ->
    AudioLogMelClips -> Resize 32x32 -> FormatShape -> AlignAudioViews ->
    PackAVInputs``) with ``sample_frames`` set on ``SampleFrames`` and
    ``audio_frames`` (if given) as ``AudioLogMelClips.num_frames``."""
    steps = Config.fromfile(DEMO_CONFIG).to_dict()[f'{split}_pipeline']
    for step in steps:
        if step['type'] == 'SampleFrames':
            step.update(sample_frames)
        elif step['type'] == 'AudioLogMelClips' and audio_frames:
            step['num_frames'] = audio_frames
    return steps


@pytest.fixture(scope='session')
def api_media(tmp_path_factory):
    """Synthesized videos (16 fps, 64x48): name -> path.

    ``low`` / ``high``: 3 s of one tone (44.1 kHz stereo / 16 kHz mono);
    ``silent``: 3 s without an audio stream; ``short``: 1 s (16 frames,
    shorter than one 31-frame clip) with a low tone; ``switch``: 20 s, low
    tone for 10 s then high tone.
    """
    out = tmp_path_factory.mktemp('api_media')
    specs = dict(
        low=dict(duration=3.0, tone_schedule=[(0.0, LOW_HZ)],
                 sample_rate=44100, channels=2),
        high=dict(duration=3.0, tone_schedule=[(0.0, HIGH_HZ)]),
        silent=dict(duration=3.0, with_audio=False),
        short=dict(duration=1.0, tone_schedule=[(0.0, LOW_HZ)]),
        switch=dict(duration=20.0,
                    tone_schedule=[(0.0, LOW_HZ), (10.0, HIGH_HZ)]),
    )
    paths = {}
    for name, kwargs in specs.items():
        paths[name] = str(out / f'{name}.mp4')
        write_av_video(paths[name], fps=16, size=(64, 48), **kwargs)
    return paths


@pytest.fixture(scope='session')
def tone_model_files(tmp_path_factory):
    """``(config, checkpoint)`` of the tone-probe model (module docstring);
    the checkpoint names the classes in ``meta['dataset_meta']``."""
    out = tmp_path_factory.mktemp('tone_model')
    module = f'tone_probe_{uuid.uuid4().hex[:8]}'
    (out / f'{module}.py').write_text(TONE_MODEL_SOURCE)
    config = out / 'tone_config.py'
    config.write_text(TONE_CONFIG.format(demo=DEMO_CONFIG, module=module,
                                         low=mel_bin(LOW_HZ),
                                         high=mel_bin(HIGH_HZ)))
    checkpoint = out / 'tone.pth'
    torch.save(
        dict(state_dict={'cls_head.fc_cls.weight': 3 * torch.eye(2),
                         'cls_head.fc_cls.bias': torch.zeros(2)},
             meta=dict(dataset_meta=dict(classes=TONE_CLASSES))),
        str(checkpoint))
    return str(out), str(config), str(checkpoint)


@pytest.fixture(scope='session')
def tone_model(tone_model_files):
    """The tone-probe model on CPU (its module folder is on ``sys.path``
    while the config imports it)."""
    from mmaction_avslowfast.apis import init_av_recognizer
    folder, config, checkpoint = tone_model_files
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(folder)
        return init_av_recognizer(config, checkpoint, device='cpu')


@pytest.fixture(scope='session')
def demo_checkpoint(tmp_path_factory):
    """The demo config's model with random weights, saved as a checkpoint
    (no class names in it)."""
    from mmaction.apis import init_recognizer
    torch.manual_seed(0)
    model = init_recognizer(DEMO_CONFIG, None, device='cpu')
    path = tmp_path_factory.mktemp('demo_ckpt') / 'random.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), str(path))
    return str(path)


@pytest.fixture(scope='session')
def demo_label_map(tmp_path_factory):
    path = tmp_path_factory.mktemp('labels') / 'label_map.txt'
    path.write_text('\n'.join(DEMO_CLASSES) + '\n')
    return str(path)
