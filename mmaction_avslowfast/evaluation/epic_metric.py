"""EPIC-Kitchens-100 action recognition metrics (verb, noun, action)."""
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmaction.registry import METRICS

ACTION_BASE = 1000  # action id = verb * 1000 + noun, as the official ids


def action_candidates(verb_score: torch.Tensor,
                      noun_score: torch.Tensor,
                      k: int,
                      top_n: int = 100,
                      softmax: bool = True
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best (verb, noun) pairs of one segment, best first, scored
    as EPIC-Kitchens' official evaluation (C1 ``compute_action_scores``).

    The ``top_n`` best verbs and the ``top_n`` best nouns are kept, their
    scores go through a softmax over those candidates (``softmax=True``;
    ``False`` multiplies the given scores, which must then be
    non-negative), and each pair is scored by the product.

    Args:
        verb_score (Tensor): ``[num_verbs]``.
        noun_score (Tensor): ``[num_nouns]``.
        k (int): Number of pairs returned (at most ``top_n ** 2``).
        top_n (int): Candidates kept per task. Default: 100.
        softmax (bool): Softmax over the candidates first. Default: True.

    Returns:
        tuple[Tensor, Tensor]: verb classes ``[k]`` and noun classes ``[k]``.
    """
    top_verb, verbs = verb_score.float().topk(min(top_n, len(verb_score)))
    top_noun, nouns = noun_score.float().topk(min(top_n, len(noun_score)))
    if softmax:
        top_verb, top_noun = top_verb.softmax(0), top_noun.softmax(0)
    pair_scores = (top_verb[:, None] * top_noun[None, :]).flatten()
    best = pair_scores.topk(min(k, len(pair_scores))).indices
    return verbs[best // len(nouns)], nouns[best % len(nouns)]


def topk_hits(ranked: np.ndarray, labels: np.ndarray,
              k: int) -> np.ndarray:
    """``[N]`` bool: ``labels[i]`` among the first ``k`` of ``ranked[i]``
    (``ranked`` is ``[N, >=k]``, best first)."""
    return (ranked[:, :k] == labels[:, None]).any(axis=1)


def mean_class_accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of the share of their
    samples whose top-1 prediction ``pred`` is right (per-class recall)."""
    classes = np.unique(labels)
    return float(np.mean([(pred[labels == c] == c).mean() for c in classes]))


@METRICS.register_module()
class EpicKitchensMetric(BaseMetric):
    """Verb, noun and action accuracy of EPIC-Kitchens-100.

    Reads ``pred_verb_score [num_verbs]`` and ``pred_noun_score
    [num_nouns]`` (view-averaged by :class:`EpicKitchensHead`), the verb
    ``gt_label`` and the ``noun_label`` of each data sample. Keys (prefix
    ``epic/``): ``verb_top1``, ``verb_top5``, ``noun_top1``, ``noun_top5``,
    ``action_top1``, ``action_top5`` (one key per ``topk``), and
    ``verb_mean_class_acc``, ``noun_mean_class_acc``,
    ``action_mean_class_acc`` (mean over the classes present in the ground
    truth of their top-1 recall). Accuracies are fractions in [0, 1].

    The action of a segment is the pair (verb, noun), id ``verb * 1000 +
    noun``. Its candidates are ranked as in the official evaluation
    (:func:`action_candidates`: top-100 verbs x top-100 nouns, softmax over
    each, outer product), so action top-k is right only when the true pair
    is among the k best pairs: a right verb and a right noun do not make a
    right action on their own.

    Samples flagged ``unreadable`` (``on_unreadable='miss'`` placeholders,
    see :mod:`mmaction_avslowfast.datasets.unreadable`) count as misses for
    every key whatever their scores, as in :class:`AVAccMetric`: the
    denominator stays the number of segments.

    Args:
        topk (Sequence[int]): The k of the top-k keys. Default: ``(1, 5)``.
        top_n (int): Candidates per task for the action scores.
            Default: 100 (official).
        action_softmax (bool): Softmax over the candidates before the
            product (official: True). With ``False`` the given scores
            (e.g. view-averaged probabilities) are multiplied as they are.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Default: ``'cpu'``.
        prefix (str, optional): Key prefix. Default: ``'epic'``.
    """

    default_prefix: Optional[str] = 'epic'

    def __init__(self,
                 topk: Sequence[int] = (1, 5),
                 top_n: int = 100,
                 action_softmax: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if isinstance(topk, int):
            topk = (topk, )
        self.topk = tuple(int(k) for k in topk)
        if not self.topk or min(self.topk) < 1:
            raise ValueError(f'topk must be positive integers, got {topk}')
        if top_n < 1:
            raise ValueError(f'top_n must be positive, got {top_n}')
        self.top_n = int(top_n)
        self.action_softmax = bool(action_softmax)

    @staticmethod
    def _label(sample: Dict, key: str) -> int:
        if key not in sample:
            raise KeyError(
                f'EpicKitchensMetric: a data sample has no {key!r} (file '
                f'{sample.get("filename")!r}, narration '
                f'{sample.get("narration_id")!r}); the EPIC pipeline packs '
                'the verb as gt_label and the noun as noun_label')
        label = torch.as_tensor(sample[key]).reshape(-1)
        if label.numel() != 1:
            raise ValueError(f'EpicKitchensMetric: {key} must hold one class '
                             f'per segment, got {label.tolist()} (file '
                             f'{sample.get("filename")!r})')
        return int(label)

    @staticmethod
    def _score(sample: Dict, key: str) -> torch.Tensor:
        if key not in sample:
            raise KeyError(
                f'EpicKitchensMetric: a data sample has no {key!r} (file '
                f'{sample.get("filename")!r}); use EpicKitchensHead, which '
                'writes pred_verb_score and pred_noun_score')
        # float(): bf16/fp16 scores have no numpy counterpart.
        return torch.as_tensor(sample[key]).detach().float().cpu().reshape(-1)

    def process(self, data_batch: Any, data_samples: Sequence[Dict]) -> None:
        """Keep, per segment, the labels and the top-``max(topk)`` verbs,
        nouns and (verb, noun) pairs (``-1`` for unreadable samples)."""
        maxk = max(self.topk)
        for sample in data_samples:
            verb_score = self._score(sample, 'pred_verb_score')
            noun_score = self._score(sample, 'pred_noun_score')
            if len(noun_score) > ACTION_BASE:
                raise ValueError(
                    f'EpicKitchensMetric: {len(noun_score)} noun classes do '
                    f'not fit the action ids verb * {ACTION_BASE} + noun')
            result = dict(
                verb=self._label(sample, 'gt_label'),
                noun=self._label(sample, 'noun_label'))
            if sample.get('unreadable'):
                miss = np.full(maxk, -1, dtype=np.int64)
                result.update(
                    verb_rank=miss, noun_rank=miss, action_rank=miss)
            else:
                pair_verbs, pair_nouns = action_candidates(
                    verb_score, noun_score, maxk, self.top_n,
                    self.action_softmax)
                result.update(
                    verb_rank=self._ranked(verb_score, maxk),
                    noun_rank=self._ranked(noun_score, maxk),
                    action_rank=self._padded(
                        (pair_verbs * ACTION_BASE + pair_nouns).numpy(),
                        maxk))
            self.results.append(result)

    @classmethod
    def _ranked(cls, score: torch.Tensor, k: int) -> np.ndarray:
        return cls._padded(score.topk(min(k, len(score))).indices.numpy(), k)

    @staticmethod
    def _padded(ranked: np.ndarray, k: int) -> np.ndarray:
        """Pad a ranking shorter than ``k`` (few classes) with ``-1``."""
        return np.concatenate(
            [ranked.astype(np.int64),
             np.full(k - len(ranked), -1, dtype=np.int64)])

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        """Top-k accuracies and mean class accuracies of the three tasks."""
        if not results:
            raise ValueError('EpicKitchensMetric: no segment was evaluated')
        columns = defaultdict(list)
        for result in results:
            for key, value in result.items():
                columns[key].append(value)
        labels = dict(
            verb=np.asarray(columns['verb']),
            noun=np.asarray(columns['noun']))
        labels['action'] = labels['verb'] * ACTION_BASE + labels['noun']
        metrics = {}
        for task in ('verb', 'noun', 'action'):
            ranked = np.stack(columns[f'{task}_rank'])
            for k in self.topk:
                metrics[f'{task}_top{k}'] = float(
                    topk_hits(ranked, labels[task], k).mean())
            metrics[f'{task}_mean_class_acc'] = mean_class_accuracy(
                ranked[:, 0], labels[task])
        return metrics


__all__ = [
    'EpicKitchensMetric', 'action_candidates', 'topk_hits',
    'mean_class_accuracy'
]
