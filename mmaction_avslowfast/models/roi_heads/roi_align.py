"""RoIAlign without compiled mmcv ops.

``mmcv.ops.RoIAlign`` needs ``mmcv._ext``, which mmcv-lite does not ship and
which does not build against torch >= 2.6. ``torchvision.ops.roi_align`` has
the same semantics for ``pool_mode='avg'``: rois ``(batch_idx, x1, y1, x2,
y2)``, ``aligned=True`` shifts the box by -0.5 px (pixel centres), and
``sampling_ratio <= 0`` samples ``ceil(roi_size / output_size)`` points per
bin.
"""
from typing import Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

ROI_ALIGN_BACKENDS = ('auto', 'mmcv', 'torchvision')


def _pair(size: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    return tuple(size)


def mmcv_roi_align_available() -> bool:
    """Whether ``mmcv.ops.RoIAlign`` imports (a full, compiled mmcv)."""
    try:
        from mmcv.ops import RoIAlign  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_roi_align_backend(backend: str = 'auto') -> str:
    """Resolve ``'auto'``: ``'mmcv'`` when it imports, else
    ``'torchvision'``."""
    if backend not in ROI_ALIGN_BACKENDS:
        raise ValueError(f'RoIAlign backend must be one of '
                         f'{ROI_ALIGN_BACKENDS}, got {backend!r}')
    if backend == 'auto':
        return 'mmcv' if mmcv_roi_align_available() else 'torchvision'
    if backend == 'mmcv' and not mmcv_roi_align_available():
        raise ImportError('roi_align backend="mmcv" was requested but '
                          '`mmcv.ops.RoIAlign` does not import (mmcv-lite or '
                          'an mmcv built without ops); use "torchvision".')
    return backend


class RoIAlign(nn.Module):
    """2D RoIAlign with average pooling, backed by mmcv or torchvision.

    Args:
        output_size (int | tuple[int, int]): ``(out_h, out_w)``.
        spatial_scale (float): Feature-map scale relative to the box
            coordinates, i.e. ``1 / featmap_stride``.
        sampling_ratio (int): Sampling points per bin side; ``<= 0`` means
            adaptive (``ceil(roi_size / output_size)``). Default: 0.
        aligned (bool): Use pixel-centre alignment (-0.5 px). Default: True.
        backend (str): ``'auto'`` (mmcv when it imports, else torchvision),
            ``'mmcv'`` or ``'torchvision'``. Default: ``'auto'``.

    Shapes:
        feats ``[N, C, H, W]``, rois ``[K, 5]`` -> ``[K, C, out_h, out_w]``.
    """

    def __init__(self,
                 output_size: Union[int, Tuple[int, int]],
                 spatial_scale: float,
                 sampling_ratio: int = 0,
                 aligned: bool = True,
                 backend: str = 'auto') -> None:
        super().__init__()
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = aligned
        self.backend = resolve_roi_align_backend(backend)
        if self.backend == 'mmcv':
            from mmcv.ops import RoIAlign as MMCVRoIAlign
            self._mmcv_op = MMCVRoIAlign(
                self.output_size,
                self.spatial_scale,
                sampling_ratio=self.sampling_ratio,
                pool_mode='avg',
                aligned=self.aligned)

    def forward(self, feats: Tensor, rois: Tensor) -> Tensor:
        if rois.ndim != 2 or rois.shape[1] != 5:
            raise ValueError('rois must be [K, 5] (batch_idx, x1, y1, x2, '
                             f'y2), got shape {tuple(rois.shape)}')
        rois = rois.to(feats.dtype)
        if self.backend == 'mmcv':
            return self._mmcv_op(feats, rois)
        from torchvision.ops import roi_align
        return roi_align(
            feats,
            rois,
            output_size=self.output_size,
            spatial_scale=self.spatial_scale,
            sampling_ratio=self.sampling_ratio,
            aligned=self.aligned)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, '
                f'spatial_scale={self.spatial_scale}, '
                f'sampling_ratio={self.sampling_ratio}, '
                f'aligned={self.aligned}, backend={self.backend!r}')


def bbox2roi(bbox_list) -> Tensor:
    """Stack per-sample boxes into rois ``[K, 5]`` = ``(batch_idx, x1..y2)``.

    Args:
        bbox_list (list[Tensor]): ``[n_i, 4]`` boxes of each sample.
    """
    rois = []
    for batch_idx, bboxes in enumerate(bbox_list):
        idx = bboxes.new_full((bboxes.size(0), 1), batch_idx)
        rois.append(torch.cat([idx, bboxes[:, :4]], dim=1))
    return torch.cat(rois, dim=0)
