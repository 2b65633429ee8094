import mmaction_avslowfast  # noqa: F401, isort: skip

import pytest
import torch
from mmaction.structures import ActionDataSample

from head_helpers import IN_CHANNELS, features
import head_helpers


def build_head(**kwargs):
    kwargs = dict(dict(num_classes=5, in_channels=IN_CHANNELS), **kwargs)
    return head_helpers.build_head('AVSlowFastHead', **kwargs)


def test_r50_defaults_match_reference():
    head = build_head(num_classes=400, in_channels=3328)
    assert head.fc_cls.in_features == 2048 + 256 + 1024
    assert head.dropout.p == 0.5
    assert head.fc_cls.bias.abs().max() == 0
    assert 0.008 < head.fc_cls.weight.std().item() < 0.012


def test_forward_pools_and_concatenates_in_pathway_order():
    head = build_head(dropout_ratio=0)
    x_slow, x_fast, x_audio = features()
    expected = torch.cat([
        x_slow.mean(dim=(2, 3, 4)), x_fast.mean(dim=(2, 3, 4)),
        x_audio.mean(dim=(2, 3))
    ], dim=1) @ head.fc_cls.weight.T + head.fc_cls.bias
    torch.testing.assert_close(head((x_slow, x_fast, x_audio)), expected)


def test_channel_mismatch_names_the_config_key():
    head = build_head(in_channels=10)
    with pytest.raises(ValueError, match='cls_head.in_channels to 72'):
        head(features())


def test_loss_single_label():
    head = build_head()
    samples = [ActionDataSample().set_gt_label(i) for i in (1, 3)]
    losses = head.loss(features(), samples)
    assert set(losses) >= {'loss_cls', 'top1_acc'}
    assert losses['loss_cls'] > 0


def test_predict_averages_views_as_probabilities():
    head = build_head(average_clips='prob', dropout_ratio=0).eval()
    feats = features(n=2 * 3)  # 2 samples x 3 views
    samples = [ActionDataSample() for _ in range(2)]
    out = head.predict(feats, samples)
    probs = head(feats).softmax(dim=1).view(2, 3, -1).mean(dim=1)
    torch.testing.assert_close(out[0].pred_score, probs[0])
    assert out[1].pred_label.item() == probs[1].argmax().item()


def test_multi_label_uses_bce_and_sigmoid_average():
    head = build_head(
        multi_class=True,
        loss_cls=dict(type='BCELossWithLogits'),
        average_clips='prob',
        dropout_ratio=0)
    target = torch.tensor([0., 1., 0., 1., 1.])
    samples = [ActionDataSample().set_gt_label(target) for _ in range(2)]
    losses = head.loss(features(), samples)
    assert 'top1_acc' not in losses  # multi-hot targets: no top-k
    assert losses['loss_cls'] > 0
    head.eval()
    feats = features(n=2 * 2)
    out = head.predict(feats, [ActionDataSample() for _ in range(2)])
    expected = head(feats).sigmoid().view(2, 2, -1).mean(dim=1)
    torch.testing.assert_close(out[0].pred_score, expected[0])


# AVSlowFastHead(pathways=...): only the selected backbone outputs are pooled
# (visual-only transfer heads).
def test_visual_pathways_only_pool_slow_and_fast():
    head = build_head(dropout_ratio=0, in_channels=48 + 8, pathways=(0, 1))
    x_slow, x_fast, x_audio = features()
    expected = torch.cat(
        [x_slow.mean(dim=(2, 3, 4)), x_fast.mean(dim=(2, 3, 4))],
        dim=1) @ head.fc_cls.weight.T + head.fc_cls.bias
    out = head((x_slow, x_fast, x_audio))
    torch.testing.assert_close(out, expected)
    # The audio feature does not reach the scores at all.
    torch.testing.assert_close(head((x_slow, x_fast, 100 + x_audio)), out)


def test_pathway_order_is_the_given_order():
    head = build_head(dropout_ratio=0, in_channels=16 + 48, pathways=(2, 0))
    x_slow, x_fast, x_audio = features()
    expected = torch.cat(
        [x_audio.mean(dim=(2, 3)), x_slow.mean(dim=(2, 3, 4))],
        dim=1) @ head.fc_cls.weight.T + head.fc_cls.bias
    torch.testing.assert_close(head((x_slow, x_fast, x_audio)), expected)


def test_default_uses_all_pathways():
    head = build_head(dropout_ratio=0, in_channels=48 + 8 + 16)
    assert head.pathways is None
    assert head(features()).shape == (2, 5)


def test_in_channels_checked_against_selected_pathways():
    head = build_head(dropout_ratio=0, in_channels=48 + 8 + 16,
                      pathways=(0, 1))
    with pytest.raises(ValueError, match='cls_head.in_channels to 56'):
        head(features())


@pytest.mark.parametrize('pathways', [(), (0, 0)])
def test_bad_pathways_rejected(pathways):
    with pytest.raises(ValueError, match='distinct indices'):
        build_head(dropout_ratio=0, in_channels=8, pathways=pathways)


def test_out_of_range_pathway_names_the_count():
    head = build_head(dropout_ratio=0, in_channels=48, pathways=(0, 3))
    with pytest.raises(IndexError, match='returned 3 features'):
        head(features())
