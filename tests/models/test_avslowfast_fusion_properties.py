"""Properties of the AVSlowFast audio fusion that the other backbone tests do
not pin down:

- no leak: the visual code each AVS head judges is the Slow tensor before
  that junction's audio is added (supervised training with fusion on, and
  pre-training with fusion off, where every stage's AVS loss is live);
- DropPathway adds a kept A->FS lateral unscaled (no ``1 / (1 - p)``) and a
  dropped one as zeros;
- audio time runs the same way as Slow time through the A->FS lateral.

Observed with hooks on the modules of an unmodified backbone; expectations
never go through the lateral module itself.
"""
import pytest
import torch
# the small CPU backbone and its inputs, shared with the other backbone tests
from test_avslowfast_backbone import build, inputs, randomise_norms, small

import mmaction_avslowfast  # noqa: F401  (registers the backbone)
from mmaction_avslowfast.models.backbones import drop_pathway_draw

torch.set_num_threads(1)

AVS_STAGES = ('res3', 'res4', 'res5')


class Tap:
    """Records module inputs (``pre``) or outputs (``out``) by name."""

    def __init__(self):
        self.seen = {}
        self.handles = []

    def pre(self, module, name, first=False):
        def hook(_, args):
            args = tuple(a.detach().clone() for a in args)
            self.seen[name] = args[0] if first else args
        self.handles.append(module.register_forward_pre_hook(hook))

    def out(self, module, name):
        def hook(_, args, output):
            self.seen[name] = output.detach().clone()
        self.handles.append(module.register_forward_hook(hook))

    def close(self):
        for handle in self.handles:
            handle.remove()


def tap_junctions(model, tap):
    """Slow before the audio add (Slow stage output ++ F->S lateral output),
    Slow after it (input of the next res layer) and A->FS outputs at res3
    (junction 2, then ``layer3``) and res4 (junction 3, then ``layer4``)."""
    for j, stage in ((2, 'res3'), (3, 'res4')):
        tap.out(getattr(model.slow_path, f'layer{j}'), f'slow_out_{stage}')
        tap.out(model._lateral(j), f'fs_{stage}')
        tap.pre(getattr(model.slow_path, f'layer{j + 1}'), f'after_{stage}',
                first=True)
        tap.out(model.audio_laterals[stage], f'afs_{stage}')
    tap.out(model.slow_path.layer4, 'slow_out_res5')
    for stage, head in model.avs_heads.items():
        tap.pre(head, f'head_{stage}')


def before_add(seen, stage):
    return torch.cat((seen[f'slow_out_{stage}'], seen[f'fs_{stage}']), dim=1)


def train_forward(model, imgs, audios):
    tap = Tap()
    tap_junctions(model, tap)
    try:
        _, avs = model(imgs, audios, return_avs=True)
    finally:
        tap.close()
    return tap.seen, {k: float(v) for k, v in avs.items()
                      if k.startswith('loss')}


# --------------------------------------------------------------- no leak
@pytest.mark.parametrize('skip_gated_avs', [True, False])
def test_avs_visual_code_has_no_audio_supervised(skip_gated_avs):
    """Fusion on (drop 0): the res3 head judges Slow before res3's audio is
    added; res4/res5, whose code contains audio, are gated to 0."""
    model = build(small(drop_pathway=0.0, skip_gated_avs=skip_gated_avs))
    randomise_norms(model)
    model.train()
    imgs, audios = inputs()
    seen, losses = train_forward(model, imgs, audios)
    assert model.last_drop is False

    visual = seen['head_res3'][0]
    pre = before_add(seen, 'res3')
    after = seen['after_res3']
    torch.testing.assert_close(visual, pre, rtol=0, atol=0)
    # the addition is real here: a head given the tensor after it would see
    # the audio (so this test catches that leak)
    assert (after - pre).abs().max() > 1e-2
    lateral = seen['afs_res3'][:2, :, :, None, None].expand_as(pre)
    torch.testing.assert_close(after - pre, lateral, rtol=1e-5, atol=1e-5)

    # the judged code does not depend on the audio at all
    seen2, _ = train_forward(model, imgs, audios.flip(2))
    torch.testing.assert_close(seen2['head_res3'][0], visual, rtol=0, atol=0)
    assert not torch.allclose(seen2['after_res3'], after)
    assert not torch.allclose(seen2['head_res3'][1], seen['head_res3'][1])

    # gating: every stage after the first fused junction (res3) is 0
    assert set(losses) == {f'loss_avs_{s}' for s in AVS_STAGES}
    assert losses['loss_avs_res3'] > 1e-3
    assert losses['loss_avs_res4'] == 0.0
    assert losses['loss_avs_res5'] == 0.0
    if skip_gated_avs:
        assert 'head_res4' not in seen and 'head_res5' not in seen
    else:  # computed on audio-carrying codes, multiplied by 0
        assert 'head_res4' in seen and 'head_res5' in seen


def test_avs_visual_code_has_no_audio_pretraining():
    """Fusion off (drop 1.0, the pre-training recipe): all three stage
    losses are live and no head's visual code contains audio."""
    model = build(small(drop_pathway=1.0))
    randomise_norms(model)
    model.train()
    imgs, audios = inputs()
    seen, losses = train_forward(model, imgs, audios)
    assert model.last_drop is True
    for stage in AVS_STAGES:
        assert losses[f'loss_avs_{stage}'] > 1e-3, stage
    torch.testing.assert_close(seen['head_res3'][0], before_add(seen, 'res3'),
                               rtol=0, atol=0)
    torch.testing.assert_close(seen['head_res4'][0], before_add(seen, 'res4'),
                               rtol=0, atol=0)
    slow_ch = seen['slow_out_res5'].shape[1]
    torch.testing.assert_close(seen['head_res5'][0][:, :slow_ch],
                               seen['slow_out_res5'], rtol=0, atol=0)

    # other audio (aligned and negative): every visual code is unchanged
    # while the audio codes the heads compare it with change
    seen2, _ = train_forward(model, imgs, audios.flip(2))
    for stage in AVS_STAGES:
        torch.testing.assert_close(seen2[f'head_{stage}'][0],
                                   seen[f'head_{stage}'][0], rtol=0, atol=0,
                                   msg=f'audio leaks into the {stage} code')
        assert not torch.allclose(seen2[f'head_{stage}'][1],
                                  seen[f'head_{stage}'][1]), stage


# ------------------------------------------------------- unscaled lateral
def draws(p, seed, want, start=0):
    """First iteration from ``start`` whose DropPathway draw is ``want``."""
    it = start
    while drop_pathway_draw(p, seed, it) != want:
        it += 1
    return it


@pytest.mark.parametrize('p', [0.3, 0.5])
def test_kept_lateral_unscaled_dropped_lateral_zero(p):
    model = build(small(drop_pathway=p, avs_stages=(False, ) * 5))
    randomise_norms(model)
    model.train()
    imgs, audios = inputs(channels=1)
    seed = 7
    for k, dropped in enumerate((False, True, False, True)):
        it = draws(p, seed, dropped, start=20 * k)
        model.set_drop_iteration(it, seed)
        seen, _ = train_forward(model, imgs, audios)
        assert model.last_drop is dropped
        for stage in ('res3', 'res4'):
            pre, after = before_add(seen, stage), seen[f'after_{stage}']
            lateral = seen[f'afs_{stage}'][..., None, None]
            assert lateral.abs().max() > 1e-2  # something to add or drop
            expected = pre if dropped else pre + lateral
            torch.testing.assert_close(
                after, expected, rtol=1e-6, atol=1e-6,
                msg=f'{stage}, dropped={dropped}, p={p}')


# ------------------------------------------------------ audio time order
def test_audio_time_runs_with_slow_time():
    """Eval, 8 Slow frames at res3: changing the first (second) half of the
    audio changes the early (late) Slow frames entering res4's ``layer3``."""
    cfg = small(clip_len=32, resample_rate=4, speed_ratio=4,
                avs_stages=(False, ) * 5)
    model = build(cfg)
    randomise_norms(model)
    model.eval()
    gen = torch.Generator().manual_seed(3)
    imgs = torch.randn(1, 3, 32, 32, 32, generator=gen).expand(3, -1, -1,
                                                               -1, -1)
    base = torch.randn(1, 1, 128, 80, generator=gen)
    first, second = base.clone(), base.clone()
    first[:, :, :64] = torch.randn(1, 1, 64, 80, generator=gen)
    second[:, :, 64:] = torch.randn(1, 1, 64, 80, generator=gen)
    tap = Tap()
    tap.pre(model.slow_path.layer3, 'after_res3', first=True)
    try:
        with torch.no_grad():
            model(imgs, torch.cat((base, first, second)))
    finally:
        tap.close()
    slow = tap.seen['after_res3']  # [3, C, 8, h, w]
    assert slow.shape[2] == 8
    # per Slow frame: mean |change|
    d_first = (slow[1] - slow[0]).abs().mean(dim=(0, 2, 3))
    d_second = (slow[2] - slow[0]).abs().mean(dim=(0, 2, 3))
    early, late = slice(0, 3), slice(5, 8)
    assert d_first[early].min() > 4 * d_first[late].max(), d_first
    assert d_second[late].min() > 4 * d_second[early].max(), d_second
