from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmaction.registry import MODELS


@MODELS.register_module()
class AVBBoxHead(BaseModule):
    """AVA action classifier on RoI features plus a clip-level audio feature.

    The RoI feature is pooled over time then space (like MMAction2's
    ``BBoxHeadAVA``); the audio pathway's globally pooled feature of the same
    clip is concatenated to every RoI's pooled feature before the classifier.
    This audio concatenation is this plugin's design choice: the AVSlowFast
    reference does not specify its AVA head.

    Args:
        in_channels (int): Visual RoI channels (R50 Slow + Fast: 2304).
        audio_channels (int): Audio feature channels (R50: 1024); 0 for a
            purely visual head. Default: 1024.
        num_classes (int): Including the background/unused class 0.
            Default: 81.
        background_class (bool): Ignore class 0 in the loss. Default: True.
        multilabel (bool): Sigmoid + BCE (True) or softmax + CE. Default: True.
        temporal_pool_type / spatial_pool_type (str): ``'avg'`` or ``'max'``.
            Default: ``'avg'`` / ``'max'``.
        dropout_ratio (float): Default: 0.5.
        dropout_before_pool (bool): Apply dropout to the RoI maps (and the
            audio vector) before pooling, as ``BBoxHeadAVA``. Default: True.
        focal_gamma / focal_alpha (float): Focal modulation of the loss;
            ``(0, 1)`` is plain BCE. Default: 0. / 1.
        topk (int | tuple[int]): Top-k recall/precision to log.
            Default: (3, 5).
        init_cfg (dict, optional): Default: Xavier-normal fc, zero bias.
    """

    def __init__(self,
                 in_channels: int = 2304,
                 audio_channels: int = 1024,
                 num_classes: int = 81,
                 background_class: bool = True,
                 multilabel: bool = True,
                 temporal_pool_type: str = 'avg',
                 spatial_pool_type: str = 'max',
                 dropout_ratio: float = 0.5,
                 dropout_before_pool: bool = True,
                 focal_gamma: float = 0.,
                 focal_alpha: float = 1.,
                 topk: Union[int, Tuple[int, ...]] = (3, 5),
                 init_cfg: Optional[dict] = dict(
                     type='Xavier', layer='Linear', distribution='normal')
                 ) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in (('temporal_pool_type', temporal_pool_type),
                            ('spatial_pool_type', spatial_pool_type)):
            if value not in ('avg', 'max'):
                raise ValueError(f'{name} must be "avg" or "max", got '
                                 f'{value!r}')
        self.in_channels = in_channels
        self.audio_channels = audio_channels
        self.num_classes = num_classes
        self.background_class = background_class
        self.multilabel = multilabel
        self.temporal_pool_type = temporal_pool_type
        self.spatial_pool_type = spatial_pool_type
        self.dropout_ratio = dropout_ratio
        self.dropout_before_pool = dropout_before_pool
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk or ())
        if any(k >= num_classes for k in self.topk):
            raise ValueError(f'topk {self.topk} must be < num_classes '
                             f'({num_classes})')
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else \
            nn.Identity()
        self.fc_cls = nn.Linear(in_channels + audio_channels, num_classes)

    @staticmethod
    def _pool(x: Tensor, dims: Tuple[int, ...], mode: str) -> Tensor:
        return x.mean(dim=dims, keepdim=True) if mode == 'avg' else \
            x.amax(dim=dims, keepdim=True)

    def forward(self,
                roi_feats: Tensor,
                audio_feats: Optional[Tensor] = None) -> Tensor:
        """Classify RoIs.

        Args:
            roi_feats (Tensor): ``[K, in_channels, T, h, w]``.
            audio_feats (Tensor, optional): ``[K, audio_channels]``, the
                pooled audio feature of each RoI's clip.

        Returns:
            Tensor: logits ``[K, num_classes]``.
        """
        if roi_feats.size(1) != self.in_channels:
            raise ValueError(f'AVBBoxHead expects {self.in_channels} RoI '
                             f'channels, got {roi_feats.size(1)}')
        if self.dropout_before_pool:
            roi_feats = self.dropout(roi_feats)
        x = self._pool(roi_feats, (2, ), self.temporal_pool_type)
        x = self._pool(x, (3, 4), self.spatial_pool_type).flatten(1)
        if self.audio_channels > 0:
            if audio_feats is None or audio_feats.shape != (
                    x.size(0), self.audio_channels):
                got = None if audio_feats is None else tuple(audio_feats.shape)
                raise ValueError(
                    f'AVBBoxHead(audio_channels={self.audio_channels}) needs '
                    f'audio_feats [{x.size(0)}, {self.audio_channels}], got '
                    f'{got}')
            if self.dropout_before_pool:
                audio_feats = self.dropout(audio_feats)
            x = torch.cat([x, audio_feats], dim=1)
        if not self.dropout_before_pool:
            x = self.dropout(x)
        return self.fc_cls(x)

    # ------------------------------------------------------------------ loss
    def _valid_scores_and_targets(self, cls_score: Tensor,
                                  labels: Tensor) -> Tuple[Tensor, Tensor]:
        if self.background_class:
            cls_score, labels = cls_score[:, 1:], labels[:, 1:]
        # Like BBoxHeadAVA, only RoIs with at least one action label are
        # classified; negatives carry no target.
        keep = labels.sum(dim=-1) > 0
        return cls_score[keep], labels[keep]

    @staticmethod
    def _recall_prec(pred: Tensor, target: Tensor) -> Tuple[Tensor, Tensor]:
        correct = (pred & target).sum(1).float()
        recall = correct / target.sum(1).float().clamp(min=1)
        prec = correct / (pred.sum(1).float() + 1e-6)
        return recall.mean(), prec.mean()

    def _topk_matrix(self, probs: Tensor, k: int) -> Tensor:
        out = torch.zeros_like(probs, dtype=torch.bool)
        return out.scatter_(1, probs.topk(k, dim=1).indices, True)

    def loss(self, cls_score: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        """Classification loss and recall/precision logs.

        Args:
            cls_score (Tensor): ``[K, num_classes]`` logits.
            labels (Tensor): ``[K, num_classes]`` multi-hot targets (zeros for
                negative RoIs).
        """
        scores, targets = self._valid_scores_and_targets(
            cls_score, labels.to(cls_score.dtype))
        losses = dict()
        if scores.numel() == 0:
            # No positive RoI in the batch: keep the graph, contribute zero.
            losses['loss_action_cls'] = cls_score.sum() * 0.
            return losses
        with torch.no_grad():
            probs = scores.sigmoid() if self.multilabel else \
                scores.softmax(dim=1)
            target_bool = targets > 0.5
            pred_bool = probs > 0.5 if self.multilabel else \
                self._topk_matrix(probs, 1)
            losses['recall@thr=0.5'], losses['prec@thr=0.5'] = \
                self._recall_prec(pred_bool, target_bool)
            for k in self.topk:
                if k <= probs.size(1):
                    losses[f'recall@top{k}'], losses[f'prec@top{k}'] = \
                        self._recall_prec(self._topk_matrix(probs, k),
                                          target_bool)
        if self.multilabel:
            loss = F.binary_cross_entropy_with_logits(
                scores, targets, reduction='none')
        else:
            targets = targets / targets.sum(dim=1, keepdim=True)
            loss = F.cross_entropy(scores, targets, reduction='none')
        pt = torch.exp(-loss)
        losses['loss_action_cls'] = torch.mean(
            self.focal_alpha * (1 - pt)**self.focal_gamma * loss)
        return losses

    # --------------------------------------------------------------- predict
    def predict_by_feat(self, bboxes: Tensor, cls_score: Tensor,
                        img_meta: dict) -> InstanceData:
        """Scores and normalised boxes of one clip.

        Args:
            bboxes (Tensor): ``[K, 4]`` proposals in the pixel frame of the
                network input (after resize/crop/flip).
            cls_score (Tensor): ``[K, num_classes]`` logits.
            img_meta (dict): needs ``img_shape`` ``(h, w)``; uses ``flip``
                (bool) and ``crop_quadruple`` ``(x, y, w, h)`` relative to the
                original frame when present.

        Returns:
            InstanceData: ``bboxes [K, 4]`` normalised to the original frame
            (``[0, 1]``) and ``scores [K, num_classes]``.
        """
        scores = cls_score.sigmoid() if self.multilabel else \
            cls_score.softmax(dim=-1)
        img_h, img_w = img_meta['img_shape'][:2]
        bboxes = bboxes[:, :4].clone().float()
        if img_meta.get('flip', False):
            # Exact inverse of mmaction's Flip (x' = w - x); BBoxHeadAVA's
            # legacy ``w - 1 - x`` would shift boxes by one pixel.
            bboxes[:, [0, 2]] = img_w - bboxes[:, [2, 0]]
        bboxes[:, 0::2] /= img_w
        bboxes[:, 1::2] /= img_h
        crop = img_meta.get('crop_quadruple')
        if crop is not None:
            x1, y1, tw, th = [float(v) for v in np.asarray(crop).tolist()]
            bboxes[:, 0::2] = bboxes[:, 0::2] * tw + x1
            bboxes[:, 1::2] = bboxes[:, 1::2] * th + y1
        results = InstanceData()
        results.bboxes = bboxes.clamp(0., 1.)
        results.scores = scores
        return results

    def predict(self, bboxes_list: Sequence[Tensor],
                cls_scores: Sequence[Tensor],
                batch_img_metas: Sequence[dict]) -> list:
        return [
            self.predict_by_feat(b, s, m)
            for b, s, m in zip(bboxes_list, cls_scores, batch_img_metas)
        ]
