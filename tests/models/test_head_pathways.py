"""``AVSlowFastHead(pathways=...)``: only the selected backbone outputs are
pooled (visual-only transfer heads)."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import pytest
import torch
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS


def build_head(**kwargs):
    init_default_scope('mmaction')
    cfg = dict(type='AVSlowFastHead', num_classes=5, dropout_ratio=0)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def features(n=2):
    return (torch.randn(n, 48, 2, 3, 3), torch.randn(n, 8, 8, 3, 3),
            torch.randn(n, 16, 4, 2))


def test_visual_pathways_only_pool_slow_and_fast():
    head = build_head(in_channels=48 + 8, pathways=(0, 1))
    x_slow, x_fast, x_audio = features()
    expected = torch.cat(
        [x_slow.mean(dim=(2, 3, 4)), x_fast.mean(dim=(2, 3, 4))],
        dim=1) @ head.fc_cls.weight.T + head.fc_cls.bias
    out = head((x_slow, x_fast, x_audio))
    torch.testing.assert_close(out, expected)
    # The audio feature does not reach the scores at all.
    torch.testing.assert_close(head((x_slow, x_fast, 100 + x_audio)), out)


def test_pathway_order_is_the_given_order():
    head = build_head(in_channels=16 + 48, pathways=(2, 0))
    x_slow, x_fast, x_audio = features()
    expected = torch.cat(
        [x_audio.mean(dim=(2, 3)), x_slow.mean(dim=(2, 3, 4))],
        dim=1) @ head.fc_cls.weight.T + head.fc_cls.bias
    torch.testing.assert_close(head((x_slow, x_fast, x_audio)), expected)


def test_default_uses_all_pathways():
    head = build_head(in_channels=48 + 8 + 16)
    assert head.pathways is None
    assert head(features()).shape == (2, 5)


def test_in_channels_checked_against_selected_pathways():
    head = build_head(in_channels=48 + 8 + 16, pathways=(0, 1))
    with pytest.raises(ValueError, match='cls_head.in_channels to 56'):
        head(features())


@pytest.mark.parametrize('pathways', [(), (0, 0)])
def test_bad_pathways_rejected(pathways):
    with pytest.raises(ValueError, match='distinct indices'):
        build_head(in_channels=8, pathways=pathways)


def test_out_of_range_pathway_names_the_count():
    head = build_head(in_channels=48, pathways=(0, 3))
    with pytest.raises(IndexError, match='returned 3 features'):
        head(features())
