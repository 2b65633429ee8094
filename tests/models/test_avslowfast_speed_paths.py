"""The redundant-work removals of the AVSlowFast backbone keep results equal:
shared test-time audio across views (``share_eval_audio``) and skipped
gated-off AVS branches in training (``skip_gated_avs``)."""
import copy

import pytest
import torch

import mmaction_avslowfast  # noqa: F401  (before mmaction.models)
from mmengine.registry import init_default_scope
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import MODELS

torch.set_num_threads(1)

SMALL = dict(
    type='AVSlowFast',
    slow_pathway=dict(type='resnet3d', depth=18, pretrained=None,
                      lateral=True, lateral_norm=True, base_channels=16,
                      conv1_kernel=(1, 7, 7), conv1_stride_t=1,
                      pool1_stride_t=1, inflate=(0, 0, 1, 1)),
    fast_pathway=dict(type='resnet3d', depth=18, pretrained=None,
                      lateral=False, base_channels=2, conv1_kernel=(5, 7, 7),
                      conv1_stride_t=1, pool1_stride_t=1),
    audio_fusion_interm=16, clip_len=16, audio_frames=128)


def build_pair(**kwargs):
    """Two backbones with the same weights and BN statistics, the speed
    path on (``a``) and off (``b``)."""
    init_default_scope('mmaction')
    gen = torch.Generator().manual_seed(0)
    cfg = dict(copy.deepcopy(SMALL), **kwargs)
    a = MODELS.build(dict(cfg, share_eval_audio=True, skip_gated_avs=True))
    a.init_weights()
    for m in a.modules():
        if isinstance(m, _BatchNorm):
            m.weight.data = 0.5 + torch.rand(m.weight.shape, generator=gen)
            m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=gen)
            m.running_mean.data = 0.1 * torch.randn(m.running_mean.shape,
                                                    generator=gen)
            m.running_var.data = 0.5 + torch.rand(m.running_var.shape,
                                                  generator=gen)
    b = MODELS.build(dict(cfg, share_eval_audio=False, skip_gated_avs=False))
    b.load_state_dict(a.state_dict())
    return a, b


def count_rows(module):
    rows = []
    handle = module.register_forward_hook(
        lambda m, args, out: rows.append(args[0].shape[0]))
    return rows, handle


@pytest.mark.parametrize('crops,clips', [(3, 2), (1, 2), (2, 1)])
def test_shared_eval_audio_gives_equal_outputs(crops, clips):
    """Views laid out crop-major as ``AlignAudioViews`` does
    (``view = crop * clips + clip``); every crop of a clip has its audio."""
    a, b = build_pair()
    a.eval(), b.eval()
    gen = torch.Generator().manual_seed(1)
    samples = 2
    imgs = torch.randn(samples * crops * clips, 3, 16, 32, 32, generator=gen)
    clip_audio = torch.randn(samples, clips, 1, 128, 80, generator=gen)
    audios = torch.cat([
        clip_audio[s, [v % clips for v in range(crops * clips)]]
        for s in range(samples)
    ])
    rows, handle = count_rows(a.audio_path)
    lat_rows, lat_handle = count_rows(a.audio_laterals['res3'])
    with torch.no_grad():
        out_a = a(imgs, audios)
        out_b = b(imgs, audios)
    handle.remove(), lat_handle.remove()
    assert rows == [samples * clips]  # once per distinct audio clip
    assert lat_rows == [samples * clips]
    for x, y in zip(out_a, out_b):
        assert x.shape == y.shape
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-5)
    # the visual features do depend on the audio (sharing is not a no-op)
    with torch.no_grad():
        other = a(imgs, torch.randn_like(audios))
    assert not torch.allclose(other[0], out_a[0])


def test_shared_eval_audio_only_in_eval():
    a, _ = build_pair(avs_stages=(False, ) * 5, drop_pathway=0.0)
    a.train()
    rows, handle = count_rows(a.audio_path)
    audio = torch.randn(1, 1, 128, 80)
    a(torch.randn(4, 3, 16, 32, 32), audio.expand(4, -1, -1, -1))
    handle.remove()
    assert rows == [4]  # BN batch statistics need every view in training


@pytest.mark.parametrize('drop', [0.0, 1.0])
def test_skipped_gated_avs_gives_equal_losses_and_gradients(drop):
    a, b = build_pair(drop_pathway=drop)
    a.train(), b.train()
    gen = torch.Generator().manual_seed(2)
    imgs = torch.randn(3, 3, 16, 32, 32, generator=gen)
    audios = torch.randn(3, 2, 128, 80, generator=gen)
    res5_calls, handle = count_rows(a.avs_fast_lateral_res5)
    outs = []
    for model in (a, b):
        out, avs = model(imgs, audios, return_avs=True)
        losses = {k: v for k, v in avs.items() if k.startswith('loss')}
        total = sum(o.pow(2).mean() for o in out) + sum(losses.values())
        total.backward()
        outs.append((out, losses))
    handle.remove()
    # fused iteration: the res5 branch is not computed; dropped: it is
    assert len(res5_calls) == (1 if drop else 0)
    (out_a, loss_a), (out_b, loss_b) = outs
    assert loss_a.keys() == loss_b.keys() == {
        'loss_avs_res3', 'loss_avs_res4', 'loss_avs_res5'}
    for key in loss_a:
        torch.testing.assert_close(loss_a[key], loss_b[key])
    if not drop:
        assert loss_a['loss_avs_res3'] > 0
        assert loss_a['loss_avs_res4'] == loss_a['loss_avs_res5'] == 0
    for x, y in zip(out_a, out_b):
        torch.testing.assert_close(x, y)
    grads_b = dict(b.named_parameters())
    for name, p in a.named_parameters():
        assert p.grad is not None, name  # DDP: every weight in the graph
        torch.testing.assert_close(p.grad, grads_b[name].grad,
                                   rtol=1e-4, atol=1e-6, msg=name)
