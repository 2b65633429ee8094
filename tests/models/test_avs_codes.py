"""``AVSlowFast.avs_codes`` (audio-free visual codes for measuring
synchronisation) and the per-stage pair accuracy of the training forward's
AVS outputs."""
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from test_avslowfast_speed_paths import build_pair  # noqa: I100

torch.set_num_threads(1)


def inputs(seed=0, k=3):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 3, 16, 32, 32, generator=gen),
            torch.randn(2, k, 128, 80, generator=gen))


def test_codes_equal_the_training_path_and_contain_no_audio():
    model, _ = build_pair(drop_pathway=1.0)
    model.eval()
    imgs, audios = inputs()
    with torch.no_grad():
        codes = model.avs_codes(imgs, audios)
        other = model.avs_codes(imgs, torch.randn_like(audios))
    assert set(codes) == {'res3', 'res4', 'res5'}
    for name, (visual, audio) in codes.items():
        assert visual.shape == (2, 64) and audio.shape == (2, 3, 64)
        torch.testing.assert_close(visual.norm(dim=1), torch.full((2, ), .5))
        # no audio anywhere in the visual codes
        torch.testing.assert_close(visual, other[name][0])
        assert not torch.allclose(audio, other[name][1])
    # the training path (DropPathway dropped, BN fixed) judges the same codes
    model.train()
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
    captured = {}
    hooks = [head.register_forward_hook(
        lambda m, args, out, name=name: captured.__setitem__(name, args))
        for name, head in model.avs_heads.items()]
    with torch.no_grad():
        _, avs = model(imgs, audios[:, :2], return_avs=True)
    for h in hooks:
        h.remove()
    assert model.last_drop
    for name, (visual, pos, _, _) in captured.items():
        head = model.avs_heads[name]
        torch.testing.assert_close(head.visual_code(visual), codes[name][0])
        torch.testing.assert_close(head.audio_code(pos), codes[name][1][:, 0])
    stats = {k: v for k, v in avs.items() if not k.startswith('loss')}
    assert set(stats) == {'avs_pair_acc_res3', 'avs_pair_acc_res4',
                          'avs_pair_acc_res5'}
    assert all(0 <= float(v) <= 1 for v in stats.values())


def test_pair_accuracy_counts_closer_aligned_audio():
    model, _ = build_pair(drop_pathway=1.0)
    head = model.avs_heads['res3']
    visual = torch.randn(4, head.visual_fc.in_features, 1, 2, 2)
    pos = torch.randn(4, head.audio_fc.in_features, 3)
    neg = torch.randn(4, head.audio_fc.in_features, 3)
    v, p, n = head.embed(visual, pos, neg)
    expected = ((v - p).norm(dim=1) < (v - n).norm(dim=1)).float()
    valid = torch.tensor([True, True, False, True])
    _, accuracy = head(visual, pos, neg, valid)
    torch.testing.assert_close(accuracy, expected[valid].mean())
