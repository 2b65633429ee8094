"""Recognition accuracy in which an unreadable sample is always wrong.

A placeholder sample (``on_unreadable='miss'``, see
:mod:`mmaction_avslowfast.datasets.unreadable`) carries the model's output
on blank inputs. No substitute score vector makes it wrong under every
metric (its true class ranked last is still inside the top k when k >= the
number of classes; a fixed low score is not low next to raw logits), so the
metrics decide from the ``unreadable`` flag itself:

- top-k and mean class accuracy (:class:`AVAccMetric`): the sample is not
  correct at any k and counts against its class;
- rankings (mAP, per-sample mAP; :class:`AVAccMetric`,
  :class:`~.charades_metric.CharadesMetric`): :func:`rank_unreadable_last`
  places it below every readable sample, after all samples are collected.
"""
import copy
from typing import Any, Dict, List, Sequence

import numpy as np

from mmaction.evaluation import AccMetric
from mmaction.evaluation.functional import top_k_accuracy
from mmaction.registry import METRICS


def label_mask(labels: Sequence, num_classes: int) -> np.ndarray:
    """``[N, C]`` bool: each sample's labelled classes, from class indices
    (one per sample) or multi-hot vectors of ``num_classes`` values."""
    mask = np.zeros((len(labels), num_classes), dtype=bool)
    for row, label in zip(mask, labels):
        label = np.asarray(label).reshape(-1)
        if label.size == num_classes and num_classes > 1:
            row[:] = label > 0.5  # multi-hot
        elif label.size == 1:
            row[int(label[0])] = True
        else:
            raise ValueError(
                f'a label of {label.size} values for {num_classes} '
                'classes: expected one class index or a multi-hot vector')
    return mask


def rank_unreadable_last(preds: Sequence, labels: Sequence,
                         unreadable: Sequence[bool]) -> np.ndarray:
    """Scores ``[N, C]`` (float64 copy) in which every unreadable sample
    ranks below every readable sample, whatever the score scale.

    Its labelled classes get ``own`` and its other classes ``other``, with
    ``own < other <`` the lowest finite score of any readable sample: for
    each class it comes after every readable sample (a positive found last,
    a negative that displaces no readable positive), and within the sample
    its own classes come last (a miss under per-sample ranking too).

    Args:
        preds: ``N`` score vectors of ``C`` classes (probabilities, logits).
        labels: ``N`` class indices or multi-hot vectors.
        unreadable: ``N`` flags.
    """
    scores = np.array([np.asarray(p, dtype=np.float64).reshape(-1)
                       for p in preds])
    flags = np.asarray(unreadable, dtype=bool).reshape(-1)
    if not flags.any():
        return scores
    readable = scores[~flags]
    finite = readable[np.isfinite(readable)]
    floor = float(finite.min()) if finite.size else 0.0
    other = floor - (abs(floor) + 1.0)  # strictly below, also for 1e20
    own = other - (abs(other) + 1.0)
    rows = np.full((int(flags.sum()), scores.shape[1]), other)
    rows[label_mask([lb for lb, f in zip(labels, flags) if f],
                    scores.shape[1])] = own
    scores[flags] = rows
    return scores


def mean_class_accuracy_with_misses(preds: Sequence, labels: Sequence[int],
                                    unreadable: Sequence[bool]) -> float:
    """MMAction2's ``mean_class_accuracy`` (mean over the classes that are
    labelled or predicted of their top-1 recall, 0 for a class only
    predicted), with each unreadable sample counted against its class and
    predicting no class."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    flags = np.asarray(unreadable, dtype=bool).reshape(-1)
    top1 = np.array([int(np.argmax(p)) for p in preds], dtype=np.int64)
    classes = np.union1d(labels, top1[~flags])
    hits = (top1 == labels) & ~flags
    recalls = []
    for c in classes:
        count = (labels == c).sum()
        recalls.append(hits[labels == c].sum() / count if count else 0.0)
    return float(np.mean(recalls))


@METRICS.register_module()
class AVAccMetric(AccMetric):
    """MMAction2's ``AccMetric`` (same arguments and keys) in which a sample
    flagged ``unreadable`` is wrong: not correct at any top-k (also k >= the
    number of classes), counted against its class in ``mean1``, ranked
    below every readable sample in ``mean_average_precision`` and
    ``mmit_mean_average_precision`` (:func:`rank_unreadable_last`). The
    denominators stay the number of samples in the data set; the samples
    themselves (``--dump``) keep the model's scores.
    """

    def process(self, data_batch: Sequence[Any],
                data_samples: Sequence[Dict]) -> None:
        super().process(data_batch, data_samples)
        added = self.results[len(self.results) - len(data_samples):]
        for result, sample in zip(added, data_samples):
            result['unreadable'] = bool(sample.get('unreadable', False))

    def compute_metrics(self, results: List) -> Dict:
        self._unreadable = [r.get('unreadable', False) for r in results]
        try:
            return super().compute_metrics(results)
        finally:
            del self._unreadable

    def calculate(self, preds: List[np.ndarray], labels: List) -> Dict:
        flags = np.asarray(getattr(self, '_unreadable', ()), dtype=bool)
        if not flags.any():
            return super().calculate(preds, labels)
        eval_results = super().calculate(
            list(rank_unreadable_last(preds, labels, flags)), labels)
        if 'top_k_accuracy' in self.metrics:
            topk = copy.deepcopy(self.metric_options).get(
                'top_k_accuracy', {}).get('topk', (1, 5))
            topk = (topk, ) if isinstance(topk, int) else tuple(topk)
            keep = np.flatnonzero(~flags)
            hits = top_k_accuracy([preds[i] for i in keep],
                                  [labels[i] for i in keep],
                                  topk) if keep.size else [0.0] * len(topk)
            for k, acc in zip(topk, hits):
                eval_results[f'top{k}'] = acc * keep.size / len(preds)
        if 'mean_class_accuracy' in self.metrics:
            eval_results['mean1'] = mean_class_accuracy_with_misses(
                preds, labels, flags)
        return eval_results
