from .assigners import (AssignResult, AVAMaxIoUAssigner, AVARandomSampler,
                        SamplingResult, bbox_overlaps)
from .bbox_head import AVBBoxHead
from .roi_align import (RoIAlign, bbox2roi, mmcv_roi_align_available,
                        resolve_roi_align_backend)
from .roi_extractor import AVRoIExtractor3D
from .roi_head import AVRoIHead

__all__ = [
    'AssignResult', 'AVAMaxIoUAssigner', 'AVARandomSampler', 'SamplingResult',
    'bbox_overlaps', 'AVBBoxHead', 'RoIAlign', 'bbox2roi',
    'mmcv_roi_align_available', 'resolve_roi_align_backend',
    'AVRoIExtractor3D', 'AVRoIHead'
]
