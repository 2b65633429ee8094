"""CharadesMetric on hand-computed answers: classes without positives
dropped from the class mAP, videos without actions left out of the
per-sample mAP (no NaN), unreadable placeholders ranked last whatever the
score scale."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import warnings

import numpy as np
import pytest
import torch

from mmaction.registry import METRICS

# 4 videos x 4 classes; class 3 has no positive, video 3 has no action.
PREDS = [[0.9, 0.1, 0.8, 0.3], [0.6, 0.7, 0.2, 0.1], [0.4, 0.3, 0.9, 0.2],
         [0.5, 0.2, 0.1, 0.9]]
LABELS = [[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]


def logits(preds, shift=-5.0):
    """The same ranking as raw logits, every one below 0."""
    p = np.asarray(preds)
    return (np.log(p / (1 - p)) + shift).tolist()


def evaluate(metric_type='CharadesMetric', unreadable=(), preds=PREDS,
             **kwargs):
    metric = METRICS.build(dict(type=metric_type, **kwargs))
    samples = [
        dict(pred_score=torch.tensor(p), gt_label=torch.tensor(g).float(),
             unreadable=i in unreadable)
        for i, (p, g) in enumerate(zip(preds, LABELS))
    ]
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_known_answers_without_nan():
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)  # no 0/0 anywhere
        res = evaluate()
    # class APs: c0 positives at ranks 1 and 4 -> (1 + 2/4) / 2 = 0.75;
    # c1 rank 1 -> 1; c2 rank 2 -> 0.5; c3 dropped. mAP = 0.75
    assert res['charades/mAP'] == pytest.approx(0.75)
    # sample APs: v0 {0, 2} ranks 1, 2 -> 1; v1 rank 1 -> 1; v2 rank 2 ->
    # 0.5; v3 left out. 2.5 / 3
    assert res['charades/mmit_mAP'] == pytest.approx(2.5 / 3)
    assert res['charades/classes_scored'] == 3
    assert res['charades/classes_without_positives'] == 1
    assert res['charades/samples_without_positives'] == 1
    assert res['charades/num_samples'] == 4


@pytest.mark.parametrize('scale', ['probabilities', 'logits'])
def test_unreadable_placeholder_is_a_miss(scale):
    preds = PREDS if scale == 'probabilities' else logits(PREDS)
    res = evaluate(unreadable=(1, ), preds=preds)
    # video 1 ranked below every video: c0 positives at ranks 1, 3
    # -> (1 + 2/3) / 2; c1 rank 4 -> 0.25; c2 -> 0.5
    assert res['charades/mAP'] == pytest.approx(
        ((1 + 2 / 3) / 2 + 0.25 + 0.5) / 3)
    assert res['charades/mmit_mAP'] == pytest.approx((1 + 0.25 + 0.5) / 3)


@pytest.mark.parametrize('scale', ['probabilities', 'logits'])
def test_unreadable_placeholder_of_several_actions(scale):
    """Video 0 (actions 0 and 2) unreadable; with logits below 0 a fixed
    substitute score (the old miss_scores: -1 / 0) would rank it first."""
    preds = PREDS if scale == 'probabilities' else logits(PREDS)
    res = evaluate(unreadable=(0, ), preds=preds)
    # c0: v1 0.6, v3 0.5, v2 0.4, v0 last -> positives v2 at 3, v0 at 4
    # -> (1/3 + 2/4) / 2; c1 -> 1; c2: only v0, last of 4 -> 0.25
    assert res['charades/mAP'] == pytest.approx(
        ((1 / 3 + 2 / 4) / 2 + 1 + 0.25) / 3)
    # v0: its two actions tie below its two other classes -> 2/4; v1 1;
    # v2 0.5
    assert res['charades/mmit_mAP'] == pytest.approx((0.5 + 1 + 0.5) / 3)


def test_mmaction_acc_metric_would_average_a_nan():
    """Why CharadesMetric exists: AccMetric's per-sample mAP is NaN as soon
    as one video has no action."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        res = evaluate('AVAccMetric',
                       metric_list=('mean_average_precision',
                                    'mmit_mean_average_precision'))
    assert res['acc/mean_average_precision'] == pytest.approx(0.75)
    assert np.isnan(res['acc/mmit_mean_average_precision'])


def test_mismatched_label_is_reported():
    metric = METRICS.build(dict(type='CharadesMetric'))
    with pytest.raises(ValueError, match='multi-hot gt_label.*clip.mp4'):
        metric.process(None, [dict(pred_score=torch.zeros(4),
                                   gt_label=torch.tensor([2]),
                                   filename='clip.mp4')])
