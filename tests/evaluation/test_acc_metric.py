"""AVAccMetric and the ranking of unreadable samples: a placeholder is
wrong at every k (also k >= the number of classes), counts against its
class in the mean class accuracy and ranks below every readable sample."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import numpy as np
import pytest
import torch

from mmaction.evaluation import AccMetric
from mmaction_avslowfast.evaluation import AVAccMetric, rank_unreadable_last


def samples(rows):
    """``(scores, label, unreadable)`` rows as the evaluator hands them."""
    out = []
    for scores, label, unreadable in rows:
        label = torch.tensor([label]) if np.isscalar(label) else \
            torch.tensor(label).float()
        out.append(dict(pred_score=torch.tensor(scores, dtype=torch.float32),
                        gt_label=label, unreadable=unreadable))
    return out


def evaluate(metric, rows):
    data = samples(rows)
    metric.process([], data[:2])  # two batches
    metric.process([], data[2:])
    return metric.compute_metrics(metric.results), data


def right(label, num_classes=3, high=0.8):
    scores = [0.1] * num_classes
    scores[label] = high
    return scores


def test_placeholders_are_wrong_at_every_k():
    """3 classes, 3 unreadable files whose blank-input outputs happen to be
    right: the issue's 'top5 1.0' came from miss_scores' true-class-last,
    which is inside the top 5 of 3 classes."""
    metric = AVAccMetric(metric_options=dict(
        top_k_accuracy=dict(topk=(1, 2, 3, 5))))
    result, data = evaluate(metric, [(right(0), 0, False),
                                     (right(0), 0, True),
                                     (right(1), 1, True),
                                     (right(2), 2, True)])
    for k in (1, 2, 3, 5):
        assert result[f'top{k}'] == pytest.approx(0.25), k
    # mean1: class 0 one of two, classes 1 and 2 none of one
    assert result['mean1'] == pytest.approx((1 / 2 + 0 + 0) / 3)
    # the samples themselves (shared with --dump) keep the model's scores
    assert data[2]['pred_score'][1] == pytest.approx(0.8)


def test_a_placeholder_counts_against_its_class_and_predicts_none():
    rows = [(right(0), 0, False), (right(2), 0, True)]
    ours, _ = evaluate(AVAccMetric(), rows)
    stock, _ = evaluate(AccMetric(), [(s, lb, False) for s, lb, _ in rows])
    # stock: class 0 one of two, class 2 (only predicted) 0 -> 0.25
    assert stock['mean1'] == pytest.approx(0.25)
    # ours: the placeholder predicts no class; class 0 one of two
    assert ours['mean1'] == pytest.approx(0.5)
    assert ours['top1'] == pytest.approx(0.5)


def test_readable_samples_score_as_mmaction_does():
    rng = np.random.default_rng(0)
    rows = [(rng.normal(size=5).tolist(), int(rng.integers(5)), False)
            for _ in range(12)]
    options = dict(top_k_accuracy=dict(topk=(1, 3, 5)))
    ours, _ = evaluate(AVAccMetric(metric_options=options), rows)
    stock, _ = evaluate(AccMetric(metric_options=options), rows)
    assert ours == pytest.approx(stock)


def test_no_readable_sample_scores_zero():
    result, _ = evaluate(AVAccMetric(), [(right(0), 0, True),
                                         (right(1), 1, True)])
    assert result['top1'] == 0.0 and result['top5'] == 0.0
    assert result['mean1'] == 0.0


def test_rank_unreadable_last_with_a_multi_hot_label_of_several_classes():
    preds = [[-30.0, -2.0, -7.0, -9.0, -4.0],  # raw logits, all < 0
             [9.0, 8.0, 7.0, 6.0, 5.0],  # unreadable, 3 actions
             [-1.0, -6.0, -3.0, -5.0, -8.0]]
    labels = [[1, 0, 0, 0, 0], [1, 0, 1, 1, 0], [0, 0, 1, 0, 0]]
    out = rank_unreadable_last(preds, labels, [False, True, False])
    np.testing.assert_array_equal(out[[0, 2]], np.array(preds)[[0, 2]])
    own, other = out[1, [0, 2, 3]], out[1, [1, 4]]
    assert len(set(own)) == 1 and len(set(other)) == 1
    assert own[0] < other[0] < -30.0  # below every readable score
    # the same with class indices, and far from 0
    out = rank_unreadable_last([[1e20, 2e20], [5.0, 1.0]], [1, 0],
                               [False, True])
    assert out[1, 0] < out[1, 1] < 1e20
    with pytest.raises(ValueError, match='3 values for 4 classes'):
        rank_unreadable_last([[0.0] * 4], [[1, 0, 1]], [True])


def test_ranking_metrics_rank_a_placeholder_last_for_its_classes():
    """Per-class AP of a multi-hot placeholder whose logits (all below 0)
    rank it first: it must come last for each of its classes."""
    rows = [([-1.0, -9.0, -9.0], [1, 0, 0], False),
            ([-9.0, -1.0, -9.0], [0, 1, 0], False),
            ([-5.0, -5.0, -1.0], [0, 0, 1], False),
            ([-0.5, -0.5, -0.5], [1, 1, 0], True)]
    result, _ = evaluate(
        AVAccMetric(metric_list=('mean_average_precision',
                                 'mmit_mean_average_precision')), rows)
    # classes 0 and 1: positives at ranks 1 and 4 -> (1 + 2/4) / 2; class 2
    # rank 1 -> 1
    assert result['mean_average_precision'] == pytest.approx(
        (0.75 + 0.75 + 1) / 3)
    # per sample: three right, the placeholder's actions after class 2
    assert result['mmit_mean_average_precision'] == pytest.approx(
        (1 + 1 + 1 + 2 / 3) / 4)
