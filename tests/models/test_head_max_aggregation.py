"""AVSlowFastHead for Charades: max over views (average_clips='max') versus
averaging, on a case where the two rank the videos differently, and the
stock BaseHead.loss_by_feat with float multi-hot gt_label (BCE)."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmaction.evaluation.functional import mean_average_precision
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample


def head(average_clips, multi_class=True, num_classes=2):
    return MODELS.build(
        dict(type='AVSlowFastHead', num_classes=num_classes, in_channels=8,
             multi_class=multi_class,
             loss_cls=dict(type='BCELossWithLogits') if multi_class else
             dict(type='CrossEntropyLoss'),
             average_clips=average_clips))


# Two videos x 3 views, 2 classes. Video A has class 0 in one view only
# (the action happens in a third of the video): one confident view, two
# confident misses. Video B lacks class 0; every view is unsure (logit 0).
# Class 1: A positive with views (1, 1, 1), B negative with (-1, -1, -1).
LOGITS = torch.tensor([
    [6.0, 1.0], [-6.0, 1.0], [-6.0, 1.0],  # video A
    [0.0, -1.0], [0.0, -1.0], [0.0, -1.0],  # video B
])
LABELS = np.array([[1.0, 1.0], [0.0, 0.0]])


def class_map(scores):
    return mean_average_precision(list(scores.numpy()), list(LABELS))


def test_max_differs_from_averaging_on_a_built_case():
    maxed = head('max').average_clip(LOGITS, num_segs=3)
    mean = head('prob').average_clip(LOGITS, num_segs=3)
    sig = torch.sigmoid(LOGITS).view(2, 3, 2)
    torch.testing.assert_close(maxed, sig.max(dim=1).values)
    torch.testing.assert_close(mean, sig.mean(dim=1))
    # class 0: max ranks A (0.9975) above B (0.5), the mean ranks B (0.5)
    # above A (0.3350): AP 1 vs 0.5, mAP 1.0 vs 0.75
    assert maxed[0, 0] > maxed[1, 0] and mean[0, 0] < mean[1, 0]
    assert class_map(maxed) == pytest.approx(1.0)
    assert class_map(mean) == pytest.approx(0.75)


def test_predict_by_feat_uses_max_over_the_views():
    samples = [ActionDataSample(), ActionDataSample()]
    out = head('max').predict_by_feat(LOGITS, samples)
    torch.testing.assert_close(
        torch.stack([s.pred_score for s in out]),
        torch.sigmoid(LOGITS).view(2, 3, 2).max(dim=1).values)


def test_max_of_softmax_for_single_label_heads():
    out = head('max', multi_class=False).average_clip(LOGITS, num_segs=3)
    torch.testing.assert_close(
        out, LOGITS.view(2, 3, 2).softmax(dim=2).max(dim=1).values)


@pytest.mark.parametrize('batch', [1, 3])
def test_stock_loss_by_feat_takes_float_multi_hot_labels(batch):
    """MMAction2 1.2.0's BaseHead.loss_by_feat stacks the gt_labels; with a
    float [num_classes] vector per sample (same shape as the scores) it
    computes BCE on the float targets and no top-k accuracy."""
    torch.manual_seed(0)
    scores = torch.randn(batch, 5, requires_grad=True)
    targets = (torch.rand(batch, 5) > 0.5).float()
    samples = [ActionDataSample().set_gt_label(t) for t in targets]
    losses = head('max', num_classes=5).loss_by_feat(scores, samples)
    assert set(losses) == {'loss_cls'}
    torch.testing.assert_close(
        losses['loss_cls'],
        F.binary_cross_entropy_with_logits(scores.float(), targets))
    losses['loss_cls'].backward()
    assert scores.grad is not None
