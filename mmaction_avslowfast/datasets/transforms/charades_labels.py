"""Multi-label targets of Charades-style annotations (actions as time
intervals), computed after the frames are sampled.

An action is *active during a clip* when its interval ``[start, end]``
(seconds of video time) overlaps the clip's time span ``[t_first,
t_last + 1 / fps)``, where ``t_first`` / ``t_last`` are the times of the
clip's first / last sampled frame (``(frame_ind - start_index) / fps``):
``start < t_last + 1 / fps`` and ``end > t_first``; a zero-length action
(``start == end``) is active when ``t_first <= start < t_last + 1 / fps``.
The span covers every frame from the first to the last sampled one, each
frame lasting ``1 / fps``: PySlowFast's Charades rule (the union of the
labels of the frames ``seq[0] .. seq[-1]``, ``slowfast/datasets/
charades.py``). A sample of several clips gets the union over its clips.
"""
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ...audio import clip_time_spans


def multi_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """float32 ``[num_classes]`` vector, 1 at ``labels`` (int ``[K]``)."""
    target = np.zeros(num_classes, np.float32)
    target[np.asarray(labels, np.int64)] = 1.0
    return target


def active_actions(action_labels: np.ndarray, action_spans: np.ndarray,
                   t_first: float, t_end: float) -> np.ndarray:
    """Labels of the actions active in ``[t_first, t_end)`` (module rule).

    Args:
        action_labels (np.ndarray): int ``[K]`` class ids.
        action_spans (np.ndarray): float ``[K, 2]`` (start, end) seconds.
        t_first (float): Time of the first frame of the clip.
        t_end (float): Time of the last frame plus one frame duration.

    Returns:
        np.ndarray: int64 ``[M]`` sorted unique class ids.
    """
    spans = np.asarray(action_spans, np.float64).reshape(-1, 2)
    start, end = spans[:, 0], spans[:, 1]
    overlap = (start < t_end) & (end > t_first)
    point = (start == end) & (start >= t_first) & (start < t_end)
    return np.unique(np.asarray(action_labels, np.int64)[overlap | point])


@TRANSFORMS.register_module()
class CharadesClipLabel(BaseTransform):
    """Set ``label`` to the float multi-hot target of the sampled clip(s).

    Place after the frame sampler (``SampleFrames``) and the decoder
    (which sets ``avg_fps``); :class:`PackAVInputs` keeps the float vector
    as a float32 ``gt_label`` for ``BCELossWithLogits``.

    Training (``video_level=False``): the actions active during the clip
    (see the module docstring for the overlap rule). Validation / test
    (``video_level=True``): every action of the video, whatever the clip
    (the target the views' aggregated scores are compared with). A video
    without actions gets all zeros.

    Required keys: ``action_labels`` (int ``[K]``), ``action_spans``
    (float ``[K, 2]``, seconds), ``num_classes`` (from
    ``CharadesDataset``); for clip targets also ``frame_inds``,
    ``num_clips`` and ``avg_fps`` (``DecordInit``) or ``fps``. Optional:
    ``start_index`` (default 0).

    Added / modified keys: ``label`` float32 ``[num_classes]``.

    Args:
        video_level (bool): Video-level target instead of the clip's.
            Default: False.
        num_classes (int, optional): Length of the target; default: the
            sample's ``num_classes``.
    """

    def __init__(self,
                 video_level: bool = False,
                 num_classes: Optional[int] = None) -> None:
        self.video_level = video_level
        self.num_classes = num_classes

    def transform(self, results: Dict) -> Dict:
        num_classes = self.num_classes or results.get('num_classes')
        if not num_classes:
            raise KeyError('CharadesClipLabel needs "num_classes" in the '
                           'results (CharadesDataset) or as an argument')
        labels = results['action_labels']
        if self.video_level:
            results['label'] = multi_hot(labels, num_classes)
            return results
        fps = results.get('avg_fps', results.get('fps'))
        if 'frame_inds' not in results or not fps:
            raise KeyError('CharadesClipLabel needs "frame_inds" and '
                           '"avg_fps" (place it after SampleFrames and '
                           'DecordInit / CheckedDecordInit)')
        spans = clip_time_spans(results['frame_inds'],
                                results.get('num_clips', 1), fps,
                                start_index=results.get('start_index', 0))
        active = [
            active_actions(labels, results['action_spans'], first,
                           last + 1.0 / fps) for first, last in spans
        ]
        results['label'] = multi_hot(np.concatenate(active), num_classes)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(video_level={self.video_level}, '
                f'num_classes={self.num_classes})')
