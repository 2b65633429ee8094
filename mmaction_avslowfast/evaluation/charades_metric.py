"""Charades multi-label metrics: class mAP and per-sample (MMIT) mAP."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmaction.evaluation.functional import (mean_average_precision,
                                            mmit_mean_average_precision)
from mmaction.registry import METRICS
from .acc_metric import rank_unreadable_last


@METRICS.register_module()
class CharadesMetric(BaseMetric):
    """mAP over the classes that have positives, and the per-sample mAP
    over the samples that have positives.

    ``mAP``: MMAction2's ``mean_average_precision`` (AP of each class
    over the samples, averaged) on the classes with at least one positive
    sample: the Charades protocol of PySlowFast (``get_map``, classes
    without positives dropped). ``mmit_mAP``: MMAction2's
    ``mmit_mean_average_precision`` (AP of each sample over the classes,
    averaged) on the samples with at least one action; MMAction2's
    ``AccMetric`` would average a NaN for a video without actions. The
    counts of what was left out are reported next to them. A sample flagged
    ``unreadable`` (``on_unreadable='miss'``) ranks below every readable
    sample for its actions, whatever the score scale (probabilities or
    logits; :func:`~.acc_metric.rank_unreadable_last`, applied once all
    samples are collected), and its actions rank below its other classes.

    Keys (prefix ``charades``): ``mAP``, ``mmit_mAP``, ``num_samples``,
    ``classes_scored``, ``classes_without_positives``,
    ``samples_without_positives``. A data set without any positive gets
    NaN for both mAPs (and a WARNING).

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``. Default: ``'cpu'``.
        prefix (str, optional): Key prefix. Default: ``'charades'``.
    """

    default_prefix = 'charades'

    def __init__(self,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: Sequence[Any],
                data_samples: Sequence[Dict]) -> None:
        """Store ``pred_score`` ``[C]`` and the multi-hot ``gt_label``
        ``[C]`` of every sample (as float64 / bool NumPy arrays) and its
        ``unreadable`` flag."""
        for sample in data_samples:
            pred = sample['pred_score'].detach().float().cpu()
            label = sample['gt_label'].detach().cpu().reshape(-1)
            if label.numel() != pred.numel():
                raise ValueError(
                    f'CharadesMetric: gt_label has {label.numel()} values '
                    f'but pred_score {pred.numel()}; expected a multi-hot '
                    f'gt_label (CharadesDataset / CharadesClipLabel) of '
                    f'{sample.get("filename", "a sample")}')
            self.results.append(
                dict(pred=pred.double().numpy(), label=label.numpy() > 0.5,
                     unreadable=bool(sample.get('unreadable', False))))

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        labels = np.stack([r['label'] for r in results])  # [N, C] bool
        preds = rank_unreadable_last(  # [N, C]
            [r['pred'] for r in results], labels,
            [r.get('unreadable', False) for r in results])
        classes = labels.any(axis=0)
        samples = labels.any(axis=1)
        if not classes.any():
            print_log('CharadesMetric: no sample has any action; mAP is '
                      'undefined (NaN)', logger='current', level=30)
        nan = float('nan')
        class_map = float(
            mean_average_precision(list(preds[:, classes]),
                                   list(labels[:, classes].astype(float)))
        ) if classes.any() else nan
        sample_map = float(
            mmit_mean_average_precision(list(preds[samples]),
                                        list(labels[samples].astype(float)))
        ) if samples.any() else nan
        return dict(
            mAP=class_map,
            mmit_mAP=sample_map,
            num_samples=len(results),
            classes_scored=int(classes.sum()),
            classes_without_positives=int((~classes).sum()),
            samples_without_positives=int((~samples).sum()))
