"""Recognition accuracy that scores unreadable samples as misses."""
from typing import Any, Dict, Sequence

import torch

from mmaction.evaluation import AccMetric
from mmaction.registry import METRICS


def miss_scores(num_classes: int, label) -> torch.Tensor:
    """Scores that rank every true class last: ``[num_classes]``, 0 for the
    other classes and -1 for the labelled one(s) (below any softmax or
    sigmoid score). Under top-k accuracy (k < ``num_classes``), mean class
    accuracy and mAP the sample counts as wrong whatever its label."""
    scores = torch.zeros(num_classes)
    label = torch.as_tensor(label).reshape(-1)
    if label.numel() == 1:
        scores[int(label)] = -1.0
    else:  # multi-hot
        scores[label.bool()] = -1.0
    return scores


@METRICS.register_module()
class AVAccMetric(AccMetric):
    """MMAction2's ``AccMetric`` (same arguments and keys) that honours the
    ``unreadable`` flag of placeholder samples (see
    :mod:`mmaction_avslowfast.datasets.unreadable`): their prediction is
    replaced by :func:`miss_scores`, so each unreadable file counts as a
    miss and the denominator stays the number of samples in the data set.
    """

    def process(self, data_batch: Sequence[Any],
                data_samples: Sequence[Dict]) -> None:
        scored = []
        for sample in data_samples:  # shared with the other metrics: copy
            if sample.get('unreadable'):
                pred = sample['pred_score']
                sample = dict(
                    sample,
                    pred_score=miss_scores(pred.shape[-1],
                                           sample['gt_label']).to(pred))
            scored.append(sample)
        super().process(data_batch, scored)
