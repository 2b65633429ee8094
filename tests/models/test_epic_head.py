"""EpicKitchensHead: two classifiers on the fused pathway features."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import math

import pytest
import torch
from mmaction.structures import ActionDataSample

import head_helpers
from head_helpers import IN_CHANNELS, features

def build_head(**kwargs):
    kwargs = dict(
        dict(in_channels=IN_CHANNELS, num_classes=(4, 6), dropout_ratio=0),
        **kwargs)
    return head_helpers.build_head('EpicKitchensHead', **kwargs)


def samples(labels):
    out = []
    for verb, noun in labels:
        sample = ActionDataSample().set_gt_label(verb)
        sample.set_field(torch.LongTensor([noun]), 'noun_label')
        out.append(sample)
    return out


def cross_entropy_by_hand(scores, labels):
    """Mean over rows of -log softmax(row)[label], in plain Python."""
    total = 0.0
    for row, label in zip(scores.tolist(), labels):
        total += math.log(sum(math.exp(s) for s in row)) - row[label]
    return total / len(labels)


def test_epic100_defaults():
    head = head_helpers.build_head('EpicKitchensHead', in_channels=3328)
    assert head.num_classes == (97, 300)
    assert (head.fc_verb.in_features, head.fc_verb.out_features) == (3328,
                                                                     97)
    assert (head.fc_noun.in_features, head.fc_noun.out_features) == (3328,
                                                                     300)
    assert head.loss_weights == (0.5, 0.5)
    assert head.average_clips == 'prob'
    assert head.dropout.p == 0.5
    for fc in (head.fc_verb, head.fc_noun):
        assert fc.bias.abs().max() == 0
        assert 0.008 < fc.weight.std().item() < 0.012
    # Only the two classifiers carry parameters.
    assert sorted(name for name, _ in head.named_parameters()) == [
        'fc_noun.bias', 'fc_noun.weight', 'fc_verb.bias', 'fc_verb.weight'
    ]


def test_forward_scores_both_tasks_from_the_pooled_features():
    head = build_head()
    x_slow, x_fast, x_audio = features()
    fused = torch.cat([
        x_slow.mean(dim=(2, 3, 4)), x_fast.mean(dim=(2, 3, 4)),
        x_audio.mean(dim=(2, 3))
    ], dim=1)
    verb, noun = head((x_slow, x_fast, x_audio))
    torch.testing.assert_close(
        verb, fused @ head.fc_verb.weight.T + head.fc_verb.bias)
    torch.testing.assert_close(
        noun, fused @ head.fc_noun.weight.T + head.fc_noun.bias)


def test_channel_mismatch_names_the_config_key():
    head = build_head(in_channels=10)
    with pytest.raises(ValueError, match='cls_head.in_channels to 72'):
        head(features())


@pytest.mark.parametrize('weights', [(0.5, 0.5), (0.2, 0.8)])
def test_loss_is_the_weighted_sum_of_the_two_cross_entropies(weights):
    head = build_head(loss_weights=weights)
    verb_scores = torch.tensor([[2.0, 0.0, -1.0, 0.5], [0.1, 0.2, 3.0, 0.0]])
    noun_scores = torch.tensor([[0.0, 1.0, 0.0, 0.0, 0.0, -2.0],
                                [4.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
    labels = [(0, 1), (1, 0)]
    losses = head.loss_by_feat((verb_scores, noun_scores), samples(labels))
    ce_verb = cross_entropy_by_hand(verb_scores, [0, 1])
    ce_noun = cross_entropy_by_hand(noun_scores, [1, 0])
    assert losses['loss_verb'].item() == pytest.approx(weights[0] * ce_verb)
    assert losses['loss_noun'].item() == pytest.approx(weights[1] * ce_noun)
    total = losses['loss_verb'] + losses['loss_noun']
    assert total.item() == pytest.approx(weights[0] * ce_verb +
                                         weights[1] * ce_noun)
    if weights == (0.5, 0.5):  # the mean of the two cross-entropies
        assert total.item() == pytest.approx((ce_verb + ce_noun) / 2)
    # verb: row 0 right, row 1 wrong; noun: both right; action: row 0.
    assert losses['verb_top1_acc'].item() == 0.5
    assert losses['noun_top1_acc'].item() == 1.0
    assert losses['action_top1_acc'].item() == 0.5
    assert [k for k in losses if 'loss' in k] == ['loss_verb', 'loss_noun']


def test_each_loss_trains_its_own_classifier():
    head = build_head(loss_weights=(1.0, 0.0))
    losses = head.loss(features(), samples([(1, 2), (3, 5)]))
    (losses['loss_verb'] + losses['loss_noun']).backward()
    assert head.fc_verb.weight.grad.abs().sum() > 0
    assert head.fc_noun.weight.grad.abs().sum() == 0  # noun weight 0

    # The noun loss alone trains fc_noun and reaches the backbone features.
    head = build_head(loss_weights=(0.0, 1.0))
    feats = [x.requires_grad_() for x in features()]
    losses = head.loss(feats, samples([(1, 2), (3, 5)]))
    (losses['loss_verb'] + losses['loss_noun']).backward()
    assert head.fc_verb.weight.grad.abs().sum() == 0
    assert head.fc_noun.weight.grad.abs().sum() > 0
    assert all(x.grad.abs().sum() > 0 for x in feats)

    head = build_head()
    losses = head.loss(features(), samples([(1, 2), (3, 5)]))
    (losses['loss_verb'] + losses['loss_noun']).backward()
    assert head.fc_verb.weight.grad.abs().sum() > 0
    assert head.fc_noun.weight.grad.abs().sum() > 0


def test_missing_noun_label_is_named():
    head = build_head()
    sample = ActionDataSample().set_gt_label(1)
    sample.set_metainfo(dict(filename='P01/videos/P01_01.MP4'))
    with pytest.raises(KeyError, match="noun_label.*P01_01.MP4"):
        head.loss(features(n=1), [sample])


def test_predict_averages_the_views_of_each_sample():
    head = build_head().eval()
    # 2 samples x 3 views, sample-major as MMRecognizer3D flattens them.
    verb_scores = torch.randn(6, 4)
    noun_scores = torch.randn(6, 6)
    out = head.predict_by_feat((verb_scores, noun_scores),
                               samples([(0, 0), (1, 1)]))
    for i, sample in enumerate(out):
        views = slice(3 * i, 3 * i + 3)
        verb = verb_scores[views].softmax(dim=1).mean(dim=0)
        noun = noun_scores[views].softmax(dim=1).mean(dim=0)
        torch.testing.assert_close(sample.pred_verb_score, verb)
        torch.testing.assert_close(sample.pred_noun_score, noun)
        # Stock tools see the verb task.
        torch.testing.assert_close(sample.pred_score, verb)
        assert sample.pred_label.tolist() == [int(verb.argmax())]
        assert sample.pred_verb_label.tolist() == [int(verb.argmax())]
        assert sample.pred_noun_label.tolist() == [int(noun.argmax())]


def test_predict_end_to_end_fields_and_score_averaging():
    head = build_head(average_clips='score').eval()
    feats = features(n=2 * 2)
    with torch.no_grad():
        verb_views, noun_views = head(feats)
        out = head.predict(feats, samples([(0, 0), (1, 1)]))
    torch.testing.assert_close(out[1].pred_verb_score,
                               verb_views[2:].mean(dim=0))
    torch.testing.assert_close(out[1].pred_noun_score,
                               noun_views[2:].mean(dim=0))
    assert out[0].pred_verb_score.shape == (4, )
    assert out[0].pred_noun_score.shape == (6, )


@pytest.mark.parametrize('bad', [
    dict(num_classes=(97, )),
    dict(loss_weights=(0.5, -1.0)),
    dict(multi_class=True),
    dict(label_smooth_eps=0.1),
])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(ValueError, match='EpicKitchensHead'):
        build_head(**bad)


def test_half_precision_scores_give_float32_losses_and_predictions():
    head = build_head()
    verb_scores = torch.randn(4, 4).bfloat16()
    noun_scores = torch.randn(4, 6).bfloat16()
    losses = head.loss_by_feat((verb_scores[:2], noun_scores[:2]),
                               samples([(0, 1), (2, 3)]))
    assert losses['loss_verb'].dtype == torch.float32
    out = head.predict_by_feat((verb_scores, noun_scores),
                               samples([(0, 1), (2, 3)]))
    assert out[0].pred_verb_score.dtype == torch.float32
    assert out[0].pred_noun_score.dtype == torch.float32
    out[0].pred_noun_score.numpy()  # numpy has no bfloat16
