"""Proposal-to-GT assignment and sampling for AVA, in pure PyTorch.

MMAction2 uses mmdet's ``MaxIoUAssigner`` (through ``MaxIoUAssignerAVA``) and
``RandomSampler`` for this; mmdet does not import without compiled mmcv ops, so
the same semantics are implemented here for multi-hot (multi-label) GT.
"""
from dataclasses import dataclass

import torch
from torch import Tensor

from mmaction.registry import TASK_UTILS


def bbox_overlaps(bboxes1: Tensor, bboxes2: Tensor,
                  eps: float = 1e-6) -> Tensor:
    """Pairwise IoU of boxes ``[m, 4]`` and ``[n, 4]`` -> ``[m, n]``.

    Boxes are ``(x1, y1, x2, y2)``.

    Areas are ``(x2 - x1) * (y2 - y1)`` (no +1), as in mmdet 3.x.
    """
    area1 = (bboxes1[:, 2] - bboxes1[:, 0]) * (bboxes1[:, 3] - bboxes1[:, 1])
    area2 = (bboxes2[:, 2] - bboxes2[:, 0]) * (bboxes2[:, 3] - bboxes2[:, 1])
    top_left = torch.max(bboxes1[:, None, :2], bboxes2[None, :, :2])
    bottom_right = torch.min(bboxes1[:, None, 2:], bboxes2[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = (area1[:, None] + area2[None, :] - overlap).clamp(min=eps)
    return overlap / union


@dataclass
class AssignResult:
    """Assignment of ``n`` priors.

    Attributes:
        gt_inds (Tensor): ``[n]`` long; 0 = negative, -1 = ignored,
            ``i > 0`` = positive, matched to GT ``i - 1``.
        max_overlaps (Tensor): ``[n]`` best IoU of each prior with any GT.
        labels (Tensor): ``[n, num_classes]`` multi-hot labels of the matched
            GT (zeros for non-positives).
    """
    gt_inds: Tensor
    max_overlaps: Tensor
    labels: Tensor

    def add_gt_(self, gt_labels: Tensor) -> None:
        """Prepend the GT boxes themselves as perfectly matching priors."""
        num_gts = gt_labels.size(0)
        self_inds = torch.arange(
            1, num_gts + 1, dtype=torch.long, device=gt_labels.device)
        self.gt_inds = torch.cat([self_inds, self.gt_inds])
        self.max_overlaps = torch.cat(
            [self.max_overlaps.new_ones(num_gts), self.max_overlaps])
        self.labels = torch.cat([gt_labels.to(self.labels.dtype), self.labels])


@dataclass
class SamplingResult:
    """Sampled priors of one clip.

    Attributes:
        pos_priors (Tensor): ``[p, 4]``.
        neg_priors (Tensor): ``[q, 4]``.
        pos_gt_labels (Tensor): ``[p, num_classes]`` multi-hot targets.
        pos_inds / neg_inds (Tensor): indices into the (GT-augmented) priors.
    """
    pos_priors: Tensor
    neg_priors: Tensor
    pos_gt_labels: Tensor
    pos_inds: Tensor
    neg_inds: Tensor

    @property
    def priors(self) -> Tensor:
        """Positives first, then negatives: ``[p + q, 4]``."""
        return torch.cat([self.pos_priors, self.neg_priors])


@TASK_UTILS.register_module()
class AVAMaxIoUAssigner:
    """Max-IoU assignment with multi-hot labels (AVA semantics).

    Same rules as mmdet's ``MaxIoUAssigner`` as used by MMAction2's
    ``MaxIoUAssignerAVA`` (``match_low_quality=True``,
    ``gt_max_assign_all=True``, no ignore regions):

    1. every prior starts as ignored (-1);
    2. priors whose best IoU is in ``[0, neg_iou_thr)`` become negatives;
    3. priors whose best IoU is ``>= pos_iou_thr`` become positives of their
       best GT;
    4. for each GT whose best IoU is ``>= min_pos_iou``, every prior reaching
       that best IoU is assigned to it (may overwrite step 3).

    Args:
        pos_iou_thr (float): Default: 0.9 (AVA).
        neg_iou_thr (float): Default: 0.9 (AVA).
        min_pos_iou (float): Default: 0.9 (AVA).
        gt_max_assign_all (bool): Step 4 assigns all priors tied at the
            best IoU (True) or only the first one. Default: True.
        match_low_quality (bool): Run step 4. Default: True.
    """

    def __init__(self,
                 pos_iou_thr: float = 0.9,
                 neg_iou_thr: float = 0.9,
                 min_pos_iou: float = 0.9,
                 gt_max_assign_all: bool = True,
                 match_low_quality: bool = True) -> None:
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.match_low_quality = match_low_quality

    def assign(self, priors: Tensor, gt_bboxes: Tensor,
               gt_labels: Tensor) -> AssignResult:
        """Assign ``priors [n, 4]`` to ``gt_bboxes [k, 4]``.

        ``gt_labels`` is ``[k, num_classes]`` (multi-hot float).
        """
        if gt_labels.ndim != 2:
            raise ValueError('AVA GT labels must be multi-hot [k, num_classes]'
                             f', got shape {tuple(gt_labels.shape)}')
        num_gts, num_priors = gt_bboxes.size(0), priors.size(0)
        gt_inds = priors.new_full((num_priors, ), -1, dtype=torch.long)
        labels = priors.new_zeros((num_priors, gt_labels.size(1)))
        if num_gts == 0 or num_priors == 0:
            if num_gts == 0:
                gt_inds[:] = 0
            return AssignResult(gt_inds, priors.new_zeros(num_priors), labels)

        overlaps = bbox_overlaps(gt_bboxes, priors)  # [k, n]
        max_overlaps, argmax_overlaps = overlaps.max(dim=0)
        gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)

        gt_inds[(max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)] = 0
        pos = max_overlaps >= self.pos_iou_thr
        gt_inds[pos] = argmax_overlaps[pos] + 1

        if self.match_low_quality:
            for i in range(num_gts):
                if gt_max_overlaps[i] < self.min_pos_iou:
                    continue
                if self.gt_max_assign_all:
                    gt_inds[overlaps[i] == gt_max_overlaps[i]] = i + 1
                else:
                    gt_inds[gt_argmax_overlaps[i]] = i + 1

        pos_inds = gt_inds > 0
        labels[pos_inds] = gt_labels[gt_inds[pos_inds] - 1].to(labels.dtype)
        return AssignResult(gt_inds, max_overlaps, labels)


@TASK_UTILS.register_module()
class AVARandomSampler:
    """Random positive/negative sampling (mmdet ``RandomSampler`` semantics).

    Args:
        num (int): Samples per clip. Default: 32.
        pos_fraction (float): Upper fraction of positives. Default: 1.0.
        neg_pos_ub (int): Upper bound of negatives per positive; -1 means no
            bound. Default: -1.
        add_gt_as_proposals (bool): Prepend the GT boxes to the priors.
            Default: True.
    """

    def __init__(self,
                 num: int = 32,
                 pos_fraction: float = 1.0,
                 neg_pos_ub: int = -1,
                 add_gt_as_proposals: bool = True) -> None:
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = add_gt_as_proposals

    @staticmethod
    def _random_choice(inds: Tensor, num: int) -> Tensor:
        if inds.numel() <= num:
            return inds
        perm = torch.randperm(inds.numel(), device=inds.device)[:num]
        return inds[perm]

    def sample(self, assign_result: AssignResult, priors: Tensor,
               gt_bboxes: Tensor, gt_labels: Tensor) -> SamplingResult:
        """Sample from ``priors [n, 4]``; ``assign_result`` is updated when
        GT boxes are added as proposals."""
        priors = priors[:, :4]
        if self.add_gt_as_proposals and gt_bboxes.size(0) > 0:
            priors = torch.cat([gt_bboxes[:, :4].to(priors.dtype), priors])
            assign_result.add_gt_(gt_labels)

        num_expected_pos = int(self.num * self.pos_fraction)
        pos_inds = torch.nonzero(
            assign_result.gt_inds > 0, as_tuple=False).flatten()
        pos_inds = self._random_choice(pos_inds, num_expected_pos).unique()

        num_expected_neg = self.num - pos_inds.numel()
        if self.neg_pos_ub >= 0:
            bound = int(self.neg_pos_ub * max(1, pos_inds.numel()))
            num_expected_neg = min(num_expected_neg, bound)
        neg_inds = torch.nonzero(
            assign_result.gt_inds == 0, as_tuple=False).flatten()
        neg_inds = self._random_choice(neg_inds, num_expected_neg).unique()

        return SamplingResult(
            pos_priors=priors[pos_inds],
            neg_priors=priors[neg_inds],
            pos_gt_labels=assign_result.labels[pos_inds],
            pos_inds=pos_inds,
            neg_inds=neg_inds)
