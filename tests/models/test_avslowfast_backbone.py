"""Tests of the AVSlowFast backbone (shapes, DropPathway, AVS, model zoo)."""
import copy

import pytest
import torch
import torch.nn as nn
from config_helpers import base_model, reference_backbone

import mmaction_avslowfast  # noqa: F401  (before mmaction.models)
from mmengine.registry import init_default_scope
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import MODELS
from mmaction_avslowfast.models.backbones import (AVSlowFast,
                                                  AVSNegativeCurriculum,
                                                  AVSyncHead,
                                                  drop_pathway_draw,
                                                  easy_negative_index,
                                                  valid_avs_pairs)

torch.set_num_threads(1)


def r50(variant='4x16', depth=50, **kwargs):
    """Reference setting of the released model (F->S, A->FS at res3, res4)."""
    return reference_backbone(variant, depth, **kwargs)


def model_zoo(**kwargs):
    """All four F->S laterals as in MMAction2's ResNet3dSlowFast."""
    cfg = r50(fs_fusion=(True, ) * 4)
    cfg['slow_pathway']['lateral_norm'] = False
    cfg.update(kwargs)
    return cfg


def small(**kwargs):
    """CPU variant: the demo model (R18, Slow width 16, 16-frame clips) at
    tau = alpha = beta_inv = 8 with 128 log-mel frames."""
    cfg = base_model('avslowfast_demo')['backbone']
    cfg.update(resample_rate=8, speed_ratio=8, channel_ratio=8,
               audio_frames=128)
    cfg['fast_pathway']['base_channels'] = 2
    cfg.update(kwargs)
    return cfg


def build(cfg):
    init_default_scope('mmaction')
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model


def randomise_norms(model):
    """Non-trivial BN affine/statistics (zero-init BNs would hide paths)."""
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.weight.data = 0.5 + torch.rand(m.weight.shape, generator=gen)
            m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=gen)
            m.running_var.data = 0.5 + torch.rand(
                m.running_var.shape, generator=gen)


def inputs(n=2, t=16, size=32, channels=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 3, t, size, size, generator=gen),
            torch.randn(n, channels, 128, 80, generator=gen))


@pytest.mark.parametrize('cfg,shapes', [
    (r50('4x16'), [(1, 2048, 4, 2, 2), (1, 256, 32, 2, 2),
                   (1, 1024, 16, 10)]),
    (r50('8x8'), [(1, 2048, 8, 2, 2), (1, 256, 32, 2, 2), (1, 1024, 16, 10)]),
])
def test_r50_output_shapes(cfg, shapes):
    model = build(cfg).eval()
    with torch.no_grad():
        out = model(*inputs(1, 32, 64, channels=1))
    assert [tuple(o.shape) for o in out] == shapes
    assert model.out_channels == (2048, 256, 1024)
    assert model.feat_dim == 3328


def test_ava_variant_output_stride_16():
    cfg = r50('4x16')
    cfg['slow_pathway']['spatial_strides'] = (1, 2, 2, 1)
    cfg['fast_pathway']['spatial_strides'] = (1, 2, 2, 1)
    model = build(cfg).eval()
    with torch.no_grad():
        out = model(*inputs(1, 32, 64, channels=2))
    assert tuple(out[0].shape) == (1, 2048, 4, 4, 4)
    assert tuple(out[1].shape) == (1, 256, 32, 4, 4)
    assert tuple(out[2].shape) == (1, 1024, 16, 10)


def test_audio_pathway_structure():
    audio = build(r50()).audio_path
    assert audio.stage_channels == [32, 128, 256, 512, 1024]
    # stem: parallel 9x1 and 1x9 convs, one BN on the sum, no pooling
    assert tuple(audio.conv1.conv_t.weight.shape) == (32, 1, 9, 1)
    assert tuple(audio.conv1.conv_f.weight.shape) == (32, 1, 1, 9)
    # res2/res3 time-frequency blocks without 1x1 reduction
    blk = audio.layer1[0]
    assert tuple(blk.conv_t.conv.weight.shape) == (32, 32, 3, 1)
    assert tuple(blk.conv_f.conv.weight.shape) == (32, 32, 1, 3)
    assert tuple(blk.conv_out.conv.weight.shape) == (128, 64, 1, 1)
    assert type(audio.layer2[0]).__name__ == 'TimeFreqBlock'
    # res4/res5 standard bottlenecks with 3x3 over time x frequency
    assert tuple(audio.layer3[0].conv2.conv.weight.shape) == (128, 128, 3, 3)
    feats = audio(torch.randn(1, 1, 128, 80))
    assert [tuple(f.shape[2:]) for f in feats] == [(128, 80), (128, 80),
                                                   (64, 40), (32, 20),
                                                   (16, 10)]
    assert build(r50(depth=101)).audio_path.layer3.__len__() == 23


def test_fusion_strides_land_on_slow_frames():
    m4x16, m8x8 = build(r50('4x16')), build(r50('8x8'))
    assert {k: v.stride for k, v in m4x16.audio_laterals.items()} == {
        'res3': 16, 'res4': 8, 'res5': 4}
    assert {k: v.stride for k, v in m8x8.audio_laterals.items()} == {
        'res3': 8, 'res4': 4, 'res5': 2}
    convs = m4x16.audio_laterals['res3'].convs
    assert tuple(convs[0].conv.weight.shape) == (64, 256, 5)
    assert tuple(convs[1].conv.weight.shape) == (640, 64, 5)
    assert tuple(m4x16.audio_laterals['res5'].convs[1].conv.weight.shape) == (
        2560, 64, 5)


def test_bad_lengths_fail_at_build_time():
    with pytest.raises(ValueError, match='audio_frames'):
        build(small(audio_frames=100, clip_len=32))
    with pytest.raises(ValueError, match='clip_len'):
        build(small(clip_len=12))
    model = build(small()).eval()
    with pytest.raises(ValueError, match='clip_len'):
        model(*inputs(1, 32, 32, channels=1))


def test_gradients_reach_audio_when_not_dropped():
    model = build(small(drop_pathway=0.0, avs_stages=(False, ) * 5))
    randomise_norms(model)
    model.train()
    out = model(*inputs(2, 16, 32, channels=1))
    out[0].sum().backward()  # Slow features only: audio reaches them via A->FS
    assert not model.last_drop
    for module in (model.audio_path.layer2, model.audio_laterals):
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0


def test_drop_pathway_one_keeps_graph_and_removes_audio_from_visual():
    model = build(small(drop_pathway=1.0, avs_stages=(False, ) * 5))
    randomise_norms(model)
    model.train()
    imgs, audios = inputs(2, 16, 32, channels=1)
    out_a = model(imgs, audios)
    assert model.last_drop
    out_b = model(imgs, torch.randn_like(audios))
    assert torch.equal(out_a[0], out_b[0]) and torch.equal(out_a[1], out_b[1])
    assert not torch.equal(out_a[2], out_b[2])  # audio still feeds the head
    sum(o.sum() for o in out_b).backward()
    # every parameter is in the graph (DDP find_unused_parameters=False)
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
    assert all(p.grad.abs().sum() == 0
               for p in model.audio_laterals.parameters())


def test_drop_pathway_zero_visual_depends_on_audio():
    model = build(small(drop_pathway=0.0, avs_stages=(False, ) * 5))
    randomise_norms(model)
    model.train()
    imgs, audios = inputs(2, 16, 32, channels=1)
    out_a = model(imgs, audios)
    out_b = model(imgs, torch.randn_like(audios))
    assert not torch.allclose(out_a[0], out_b[0])


def test_eval_never_drops_and_is_deterministic():
    model = build(small(drop_pathway=1.0))
    randomise_norms(model)
    model.eval()
    imgs, audios = inputs(2, 16, 32, channels=2)
    with torch.no_grad():
        out_a = model(imgs, audios)
        out_b = model(imgs, audios)
        out_c = model(imgs, torch.randn_like(audios))
        out_d = model(imgs, audios[:, :1])  # channel 1 is ignored at eval
        out_e, avs = model(imgs, audios, return_avs=True)
    assert all(torch.equal(a, b) for a, b in zip(out_a, out_b))
    assert all(torch.equal(a, d) for a, d in zip(out_a, out_d))
    assert all(torch.equal(a, e) for a, e in zip(out_a, out_e))
    assert not torch.allclose(out_a[0], out_c[0])  # audio fused at eval
    assert avs == {}
    assert model.drop_iteration == 0 and not model.last_drop


def test_drop_pathway_draw_is_pure_and_calibrated():
    draws = [drop_pathway_draw(0.8, 7, i) for i in range(3000)]
    assert draws == [drop_pathway_draw(0.8, 7, i) for i in range(3000)]
    assert abs(sum(draws) / len(draws) - 0.8) < 0.03
    assert draws != [drop_pathway_draw(0.8, 8, i) for i in range(3000)]
    assert not drop_pathway_draw(0.0, 7, 1) and drop_pathway_draw(1.0, 7, 1)

    model = build(small(drop_pathway=0.5, drop_seed=7))
    model.train()
    imgs, audios = inputs(1, 16, 32, channels=1)
    seen = []
    for it in range(6):
        model(imgs, audios)
        seen.append(model.last_drop)
    assert seen == [drop_pathway_draw(0.5, 7, i) for i in range(6)]
    model.set_drop_iteration(3, seed=11)
    model(imgs, audios)
    assert model.last_drop == drop_pathway_draw(0.5, 11, 3)
    assert model.drop_iteration == 4


def test_avs_losses_and_gating():
    imgs, audios = inputs(4, 16, 32, channels=2)
    dropped = build(small(drop_pathway=1.0))
    dropped.train()
    feats, avs = dropped(imgs, audios, return_avs=True)
    assert len(feats) == 3 and feats[0].shape[0] == 4
    losses = {k: v for k, v in avs.items() if k.startswith('loss')}
    assert set(losses) == {'loss_avs_res3', 'loss_avs_res4', 'loss_avs_res5'}
    assert all(v.dim() == 0 and v > 0 for v in losses.values())
    accs = {k: v for k, v in avs.items() if k not in losses}
    assert set(accs) == {'avs_pair_acc_res3', 'avs_pair_acc_res4',
                         'avs_pair_acc_res5'}
    assert all(v.dim() == 0 and not v.requires_grad and 0 <= v <= 1
               for v in accs.values())

    fused = build(small(drop_pathway=0.0, avs_loss_weight=2.0))
    fused.train()
    _, avs = fused(imgs, audios, return_avs=True)
    losses = {k: v for k, v in avs.items() if k.startswith('loss')}
    assert set(losses) == {'loss_avs_res3', 'loss_avs_res4', 'loss_avs_res5'}
    assert losses['loss_avs_res3'] > 0  # up to the first fused junction
    assert losses['loss_avs_res4'] == 0 and losses['loss_avs_res5'] == 0
    # gated-off stages are skipped: no pair accuracy for them
    assert set(avs) - set(losses) == {'avs_pair_acc_res3'}
    sum(losses.values()).backward()
    head = fused.avs_heads['res5']
    assert all(p.grad is not None for p in head.parameters())

    _, avs = fused(imgs, audios[:, :1], return_avs=True)  # no negative
    assert avs == {}


def test_avs_head_loss_formula():
    head = AVSyncHead(4, 4, proj_dim=3, margin=0.99)
    visual = torch.randn(3, 4, 1, 2, 2)
    pos, neg = torch.randn(3, 4, 2), torch.randn(3, 4, 2)
    valid = torch.tensor([True, False, True])
    v, p, n = head.embed(visual, pos, neg)
    assert torch.allclose(v.norm(dim=1), torch.full((3, ), 0.5))
    pos_t = ((v - p)**2).sum(1)
    neg_t = (0.99 - (v - n).norm(dim=1)).clamp(min=0)**2
    expected = (pos_t[[0, 2]].sum() + neg_t[[0, 2]].sum()) / 4
    loss, _ = head(visual, pos, neg, valid)
    assert torch.allclose(loss, expected)


def test_valid_pairs_mask_silence_and_duplicates():
    pos = torch.randn(3, 1, 128, 80)
    neg = torch.randn(3, 1, 128, 80)
    neg[1] = 0.0  # silent negative
    neg[2] = pos[2]  # duplicate
    assert valid_avs_pairs(pos, neg).tolist() == [True, False, False]


def test_easy_negative_curriculum():
    assert easy_negative_index(4, 0, 96, 0.75).tolist() == [1, 2, 3, 0]
    assert easy_negative_index(4, 96, 96, 0.75).tolist() == [1, 2, 0, 3]
    assert easy_negative_index(1, 100, 96, 0.75).tolist() == [0]
    curriculum = AVSNegativeCurriculum(easy_neg_ratio=0.75, mix_neg_epoch=2)
    for epoch, share, index in ((0, 1.0, [1, 2, 3, 0]),
                                (1, 1.0, [1, 2, 3, 0]),
                                (2, 0.75, [1, 2, 0, 3])):
        curriculum.set_epoch(epoch)
        assert curriculum.easy_share() == share
        assert curriculum.negative_index(4).tolist() == index
    for bad in (dict(easy_neg_ratio=1.5), dict(mix_neg_epoch=-1),
                dict(mix_neg_epoch=2.5)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            AVSNegativeCurriculum(**bad)
    with pytest.raises(ValueError, match='epoch'):
        curriculum.set_epoch(-1)


def warnings_of(run):
    """WARNING messages that ``run()`` logs to the current MMLogger."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        run()
    finally:
        logger.removeHandler(handler)
    return [r.getMessage() for r in records]


def test_curriculum_epoch_never_set_warns_once():
    """A model with AVS that trains without anyone setting the epoch stays
    at epoch 0 of the curriculum: it says so, once."""
    model = build(small(drop_pathway=1.0, mix_neg_epoch=0))
    model.train()
    imgs, audios = inputs(2, 16, 32, channels=2)

    def train_twice():
        for _ in range(2):
            model(imgs, audios, return_avs=True)

    warned = [w for w in warnings_of(train_twice) if 'curriculum' in w]
    assert len(warned) == 1
    assert 'AVSCurriculumHook' in warned[0] and 'epoch 0' in warned[0]
    assert model.avs_curriculum.epoch is None
    # set (as AVSCurriculumHook does): no warning; eval never warns
    fresh = build(small(drop_pathway=1.0))
    fresh.set_epoch(3)
    fresh.train()
    assert fresh.avs_curriculum.epoch == 3
    assert not any('curriculum' in w for w in warnings_of(
        lambda: fresh(imgs, audios, return_avs=True)))
    unset = build(small(drop_pathway=1.0)).eval()
    assert not any('curriculum' in w for w in warnings_of(
        lambda: unset(imgs, audios)))


def test_forward_returns_avs_only_when_asked_and_keeps_no_outputs():
    """Features are the same with and without ``return_avs``; AVS outputs
    computed but not asked for are discarded with one warning; no tensor of
    the forward is left on any module (nothing to read after the call)."""
    model = build(small(drop_pathway=0.0))
    randomise_norms(model)
    model.set_epoch(0)
    model.train()
    imgs, audios = inputs(2, 16, 32, channels=2)
    model.set_drop_iteration(0)
    feats, avs = model(imgs, audios, return_avs=True)
    assert 'loss_avs_res3' in avs
    outs = []

    def plain_twice():
        for _ in range(2):
            model.set_drop_iteration(0)
            outs.append(model(imgs, audios))

    warned = [w for w in warnings_of(plain_twice) if 'return_avs=True' in w]
    assert len(warned) == 1
    for plain in outs:
        assert isinstance(plain, tuple) and len(plain) == 3
        assert all(torch.equal(a, b) for a, b in zip(plain, feats))
    for name, module in model.named_modules():
        for attr, value in vars(module).items():
            if attr in ('_parameters', '_buffers', '_modules'):
                continue
            values = value.values() if isinstance(value, dict) else [value]
            assert not any(isinstance(v, torch.Tensor) for v in values), (
                f'{name}.{attr} keeps a tensor of the forward')


def test_avs_pairing_visual_i_uses_its_own_audio():
    """Catches the author's interleave/halves bug: sample i must be fused with
    its own aligned audio, and its AVS negative must be the one of the
    curriculum index (here epoch >= mix: [1, 2, 0, 3])."""
    model = build(small(drop_pathway=0.0, mix_neg_epoch=0))
    randomise_norms(model)
    model.train()
    for m in model.modules():  # per-sample computation, AVS path still on
        if isinstance(m, _BatchNorm):
            m.eval()
    captured = {}

    def capture(name):

        def hook(module, args, output):
            captured[name] = args

        return hook

    handle = model.avs_heads['res3'].register_forward_hook(capture('res3'))
    imgs, audios = inputs(4, 16, 32, channels=2, seed=3)
    with torch.no_grad():
        batch_out = model(imgs, audios)
    handle.remove()
    _, pos, neg, _ = captured['res3']
    lateral = model.audio_laterals['res3']
    neg_index = [1, 2, 0, 3]
    model.eval()
    with torch.no_grad():
        for i in range(4):
            single = model(imgs[i:i + 1], audios[i:i + 1, :1])
            assert torch.allclose(
                batch_out[0][i], single[0][0], rtol=1e-4, atol=1e-4)
            assert torch.allclose(
                batch_out[2][i], single[2][0], rtol=1e-4, atol=1e-4)
            own = lateral(model.audio_path(audios[i:i + 1, :1])[2])
            other = lateral(
                model.audio_path(audios[neg_index[i]:neg_index[i] + 1,
                                        1:])[2])
            assert torch.allclose(pos[i], own[0], rtol=1e-4, atol=1e-4)
            assert torch.allclose(neg[i], other[0], rtol=1e-4, atol=1e-4)


def test_model_zoo_slowfast_state_dict_loads_into_visual_part():
    init_default_scope('mmaction')
    slowfast = MODELS.build(dict(type='ResNet3dSlowFast'))
    slowfast.init_weights()
    randomise_norms(slowfast)
    model = build(model_zoo())
    report = model.load_visual_state_dict(
        {f'backbone.{k}': v
         for k, v in slowfast.state_dict().items()})
    visual = [
        k for k in model.state_dict()
        if k.startswith(('slow_path.', 'fast_path.'))
    ]
    assert report['unexpected'] == [] and report['mismatched'] == []
    assert not any(k in report['missing'] for k in visual)
    assert sorted(report['loaded']) == sorted(visual)
    assert set(report['missing']) == {
        k
        for k in model.state_dict()
        if k.startswith(('audio_path.', 'audio_laterals.', 'avs_heads.',
                         'avs_fast_lateral_res5.'))
    }
    # zero the A->FS additions: the visual outputs equal stock SlowFast
    for lateral in model.audio_laterals.values():
        nn.init.zeros_(lateral.convs[-1].bn.weight)
        nn.init.zeros_(lateral.convs[-1].bn.bias)
    slowfast.eval()
    model.eval()
    imgs, audios = inputs(1, 32, 32, channels=1)
    with torch.no_grad():
        ref = slowfast(imgs)
        out = model(imgs, audios)
    assert torch.allclose(out[0], ref[0], rtol=1e-4, atol=1e-4)
    assert torch.allclose(out[1], ref[1], rtol=1e-4, atol=1e-4)


def test_pretrained_checkpoint_is_loaded_by_init_weights(tmp_path):
    init_default_scope('mmaction')
    slowfast = MODELS.build(dict(type='ResNet3dSlowFast'))
    slowfast.init_weights()
    path = str(tmp_path / 'slowfast.pth')
    torch.save(
        dict(state_dict={
            f'backbone.{k}': v
            for k, v in slowfast.state_dict().items()
        }), path)
    model = build(model_zoo(pretrained=path))
    assert model.pretrained_report['unexpected'] == []
    key = 'slow_path.layer3.0.conv1.conv.weight'
    assert torch.equal(model.state_dict()[key], slowfast.state_dict()[key])


@pytest.mark.parametrize('cfg,ref_m', [
    (r50('4x16'), 44.20),
    (r50('8x8'), 44.55),
    (r50('4x16', depth=101), 68.26),
    (r50('8x8', depth=101), 68.60),
])
def test_params_match_reference(cfg, ref_m):
    init_default_scope('mmaction')
    model = MODELS.build(cfg)
    head = nn.Linear(model.feat_dim, 400)
    params = sum(p.numel() for p in model.parameters()) + sum(
        p.numel() for p in head.parameters())
    assert abs(params / 1e6 / ref_m - 1) < 0.005


def test_small_variant_is_small():
    model = build(small())
    assert isinstance(model, AVSlowFast)
    assert sum(p.numel() for p in model.parameters()) < 3e6
    assert model.out_channels == (128, 16, 64)
    assert model.audio_path.base_channels == 8


def _bn_stats(model):
    return {n: b.clone() for n, b in model.named_buffers()
            if 'running' in n}


def test_frozen_backbone_does_not_change_in_training():
    """``frozen``: all three pathways, the laterals and the AVS heads keep
    their weights and BN statistics through a training step; the output is
    the eval-mode output (no DropPathway, no AVS)."""
    model = build(small(frozen=True, drop_pathway=1.0))
    randomise_norms(model)
    model.train()
    assert not model.training
    assert not any(m.training for m in model.modules())
    assert not any(p.requires_grad for p in model.parameters())
    for name in ('slow_path', 'fast_path', 'audio_path', 'audio_laterals',
                 'avs_heads', 'avs_fast_lateral_res5'):
        assert sum(p.numel() for p in getattr(model, name).parameters()) > 0
    params = {n: p.clone() for n, p in model.named_parameters()}
    stats = _bn_stats(model)
    imgs, audios = inputs(2, 16, 32, channels=2)
    out, avs = model(imgs, audios, return_avs=True)
    assert avs == {} and not model.last_drop
    # a head on top trains; the backbone gets no gradient
    head = nn.Linear(model.feat_dim, 3)
    feats = torch.cat([o.flatten(2).mean(2) for o in out], dim=1)
    head(feats).sum().backward()
    assert head.weight.grad is not None
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(p, params[n]) for n, p in model.named_parameters())
    assert all(torch.equal(b, stats[n]) for n, b in model.named_buffers()
               if n in stats)
    with torch.no_grad():
        ref = model.eval()(imgs, audios)
    assert all(torch.equal(a, b) for a, b in zip(out, ref))


def test_norm_eval_keeps_bn_statistics_but_trains_weights():
    model = build(small(norm_eval=True, drop_pathway=0.0))
    randomise_norms(model)
    model.train()
    assert model.training
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    assert all(p.requires_grad for p in model.parameters())
    stats = _bn_stats(model)
    out, avs = model(*inputs(2, 16, 32, channels=2), return_avs=True)
    (sum(o.sum() for o in out) +
     sum(v for k, v in avs.items() if k.startswith('loss'))).backward()
    assert all(torch.equal(b, stats[n]) for n, b in model.named_buffers()
               if n in stats)
    grads = [p.grad for p in model.audio_path.parameters()]
    assert all(g is not None for g in grads)
    # switching back and forth keeps the rule
    model.eval()
    model.train()
    assert not any(m.training for m in bns)
    plain = build(small())
    plain.train()
    assert all(m.training for m in plain.modules()
               if isinstance(m, _BatchNorm))
