"""Two-head (verb + noun) classifier for EPIC-Kitchens-100."""
from typing import Dict, Sequence, Tuple

import torch
from mmaction.registry import MODELS
from mmaction.utils import ConfigType, SampleList
from mmengine.model.weight_init import normal_init
from torch import Tensor, nn

from .avslowfast_head import AVSlowFastHead


@MODELS.register_module()
class EpicKitchensHead(AVSlowFastHead):
    """Verb and noun classifiers on the pooled Slow + Fast + Audio features.

    The fusion is that of :class:`AVSlowFastHead` (global average pool of
    each pathway, concatenation, ``in_channels`` check, dropout); two linear
    layers then score the verbs (``fc_verb``) and the nouns (``fc_noun``),
    as the two-head SlowFast baseline of EPIC-Kitchens-100
    (``NUM_CLASSES: [97, 300]``).

    Loss: ``loss_verb = w_verb * CE(verb)`` and ``loss_noun = w_noun *
    CE(noun)``; MMEngine sums them, so ``loss_weights=(0.5, 0.5)`` gives the
    mean of the two cross-entropies. ``verb_top1_acc``, ``noun_top1_acc``
    and ``action_top1_acc`` (both right) are logged with them.

    Labels: ``data_sample.gt_label`` is the verb class and
    ``data_sample.noun_label`` the noun class (LongTensor ``[1]`` each, as
    ``set_gt_label`` stores an int).

    Prediction: the views of each sample are averaged per head
    (``average_clips``, ``'prob'`` = mean softmax by default) and written to
    the data sample as ``pred_verb_score [num_verbs]``,
    ``pred_noun_score [num_nouns]``, ``pred_verb_label``,
    ``pred_noun_label``; ``pred_score`` / ``pred_label`` repeat the verb
    ones so that MMAction2's tools (``AccMetric``, ``pred2dict``) keep
    working on the verb task.

    Args:
        in_channels (int): Sum of the pathways' channels (3328 for R50).
        num_classes (tuple[int, int]): ``(num_verbs, num_nouns)``.
            Default: ``(97, 300)`` (EPIC-Kitchens-100).
        loss_weights (tuple[float, float]): Weights of the verb and noun
            losses. Default: ``(0.5, 0.5)``.
        loss_cls (dict): Loss of each head, built once and applied to both.
            Default: ``dict(type='CrossEntropyLoss')``.
        dropout_ratio (float): Dropout before the classifiers. Default: 0.5.
        init_std (float): Std of the classifiers' normal init. Default: 0.01.
        average_clips (str, optional): ``'prob'``, ``'score'`` or ``None``
            as in :class:`BaseHead`. Default: ``'prob'``.
        kwargs: ``topk``, ``init_cfg`` as in :class:`BaseHead`.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: Sequence[int] = (97, 300),
                 loss_weights: Sequence[float] = (0.5, 0.5),
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 dropout_ratio: float = 0.5,
                 init_std: float = 0.01,
                 average_clips: str = 'prob',
                 **kwargs) -> None:
        num_classes = tuple(int(n) for n in num_classes)
        loss_weights = tuple(float(w) for w in loss_weights)
        if len(num_classes) != 2 or min(num_classes) < 1:
            raise ValueError('EpicKitchensHead: num_classes must be '
                             f'(num_verbs, num_nouns), got {num_classes}')
        if len(loss_weights) != 2 or min(loss_weights) < 0:
            raise ValueError('EpicKitchensHead: loss_weights must be two '
                             f'non-negative weights, got {loss_weights}')
        for arg in ('multi_class', 'label_smooth_eps'):
            if kwargs.get(arg):
                raise ValueError(f'EpicKitchensHead does not support {arg}; '
                                 'each head is single-label')
        super().__init__(
            num_classes=num_classes[0],
            in_channels=in_channels,
            loss_cls=loss_cls,
            dropout_ratio=dropout_ratio,
            init_std=init_std,
            average_clips=average_clips,
            **kwargs)
        self.num_classes = num_classes
        self.num_verbs, self.num_nouns = num_classes
        self.loss_weights = loss_weights
        # The parent's forward then returns the fused, dropped-out features
        # [N, in_channels]; the two classifiers follow.
        self.fc_cls = nn.Identity()
        self.fc_verb = nn.Linear(in_channels, self.num_verbs)
        self.fc_noun = nn.Linear(in_channels, self.num_nouns)

    def init_weights(self) -> None:
        """Normal init of both classifiers (std ``init_std``, zero bias)."""
        normal_init(self.fc_verb, std=self.init_std)
        normal_init(self.fc_noun, std=self.init_std)

    def forward(self, x: Sequence[Tensor], **kwargs) -> Tuple[Tensor, Tensor]:
        """Score verbs and nouns from the pathway features.

        Args:
            x (Sequence[Tensor]): ``(x_slow [N, Cs, Ts, H, W],
                x_fast [N, Cf, Tf, H, W], x_audio [N, Ca, Ta, Fa])``.

        Returns:
            tuple[Tensor, Tensor]: verb scores ``[N, num_verbs]`` and noun
            scores ``[N, num_nouns]``.
        """
        feats = super().forward(x, **kwargs)  # [N, in_channels]
        return self.fc_verb(feats), self.fc_noun(feats)

    @staticmethod
    def _labels(data_samples: SampleList, key: str,
                device: torch.device) -> Tensor:
        """The ``key`` label of every sample as a LongTensor ``[N]``."""
        labels = []
        for i, sample in enumerate(data_samples):
            if key not in sample:
                raise KeyError(
                    f'EpicKitchensHead: data sample {i} has no {key!r} '
                    f'(file {sample.metainfo.get("filename")!r}); the '
                    'pipeline must pack the verb as gt_label and the noun as '
                    'noun_label')
            labels.append(torch.as_tensor(sample.get(key)).reshape(-1))
        return torch.cat(labels).long().to(device)

    def loss_by_feat(self, cls_scores: Tuple[Tensor, Tensor],
                     data_samples: SampleList) -> Dict[str, Tensor]:
        """Weighted cross-entropies of both heads and their top-1 accuracy.

        Args:
            cls_scores (tuple[Tensor, Tensor]): ``[N, num_verbs]``,
                ``[N, num_nouns]``.
            data_samples (list[ActionDataSample]): with ``gt_label`` (verb)
                and ``noun_label``.

        Returns:
            dict: ``loss_verb``, ``loss_noun`` (weighted), ``verb_top1_acc``,
            ``noun_top1_acc``, ``action_top1_acc``.
        """
        # float32: under bf16/fp16 autocast the classifiers return half
        # precision; the losses are computed in float32 (the gradient
        # reaches the classifiers through the cast).
        verb_scores, noun_scores = (s.float() for s in cls_scores)
        verbs = self._labels(data_samples, 'gt_label', verb_scores.device)
        nouns = self._labels(data_samples, 'noun_label', noun_scores.device)
        if len(verbs) != len(verb_scores) or len(nouns) != len(noun_scores):
            raise ValueError(
                f'EpicKitchensHead: {len(verb_scores)} score rows but '
                f'{len(verbs)} verb and {len(nouns)} noun labels (one label '
                'per sample expected)')
        w_verb, w_noun = self.loss_weights
        with torch.no_grad():
            verb_hit = verb_scores.argmax(dim=1) == verbs
            noun_hit = noun_scores.argmax(dim=1) == nouns
        return dict(
            loss_verb=w_verb * self.loss_cls(verb_scores, verbs),
            loss_noun=w_noun * self.loss_cls(noun_scores, nouns),
            verb_top1_acc=verb_hit.float().mean(),
            noun_top1_acc=noun_hit.float().mean(),
            action_top1_acc=(verb_hit & noun_hit).float().mean())

    def predict_by_feat(self, cls_scores: Tuple[Tensor, Tensor],
                        data_samples: SampleList) -> SampleList:
        """Average the views of each sample and store both predictions.

        Args:
            cls_scores (tuple[Tensor, Tensor]): ``[N * V, num_verbs]``,
                ``[N * V, num_nouns]`` for ``V`` views per sample.
            data_samples (list[ActionDataSample]): ``N`` samples.

        Returns:
            list[ActionDataSample]: with ``pred_verb_score``,
            ``pred_noun_score``, ``pred_verb_label``, ``pred_noun_label``,
            ``pred_score`` (= verb) and ``pred_label`` (= verb).
        """
        # float32, so that the scores of a half-precision run can be dumped
        # and evaluated with numpy (which has no bfloat16).
        verb_scores, noun_scores = (s.float() for s in cls_scores)
        num_segs = verb_scores.shape[0] // len(data_samples)
        verb_scores = self.average_clip(verb_scores, num_segs=num_segs)
        noun_scores = self.average_clip(noun_scores, num_segs=num_segs)
        verb_labels = verb_scores.argmax(dim=-1, keepdim=True).detach()
        noun_labels = noun_scores.argmax(dim=-1, keepdim=True).detach()
        for sample, verb, noun, verb_label, noun_label in zip(
                data_samples, verb_scores, noun_scores, verb_labels,
                noun_labels):
            sample.set_pred_score(verb)
            sample.set_pred_label(verb_label)
            sample.set_field(verb, 'pred_verb_score')
            sample.set_field(noun, 'pred_noun_score')
            sample.set_field(verb_label, 'pred_verb_label')
            sample.set_field(noun_label, 'pred_noun_label')
        return data_samples


__all__ = ['EpicKitchensHead']
