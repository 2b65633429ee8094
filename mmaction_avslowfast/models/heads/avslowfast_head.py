from typing import Optional, Sequence

import torch
from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from mmengine.model.weight_init import normal_init
from torch import Tensor, nn


@MODELS.register_module()
class AVSlowFastHead(BaseHead):
    """Classification head for AVSlowFast: late fusion of all pathways.

    Each pathway's last feature map is globally average-pooled, the pooled
    vectors are concatenated in the order the backbone returns them
    (Slow, Fast, Audio), then dropout and one linear classifier follow. For
    R50 that is ``2048 + 256 + 1024 = 3328`` input channels.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Sum of the pathways' channels (3328 for R50).
            Checked against the features at the first forward.
        loss_cls (dict): Classification loss. Use
            ``dict(type='BCELossWithLogits')`` with ``multi_class=True`` for
            multi-label data. Defaults to ``dict(type='CrossEntropyLoss')``.
        dropout_ratio (float): Dropout before the classifier. Default: 0.5.
        init_std (float): Std of the classifier's normal init. Default: 0.01.
        pathways (Sequence[int], optional): Indices of the backbone outputs
            that are pooled and concatenated, in this order, e.g. ``(0, 1)``
            for Slow + Fast only (visual-only transfer: the audio feature is
            ignored and ``in_channels`` is Slow + Fast). Default: None (all).
        kwargs: ``multi_class``, ``label_smooth_eps``, ``topk``,
            ``average_clips``, ``init_cfg`` as in :class:`BaseHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 dropout_ratio: float = 0.5,
                 init_std: float = 0.01,
                 pathways: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, loss_cls, **kwargs)
        if pathways is not None:
            pathways = tuple(int(i) for i in pathways)
            if not pathways or len(set(pathways)) != len(pathways):
                raise ValueError(f'{type(self).__name__}: pathways must be '
                                 'distinct indices of the backbone outputs, '
                                 f'got {pathways}')
        self.pathways = pathways
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio else None
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Normal init of the classifier (std ``init_std``, zero bias)."""
        normal_init(self.fc_cls, std=self.init_std)

    @staticmethod
    def pool(feat: Tensor) -> Tensor:
        """Global average pool ``[N, C, ...]`` (any number of dims) to
        ``[N, C]``."""
        return feat.flatten(2).mean(dim=2) if feat.dim() > 2 else feat

    def forward(self, x: Sequence[Tensor], **kwargs) -> Tensor:
        """Classify from the pathway features.

        Args:
            x (Sequence[Tensor]): ``(x_slow [N, Cs, Ts, H, W],
                x_fast [N, Cf, Tf, H, W], x_audio [N, Ca, Ta, Fa])``;
                only those indexed by ``pathways`` are used.

        Returns:
            Tensor: Class scores ``[N, num_classes]``.
        """
        if isinstance(x, Tensor):
            x = (x, )
        if self.pathways is not None:
            if max(self.pathways) >= len(x) or min(self.pathways) < -len(x):
                raise IndexError(
                    f'{type(self).__name__}: pathways={self.pathways} but '
                    f'the backbone returned {len(x)} features')
            x = [x[i] for i in self.pathways]
        feats = torch.cat([self.pool(feat) for feat in x], dim=1)
        if feats.shape[1] != self.in_channels:
            shapes = [tuple(feat.shape) for feat in x]
            raise ValueError(
                f'{type(self).__name__}: the pooled pathway features have '
                f'{feats.shape[1]} channels in total (feature shapes '
                f'{shapes}) but in_channels={self.in_channels}; set '
                f'model.cls_head.in_channels to {feats.shape[1]}.')
        if self.dropout is not None:
            feats = self.dropout(feats)
        return self.fc_cls(feats)

    def loss_by_feat(self, cls_scores: Tensor, data_samples) -> dict:
        """:meth:`BaseHead.loss_by_feat` on float32 scores.

        Under bf16/fp16 autocast the classifier returns half-precision
        scores, and MMAction2 1.2.0's ``BaseHead.loss_by_feat`` calls
        ``.numpy()`` on them for the top-k accuracy, which fails for bf16
        (numpy has no bfloat16). The loss itself is also better computed in
        float32. The gradient reaches ``fc_cls`` through the cast.
        """
        return super().loss_by_feat(cls_scores.float(), data_samples)

    def predict_by_feat(self, cls_scores: Tensor, data_samples):
        """:meth:`BaseHead.predict_by_feat` on float32 scores, so that the
        ``pred_score`` of a half-precision run can be dumped and evaluated
        with numpy (see :meth:`loss_by_feat`)."""
        return super().predict_by_feat(cls_scores.float(), data_samples)

    def average_clip(self, cls_scores: Tensor, num_segs: int = 1) -> Tensor:
        """Aggregate the scores of the ``num_segs`` views of each sample.

        As :meth:`BaseHead.average_clip` (``'score'``, ``'prob'``, None),
        except that multi-label heads (``multi_class=True``) average sigmoid
        probabilities under ``average_clips='prob'``: a softmax would make
        the classes compete. ``average_clips='max'`` takes, per class, the
        maximum over the views of the probabilities (sigmoid for
        ``multi_class=True``, softmax otherwise): PySlowFast's
        ``ENSEMBLE_METHOD: max``, the Charades protocol, where an action
        seen in one view of a long video must not be diluted by the views
        that miss it.

        Args:
            cls_scores (Tensor): Logits ``[N * num_segs, num_classes]``,
                the views of a sample consecutive.
            num_segs (int): Views per sample.

        Returns:
            Tensor: ``[N, num_classes]`` (``[N, num_segs, num_classes]``
            for ``average_clips=None``).
        """
        if self.average_clips == 'max':
            views = cls_scores.view((-1, num_segs) + cls_scores.shape[1:])
            probs = torch.sigmoid(views) if self.multi_class else \
                views.softmax(dim=2)
            return probs.max(dim=1).values
        if not (self.multi_class and self.average_clips == 'prob'):
            return super().average_clip(cls_scores, num_segs)
        cls_scores = cls_scores.view((-1, num_segs) + cls_scores.shape[1:])
        return torch.sigmoid(cls_scores).mean(dim=1)


__all__ = ['AVSlowFastHead']
