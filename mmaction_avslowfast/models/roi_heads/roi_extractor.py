from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmaction.registry import MODELS
from .roi_align import RoIAlign


@MODELS.register_module()
class AVRoIExtractor3D(nn.Module):
    """3D RoI features from one or more visual feature maps (e.g. Slow, Fast).

    Same semantics as MMAction2's ``SingleRoIExtractor3D`` with
    ``roi_layer_type='RoIAlign'``, without compiled mmcv ops: every map is
    resized (nearest) to the largest T and to the first map's H, W, pooled
    over time, concatenated along channels and RoIAligned per time step.

    Args:
        featmap_stride (int): Stride of the maps w.r.t. the input frames.
            Default: 16 (SlowFast with ``spatial_strides=(1, 2, 2, 1)``).
        output_size (int | tuple[int, int]): RoIAlign output. Default: 8.
        sampling_ratio (int): 0 = adaptive. Default: 0.
        aligned (bool): Pixel-centre alignment. Default: True.
        with_temporal_pool (bool): Pool each map over time first.
            Default: True.
        temporal_pool_mode (str): ``'avg'`` or ``'max'``. Default: ``'avg'``.
        roi_align_backend (str): ``'auto'``, ``'mmcv'`` or ``'torchvision'``.
            Default: ``'auto'``.

    Shapes:
        feats: tuple of ``[N, C_i, T_i, H_i, W_i]``; rois ``[K, 5]`` in input
        pixels -> ``[K, sum(C_i), T', out, out]`` (``T' = 1`` with temporal
        pooling, else ``max(T_i)``).
    """

    def __init__(self,
                 featmap_stride: int = 16,
                 output_size: Union[int, Tuple[int, int]] = 8,
                 sampling_ratio: int = 0,
                 aligned: bool = True,
                 with_temporal_pool: bool = True,
                 temporal_pool_mode: str = 'avg',
                 roi_align_backend: str = 'auto') -> None:
        super().__init__()
        if temporal_pool_mode not in ('avg', 'max'):
            raise ValueError('temporal_pool_mode must be "avg" or "max", got '
                             f'{temporal_pool_mode!r}')
        self.featmap_stride = featmap_stride
        self.with_temporal_pool = with_temporal_pool
        self.temporal_pool_mode = temporal_pool_mode
        self.roi_layer = RoIAlign(
            output_size,
            spatial_scale=1. / featmap_stride,
            sampling_ratio=sampling_ratio,
            aligned=aligned,
            backend=roi_align_backend)

    def _merge_pathways(self, feats: Sequence[Tensor]) -> Tensor:
        if len(feats) > 1:
            max_t = max(x.shape[2] for x in feats)
            shape = (max_t, ) + tuple(feats[0].shape[3:])
            feats = [
                x if tuple(x.shape[2:]) == shape else F.interpolate(x, shape)
                for x in feats
            ]
        if self.with_temporal_pool:
            if self.temporal_pool_mode == 'avg':
                feats = [x.mean(dim=2, keepdim=True) for x in feats]
            else:
                feats = [x.amax(dim=2, keepdim=True) for x in feats]
        return torch.cat(list(feats), dim=1)

    def forward(self, feats: Union[Tensor, Sequence[Tensor]],
                rois: Tensor) -> Tensor:
        if isinstance(feats, Tensor):
            feats = (feats, )
        feat = self._merge_pathways(feats)
        roi_feats = [
            self.roi_layer(feat[:, :, t].contiguous(), rois)
            for t in range(feat.size(2))
        ]
        return torch.stack(roi_feats, dim=2)
