"""AVSPretrainer: AVS losses only, fusion off, no audio leak into the
visual codes, predict distances = those of ``backbone.avs_codes``."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmaction_avslowfast  # noqa: F401
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'avslowfast_demo_avs_pretrain.py')
STAGES = ('res3', 'res4', 'res5')


def build(**overrides):
    cfg = Config.fromfile(CONFIG).model
    # fusion always on as configured: AVSPretrainer must turn it off itself
    cfg.backbone.drop_pathway = 0.0
    cfg.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(n=4, views=1, channels=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randn(n, views, 3, 16, 32, 32, generator=g)
    audios = torch.randn(n, views, channels, 64, 80, generator=g)
    return dict(imgs=imgs, audios=audios)


@pytest.fixture(scope='module')
def model():
    return build()


def test_losses_only_avs_and_gradients_reach_backbone(model):
    model.train()
    model.zero_grad()
    losses = model(batch(), mode='loss')
    assert set(losses) == {f'loss_avs_{s}' for s in STAGES} | {
        f'avs_pair_acc_{s}' for s in STAGES}
    assert not any('cls' in k for k in losses)
    assert not hasattr(model, 'cls_head')
    for s in STAGES:
        acc = losses[f'avs_pair_acc_{s}']
        assert not acc.requires_grad and 0.0 <= float(acc) <= 1.0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    named = dict(model.named_parameters())
    assert all(name.startswith('backbone.') for name in named)
    moved = {n for n, p in named.items()
             if p.grad is not None and p.grad.abs().sum() > 0}
    # every part of the AVS graph gets a gradient: the three pathways, the
    # F->S laterals, the A->FS convs (audio codes) and the AVS heads
    for part in ('slow_path.conv1', 'slow_path.layer4', 'fast_path.conv1',
                 'fast_path.layer4', 'audio_path', 'audio_laterals.res3',
                 'audio_laterals.res4', 'audio_laterals.res5',
                 'avs_heads.res3', 'avs_heads.res4', 'avs_heads.res5',
                 'avs_fast_lateral_res5', 'slow_path.layer2_lateral'):
        assert any(n.startswith(f'backbone.{part}') for n in moved), part


def test_audio_without_negative_is_refused(model):
    model.train()
    with pytest.raises(ValueError, match='2 channels'):
        model(batch(channels=1), mode='loss')


def test_fusion_off_keeps_every_stage_loss_live():
    model = build()
    assert model.backbone.drop_pathway == 1.0
    model.train()
    for it in range(3):
        model.backbone.set_drop_iteration(it)
        losses = model(batch(seed=it), mode='loss')
        assert model.backbone.last_drop
        for s in STAGES:
            assert float(losses[f'loss_avs_{s}']) > 0, (it, s)
            assert f'avs_pair_acc_{s}' in losses
    # a hook that turns fusion back on is refused, not silently used
    model.backbone.drop_pathway = 0.8
    with pytest.raises(RuntimeError, match='drop_pathway is 0.8'):
        model(batch(), mode='loss')
    # the reason for turning fusion off: fused audio gates the later
    # stages' losses to zero
    fused = build(fuse_audio=True)
    fused.backbone.drop_pathway = 0.0
    fused.train()
    losses = fused(batch(), mode='loss')
    assert float(losses['loss_avs_res3']) > 0
    assert float(losses['loss_avs_res4']) == 0
    assert float(losses['loss_avs_res5']) == 0


def capture_visuals(model, inputs):
    """The visual tensor each AVS head receives in a training forward."""
    seen, handles = {}, []
    for name, head in model.backbone.avs_heads.items():
        handles.append(head.register_forward_hook(
            lambda mod, args, out, name=name: seen.__setitem__(
                name, args[0].detach().clone())))
    try:
        model.backbone.set_drop_iteration(0)
        model(inputs, mode='loss')
    finally:
        for h in handles:
            h.remove()
    return seen


def test_no_leak_visual_inputs_of_avs_heads_ignore_audio(model):
    model.train()
    one, two = batch(seed=1), batch(seed=2)
    two['imgs'] = one['imgs']  # same video, other audio
    a, b = capture_visuals(model, one), capture_visuals(model, two)
    assert set(a) == set(STAGES)
    for s in STAGES:
        assert torch.equal(a[s], b[s]), s
    # sanity: with fusion on, audio reaches the visual codes after res3
    fused = build(fuse_audio=True)
    fused.backbone.drop_pathway = 0.0
    fused.backbone.skip_gated_avs = False  # run the gated heads too
    fused.train()
    a, b = capture_visuals(fused, one), capture_visuals(fused, two)
    assert torch.equal(a['res3'], b['res3'])
    assert not torch.allclose(a['res4'], b['res4'])


def test_predict_distances_match_avs_codes(model):
    model.eval()
    inputs = batch(n=2, views=2, channels=3, seed=3)
    samples = [ActionDataSample() for _ in range(2)]
    out = model(inputs, samples, mode='predict')
    codes = model.backbone.avs_codes(inputs['imgs'].flatten(0, 1),
                                     inputs['audios'].flatten(0, 1))
    for i, sample in enumerate(out):
        assert sample.avs_stages == list(STAGES)
        assert sample.avs_distances.shape == (3, 3)
        for s, stage in enumerate(STAGES):
            visual, audio = codes[stage]
            by_hand = torch.stack([
                (visual[i * 2 + v] - audio[i * 2 + v]).norm(dim=-1)
                for v in range(2)
            ]).mean(dim=0)
            torch.testing.assert_close(sample.avs_distances[s], by_hand)
    # eval codes carry no audio either: other audio, same visual codes
    other = dict(inputs, audios=torch.randn_like(inputs['audios']))
    codes2 = model.backbone.avs_codes(other['imgs'].flatten(0, 1),
                                      other['audios'].flatten(0, 1))
    for stage in STAGES:
        assert torch.equal(codes[stage][0], codes2[stage][0])
    with pytest.raises(ValueError, match='3 audio channels'):
        model(batch(n=2, channels=2), samples, mode='predict')


def test_tensor_mode_returns_backbone_features(model):
    model.eval()
    x_slow, x_fast, x_audio = model(batch(n=2, views=1, channels=1),
                                    mode='tensor')
    assert x_slow.shape[:2] == (2, 128) and x_fast.shape[:2] == (2, 32)
    assert x_audio.shape[:2] == (2, 64)


def test_batch_without_a_valid_pair_logs_no_nan_accuracy(model):
    """Silent audio leaves no valid (aligned, negative) pair: the losses
    stay finite and the undefined pair accuracies are left out of the log
    (a NaN would spoil its moving average), as in AVRecognizer3D."""
    model.train()
    inputs = batch()
    inputs['audios'] = torch.zeros_like(inputs['audios'])
    losses = model(inputs, mode='loss')
    assert set(losses) == {f'loss_avs_{s}' for s in STAGES}
    assert all(bool(torch.isfinite(v)) for v in losses.values())
