from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmaction.registry import MODELS, TASK_UTILS
from .assigners import SamplingResult
from .roi_align import bbox2roi


@MODELS.register_module()
class AVRoIHead(BaseModule):
    """AVA RoI head for audiovisual backbones.

    AVA semantics of MMAction2's ``AVARoIHead`` + ``BBoxHeadAVA`` (proposals
    plus GT boxes as RoIs, max-IoU assignment, multi-label classification),
    with the audio pathway's globally pooled feature of each clip joined to
    every RoI of that clip.

    Args:
        bbox_roi_extractor (dict): e.g. ``AVRoIExtractor3D``.
        bbox_head (dict): e.g. ``AVBBoxHead``.
        visual_indices (Sequence[int]): Which backbone outputs are visual maps
            ``[N, C, T, H, W]`` for RoIAlign. Default: (0, 1) (Slow, Fast).
        audio_index (int, optional): Which backbone output is the audio map
            ``[N, C_a, T_a, F_a]``; None for a visual-only head. Default: 2.
        train_cfg (dict, optional): ``assigner`` and ``sampler`` configs
            (``TASK_UTILS``), required for :meth:`loss`.
        init_cfg (dict, optional): Default: None.
    """

    def __init__(self,
                 bbox_roi_extractor: dict,
                 bbox_head: dict,
                 visual_indices: Sequence[int] = (0, 1),
                 audio_index: Optional[int] = 2,
                 train_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        self.bbox_head = MODELS.build(bbox_head)
        self.visual_indices = tuple(visual_indices)
        self.audio_index = audio_index
        self.train_cfg = train_cfg
        self.bbox_assigner = None
        self.bbox_sampler = None
        if train_cfg is not None:
            missing = {'assigner', 'sampler'} - set(train_cfg)
            if missing:
                raise KeyError(f'AVRoIHead train_cfg lacks {sorted(missing)}')
            self.bbox_assigner = TASK_UTILS.build(train_cfg['assigner'])
            self.bbox_sampler = TASK_UTILS.build(train_cfg['sampler'])

    def _split_feats(
            self,
            feats: Sequence[Tensor]) -> Tuple[tuple, Optional[Tensor]]:
        if isinstance(feats, Tensor):
            feats = (feats, )
        visual = tuple(feats[i] for i in self.visual_indices)
        audio = None if self.audio_index is None else feats[self.audio_index]
        return visual, audio

    def forward_rois(self, feats: Sequence[Tensor], rois: Tensor) -> Tensor:
        """Logits ``[K, num_classes]`` for rois ``[K, 5]`` (input pixels).

        ``feats`` is the backbone output, e.g. ``(slow [N, Cs, Ts, h, w],
        fast [N, Cf, Tf, h, w], audio [N, Ca, Ta, Fa])``.
        """
        visual, audio = self._split_feats(feats)
        roi_feats = self.bbox_roi_extractor(visual, rois)
        audio_feats = None
        if audio is not None:
            pooled = audio.flatten(2).mean(dim=2)  # [N, Ca]
            audio_feats = pooled[rois[:, 0].long()]
        return self.bbox_head(roi_feats, audio_feats)

    def sample(self, proposals: Sequence[Tensor],
               gt_bboxes: Sequence[Tensor],
               gt_labels: Sequence[Tensor]) -> List[SamplingResult]:
        """Assign and sample RoIs of each clip (GT boxes added as RoIs)."""
        if self.bbox_assigner is None:
            raise RuntimeError('AVRoIHead was built without train_cfg, so it '
                               'cannot compute losses')
        results = []
        for priors, bboxes, labels in zip(proposals, gt_bboxes, gt_labels):
            assign = self.bbox_assigner.assign(priors, bboxes, labels)
            results.append(
                self.bbox_sampler.sample(assign, priors, bboxes, labels))
        return results

    def loss(self, feats: Sequence[Tensor], proposals: Sequence[Tensor],
             gt_bboxes: Sequence[Tensor],
             gt_labels: Sequence[Tensor]) -> Dict[str, Tensor]:
        """Losses of a batch.

        Args:
            feats (Sequence[Tensor]): Backbone outputs.
            proposals (Sequence[Tensor]): ``[n_i, 4]`` per clip, input pixels.
            gt_bboxes (Sequence[Tensor]): ``[k_i, 4]`` per clip, input pixels.
            gt_labels (Sequence[Tensor]): ``[k_i, num_classes]`` multi-hot.
        """
        sampling_results = self.sample(proposals, gt_bboxes, gt_labels)
        rois = bbox2roi([res.priors for res in sampling_results])
        cls_score = self.forward_rois(feats, rois)
        # Negatives get all-zero targets (appended after the positives).
        labels = [
            F.pad(res.pos_gt_labels, (0, 0, 0, res.neg_priors.size(0)))
            for res in sampling_results
        ]
        return self.bbox_head.loss(cls_score, torch.cat(labels))

    def predict(self, feats: Sequence[Tensor], proposals: Sequence[Tensor],
                batch_img_metas: Sequence[dict]) -> List[InstanceData]:
        """``InstanceData(bboxes [n_i, 4] in [0, 1], scores [n_i, C])`` per
        clip."""
        rois = bbox2roi(list(proposals))
        cls_score = self.forward_rois(feats, rois)
        cls_scores = cls_score.split([len(p) for p in proposals], dim=0)
        return self.bbox_head.predict(proposals, cls_scores, batch_img_metas)

