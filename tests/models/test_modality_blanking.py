"""modality_blanking: the fills, and that the ablation and the transfer
configs blank through its one function (the demo's conditions: see
tests/apis/test_inference.py)."""
import math
import os.path as osp

import mmaction_avslowfast  # noqa: F401, isort: skip

import numpy as np
import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope
from test_recognizer_av import build_recognizer, data_batch
from torch import nn

from mmaction.registry import MODELS
from mmaction_avslowfast.audio import silence_value
from mmaction_avslowfast.models.recognizers import modality_blanking as mb

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SILENCE = (math.log(1e-8) + 7.03) / 4.66  # -2.4444: reference statistics


def preprocessor(audio_mean=None, audio_std=None):
    init_default_scope('mmaction')
    audios = dict(type='ActionDataPreprocessor')
    if audio_mean is not None:
        audios.update(mean=audio_mean, std=audio_std)
    return MODELS.build(
        dict(type='MultiModalDataPreprocessor',
             preprocessors=dict(
                 imgs=dict(type='ActionDataPreprocessor', mean=[114.75] * 3,
                           std=[57.375] * 3, format_shape='NCTHW'),
                 audios=audios)))


def inputs():
    gen = torch.Generator().manual_seed(0)
    return dict(imgs=torch.randn(2, 1, 3, 4, 8, 8, generator=gen),
                audios=torch.randn(2, 1, 1, 16, 10, generator=gen))


def test_fill_values():
    assert mb.fill_value('mean', 'imgs') == 0.0
    assert mb.fill_value('mean', 'audios') == 0.0
    assert mb.fill_value('silence') == pytest.approx(SILENCE, abs=1e-12)
    assert mb.fill_value('silence') == pytest.approx(-2.4444, abs=1e-4)
    assert mb.fill_value('silence', silence=-1.5) == -1.5
    assert mb.fill_value(0.25, 'imgs') == 0.25
    assert mb.fill_value(1, 'audios') == 1.0
    for bad, match in (('silence', "for 'audios' only"), ('grey', 'unknown'),
                       (True, 'finite float'), (float('nan'),
                                                'finite float')):
        with pytest.raises(ValueError, match=match):
            mb.fill_value(bad, 'imgs')


def test_blank_inputs_writes_each_fill_after_an_identity_audio_preprocessor():
    x = inputs()
    before = {m: t.clone() for m, t in x.items()}
    pre = preprocessor()
    out = mb.blank_inputs(x, {'audios': 'silence'}, pre)
    assert torch.all(out['audios'] == np.float32(SILENCE))
    assert out['audios'].shape == x['audios'].shape
    assert out['imgs'] is x['imgs']  # the other modality untouched
    assert all(torch.equal(x[m], before[m]) for m in x)  # input unchanged
    out = mb.blank_inputs(x, {'audios': 'silence'}, pre, silence=-1.25)
    assert torch.all(out['audios'] == -1.25)
    out = mb.blank_inputs(x, {'imgs': 'mean', 'audios': 0.5}, pre)
    assert torch.all(out['imgs'] == 0) and out['imgs'].dtype == torch.float32
    assert torch.all(out['audios'] == 0.5)
    out = mb.blank_inputs(x, {})
    assert out is not x and all(out[m] is x[m] for m in x)
    with pytest.raises(KeyError, match="names \\['audio'\\]"):
        mb.blank_inputs(x, {'audio': 'mean'})


def test_silence_goes_through_a_normalising_audio_preprocessor():
    """Silence is a value of the pipeline's log-mel: a preprocessor that
    normalises audio moves it (as it moves the log-mel); 'mean' and floats
    are values of its output and do not move."""
    x = inputs()
    pre = preprocessor(audio_mean=[0.5], audio_std=[2.0])
    out = mb.blank_inputs(x, {'audios': 'silence'}, pre)
    expected = (SILENCE - 0.5) / 2.0
    assert torch.allclose(out['audios'],
                          torch.full_like(x['audios'], expected))
    # the same as the preprocessor does to a silent log-mel
    silent = dict(inputs=dict(audios=[torch.full((1, 1, 16, 10), SILENCE)]),
                  data_samples=[ActionDataSample()])
    assert torch.equal(out['audios'][:1],
                       pre(silent, False)['inputs']['audios'])
    assert torch.all(mb.blank_inputs(x, {'audios': 'mean'}, pre)['audios']
                     == 0)


def test_silence_refuses_an_unknown_audio_preprocessor():
    class Custom(nn.Module):
        pass

    pre = preprocessor()
    pre.preprocessors['audios'] = Custom()
    with pytest.raises(ValueError, match='Custom: cannot tell'):
        mb.blank_inputs(inputs(), {'audios': 'silence'}, pre)
    with pytest.raises(ValueError, match='NoneType'):
        mb.blank_inputs(inputs(), {'audios': 'silence'}, None)
    # 'mean' needs no preprocessor
    assert torch.all(
        mb.blank_inputs(inputs(), {'audios': 'mean'}, pre)['audios'] == 0)


def test_parse_blank_spec():
    assert mb.parse_blank_spec('audios') == {'audios': 'mean'}
    assert mb.parse_blank_spec(('audios', 'imgs')) == {
        'audios': 'mean', 'imgs': 'mean'}
    assert mb.parse_blank_spec(()) == mb.parse_blank_spec(None) == {}
    assert mb.parse_blank_spec(dict(audios='silence', imgs=0)) == {
        'audios': 'silence', 'imgs': 0.0}
    with pytest.raises(ValueError, match="for 'audios' only"):
        mb.parse_blank_spec(dict(imgs='silence'))
    with pytest.raises(TypeError, match='sequence of names'):
        mb.parse_blank_spec([('audios', 'mean')])


def test_blank_modalities_audios_is_backward_compatible():
    """``--cfg-options model.blank_modalities=audios`` (a str) and the
    former tuple form: fill 'mean', names in ``blank_modalities``."""
    import argparse

    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(
        ['--cfg-options', 'model.blank_modalities=audios']).cfg_options
    cfg = Config.fromfile(osp.join(ROOT, 'configs/avslowfast_demo.py'))
    cfg.merge_from_dict(options)
    assert cfg.model.blank_modalities == 'audios'
    for spec in ('audios', ('audios', ), ['audios']):
        model = build_recognizer(blank_modalities=spec)
        assert model.blank_fills == {'audios': 'mean'}
        assert model.blank_modalities == ('audios', )
    model.blank_modalities = dict(audios='silence')
    assert model.blank_fills == {'audios': 'silence'}
    assert build_recognizer().blank_fills == {}


def test_recognizer_fills_silence_from_a_dict():
    model = build_recognizer(blank_modalities=dict(audios='silence')).eval()
    data = model.data_preprocessor(data_batch(), training=False)
    with torch.no_grad():
        model(**data, mode='predict')
    assert torch.all(model.backbone.seen['audios'] == np.float32(SILENCE))
    assert model.backbone.seen['imgs'].abs().max() > 0


@pytest.fixture()
def spy(monkeypatch):
    """Replace ``blank_inputs`` by one that records its calls and fills
    with 7.0, so a caller that goes around it or ignores its result is
    seen."""
    calls = []

    def fake(inputs, fills, data_preprocessor=None, silence=None):
        calls.append(dict(fills=dict(fills), silence=silence,
                          data_preprocessor=data_preprocessor))
        return {m: torch.full_like(x, 7.0) if m in fills else x
                for m, x in inputs.items()}

    monkeypatch.setattr(mb, 'blank_inputs', fake)
    return calls


def seen_by_backbone(model, audio_frames):
    seen = {}

    def hook(module, args, kwargs):
        seen.update({m: x.detach().clone() for m, x in kwargs.items()})

    model.backbone.register_forward_pre_hook(hook, with_kwargs=True)
    gen = torch.Generator().manual_seed(0)
    data = dict(
        inputs=dict(
            imgs=list(torch.randint(0, 256, (2, 1, 3, 16, 32, 32),
                                    generator=gen).float()),
            audios=list(torch.randn(2, 1, 1, audio_frames, 80,
                                    generator=gen))),
        data_samples=[ActionDataSample().set_gt_label(i) for i in range(2)])
    model.eval()
    with torch.no_grad():
        model(**model.data_preprocessor(data, False), mode='predict')
    return seen


def build(config, **options):
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict(options)
    return MODELS.build(cfg.model), cfg


def test_visual_only_ablation_blanks_through_blank_inputs(spy):
    model, _ = build('configs/avslowfast_demo.py',
                     **{'model.blank_modalities': 'audios'})
    seen = seen_by_backbone(model, 64)
    assert spy[-1]['fills'] == {'audios': 'mean'}
    assert spy[-1]['data_preprocessor'] is model.data_preprocessor
    assert torch.all(seen['audios'] == 7.0)
    assert not torch.any(seen['imgs'] == 7.0)


def test_transfer_config_blanks_through_blank_inputs(spy, monkeypatch):
    """The demo transfer config: BlankAudio's placeholder is
    ``fill_value('silence')``; the model's input is blanked by
    ``blank_inputs`` with fill 'mean'."""
    model, cfg = build('configs/avslowfast_demo_avs_linear.py')
    seen = seen_by_backbone(model, 64)
    assert spy[-1]['fills'] == {'audios': 'mean'}
    assert torch.all(seen['audios'] == 7.0)
    # without the spy the model's audio is zeros of the normalised input
    monkeypatch.undo()
    seen = seen_by_backbone(model, 64)
    assert torch.all(seen['audios'] == 0)
    # BlankAudio writes fill_value of its fill
    values = []
    fill_value = mb.fill_value
    monkeypatch.setattr(
        mb, 'fill_value',
        lambda *a, **k: values.append(a) or fill_value(*a, **k) + 1)
    from mmaction.registry import TRANSFORMS
    step = [s for s in cfg.test_dataloader.dataset.pipeline
            if s.type == 'BlankAudio'][0]
    blank = TRANSFORMS.build(step)
    assert values == [('silence', 'audios')]
    out = blank(dict(num_clips=2))['audios']
    assert out.shape == (2, 1, 64, 80)
    assert np.all(out == np.float32(silence_value() + 1))
