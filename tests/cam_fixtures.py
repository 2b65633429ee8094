"""Fixtures of the Grad-CAM tests: demo clips (tools/make_demo_dataset.py)
and a hand-built probe recognizer whose evidence is known.

Probe (``CamProbeBackbone``, test only): an AVSlowFast-shaped backbone
(``slow_path`` / ``fast_path`` with ``maxpool`` and ``res_layers``,
``audio_path`` with ``conv1`` and ``res_layers``, so that every
``pathway.stage`` name exists) computing, instead of learned features:

- Slow (every 4th frame) and Fast (every frame), res2: motion energy from
  brightness constancy on the frames' mean channel ``g``: ``[left, right,
  up] = ReLU([I_t I_x, -I_t I_x, I_t I_y] - 0.1)`` (central differences; a
  square moving left has ``I_t = s I_x``; the bias 0.1 silences the
  codec's ringing, products of about 0.02, against about 3 at a moving
  edge), non-zero only at the moving square's edges (the other
  direction's energy too at its corners: the aperture problem);
  res3..res5 average-pool it 2x2 (32 px -> 16, 8, 4);
- Audio, res2: ``ReLU`` of the normalised log-mel inside the low and the
  high tone's mel bins (two channels); res3..res5 average-pool 2x2
  (64 x 80 -> 8 x 10).

An ``AVSlowFastHead`` (no dropout) with hand-set weights adds, for class
``<motion>_<tone>``, the pooled Slow and Fast energies of ``motion`` and the
pooled band of ``tone``. Its Grad-CAM of a class is therefore that
motion's energy map (on the square's edges) and that tone's band.
"""
import os.path as osp

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from av_fixtures import DEMO_CLASSES, DEMO_CONFIG
from mmaction.registry import MODELS
from tool_helpers import load_tool

MOTIONS = ('left', 'right', 'up')
SOUNDS = ('low', 'high')


def _central(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Central difference along ``dim`` (replicated ends)."""
    n = x.shape[dim]
    idx = torch.arange(n)
    ahead = x.index_select(dim, (idx + 1).clamp(max=n - 1))
    behind = x.index_select(dim, (idx - 1).clamp(min=0))
    return (ahead - behind) / 2


class MotionEnergy(nn.Module):
    """``[N, 3, T, H, W]`` frames -> ``[N, 3, T, H, W]`` (left, right, up)
    motion energy."""
    bias = 0.1

    def forward(self, x):
        g = x.mean(dim=1, keepdim=True)
        i_t, i_y, i_x = _central(g, 2), _central(g, 3), _central(g, 4)
        energy = torch.cat([i_t * i_x, -i_t * i_x, i_t * i_y], dim=1)
        return F.relu(energy - self.bias)


class ToneBands(nn.Module):
    """``[N, 1, T_a, F]`` log-mel -> ``[N, 2, T_a, F]``: ReLU of it in the
    low and in the high band (bins ``bands[k][0]..bands[k][1]``)."""

    def __init__(self, bands):
        super().__init__()
        self.bands = bands

    def forward(self, x):
        masks = torch.zeros(len(self.bands), x.shape[-1])
        for k, (lo, hi) in enumerate(self.bands):
            masks[k, lo:hi + 1] = 1
        return F.relu(x[:, :1]) * masks[None, :, None, :]


class ProbePathway(nn.Module):
    """A stem, then ``res2 = evidence`` and three 2x2 average pools."""

    def __init__(self, evidence, pool, stem_name):
        super().__init__()
        self.add_module(stem_name, nn.Identity())
        self.stem_name = stem_name
        self.res_layers = ['layer1', 'layer2', 'layer3', 'layer4']
        self.layer1 = evidence
        for name in self.res_layers[1:]:
            self.add_module(name, pool())

    def forward(self, x):
        x = getattr(self, self.stem_name)(x)
        for name in self.res_layers:
            x = getattr(self, name)(x)
        return x


@MODELS.register_module(force=True)
class CamProbeBackbone(nn.Module):
    """Module docstring; ``forward(imgs [N, 3, 16, 32, 32], audios
    [N, 1, 64, 80])`` -> ``(slow [N, 3, 4, 4, 4], fast [N, 3, 16, 4, 4],
    audio [N, 2, 8, 10])``."""

    def __init__(self, bands):
        super().__init__()
        pool3d = lambda: nn.AvgPool3d((1, 2, 2))  # noqa: E731
        self.slow_path = ProbePathway(MotionEnergy(), pool3d, 'maxpool')
        self.fast_path = ProbePathway(MotionEnergy(), pool3d, 'maxpool')
        self.audio_path = ProbePathway(ToneBands(bands),
                                       lambda: nn.AvgPool2d(2), 'conv1')

    def forward(self, imgs, audios):
        return (self.slow_path(imgs[:, :, ::4]), self.fast_path(imgs),
                self.audio_path(audios))


def probe_head_weights() -> torch.Tensor:
    """``[6, 8]``: class ``<motion>_<tone>`` = Slow + Fast energy of the
    motion + the tone's band."""
    weight = torch.zeros(len(DEMO_CLASSES), 8)
    for c, name in enumerate(DEMO_CLASSES):
        motion, sound = name.split('_')
        weight[c, MOTIONS.index(motion)] = 1.0
        weight[c, 3 + MOTIONS.index(motion)] = 1.0
        weight[c, 6 + SOUNDS.index(sound)] = 1.0
    return weight


def build_probe_model():
    """The probe recognizer in eval mode, ``model.cfg`` the demo config
    (its test pipeline and data preprocessor)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmaction_avslowfast.testing.synthetic_media import mel_bin
    make = load_tool('make_demo_dataset.py')
    cfg = Config.fromfile(DEMO_CONFIG)
    bands = [[mel_bin(f) for f in make.SOUNDS[s]] for s in SOUNDS]
    init_default_scope('mmaction')
    model = MODELS.build(
        dict(type='AVRecognizer3D',
             backbone=dict(type='CamProbeBackbone', bands=bands),
             cls_head=dict(type='AVSlowFastHead', num_classes=6,
                           in_channels=8, dropout_ratio=0.0,
                           average_clips='prob'),
             data_preprocessor=cfg.model.data_preprocessor))
    with torch.no_grad():
        model.cls_head.fc_cls.weight.copy_(probe_head_weights())
        model.cls_head.fc_cls.bias.zero_()
    model.cfg = cfg
    return model.eval()


@pytest.fixture(scope='session')
def demo_clips(tmp_path_factory):
    """``(folder, videos)``: two test clips per demo class, as
    make_demo_dataset.py writes them (seed 0, 64 px, 16 fps, 2 s)."""
    out = tmp_path_factory.mktemp('cam_demo')
    make = load_tool('make_demo_dataset.py')
    entries = make.make_split(str(out), 'test', 2, 0, (64, 64), 16, 2.0,
                              16000)
    return str(out), [osp.join(str(out), 'videos_test', rel)
                      for rel, _ in entries]


@pytest.fixture(scope='session')
def probe_model():
    import mmaction_avslowfast  # noqa: F401  (registers the recognizer)
    return build_probe_model()
