"""Slide a recognizer over a long video: one clip every ``stride`` seconds.

Each window is one clip of the config's test sampler (same ``clip_len`` and
``frame_interval``) starting ``stride`` s after the previous one, with its
own audio (the log-mel of the same frames, as in training and testing).
Multi-crop test views (``ThreeCrop`` / ``TenCrop``) become ``CenterCrop``,
as in ``MMAction2Inferencer``, so every window is one view and its score
is the head's output for that view (softmax with ``average_clips='prob'``).
Windows are decoded and predicted ``batch_size`` at a time.
"""
import copy
import csv
import json
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np
import torch
from mmaction.datasets.transforms import SampleFrames

from .conditions import check_blank, forward_blanked, pipeline_silence_value
from .inference import (build_test_pipeline, run_test_pipeline,
                        test_pipeline_cfg, video_input)
from .labels import class_label


class WindowFrames(SampleFrames):
    """``SampleFrames`` with given clip offsets (frames from the first
    frame) instead of its own; out-of-bound frames follow
    ``out_of_bound_opt`` as in ``SampleFrames`` (``'loop'``: a video
    shorter than one clip is looped). Not registered: built by
    :func:`inference_timeline` for each batch of windows."""

    def __init__(self, offsets: Sequence[int], **kwargs) -> None:
        kwargs.update(num_clips=len(offsets), test_mode=True,
                      temporal_jitter=False, twice_sample=False)
        super().__init__(**kwargs)
        self.offsets = np.asarray(offsets, dtype=np.int64)

    def _sample_clips(self, num_frames: int,
                      ori_clip_len: float) -> np.ndarray:
        return self.offsets


class Timeline(NamedTuple):
    """Scores of consecutive windows of one video.

    Attributes:
        starts (np.ndarray): ``[W]`` time (s) of each window's first frame.
        ends (np.ndarray): ``[W]`` time (s) of its last frame.
        scores (np.ndarray): ``[W, num_classes]``.
        stride (float): Requested seconds between window starts.
        looped (bool): The video is shorter than one clip (one looped
            window).
    """
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray
    stride: float
    looped: bool

    @property
    def centers(self) -> np.ndarray:
        """``[W]`` middle time (s) of each window."""
        return (self.starts + self.ends) / 2

    def top1_segments(self) -> List[Dict]:
        """Runs of consecutive windows with the same top-1 class:
        ``dict(label, start, end, mean_score, windows)`` with start/end the
        first and last window centre (s)."""
        top1 = self.scores.argmax(axis=1)
        segments = []
        for i, label in enumerate(top1):
            if segments and segments[-1]['label'] == label:
                segments[-1]['rows'].append(i)
            else:
                segments.append(dict(label=int(label), rows=[i]))
        centers = self.centers
        return [
            dict(label=s['label'], start=float(centers[s['rows'][0]]),
                 end=float(centers[s['rows'][-1]]), windows=len(s['rows']),
                 mean_score=float(self.scores[s['rows'], s['label']].mean()))
            for s in segments
        ]


def _sampler_index(steps: List[dict]) -> int:
    for i, step in enumerate(steps):
        if isinstance(step, dict) and step.get('type') == 'SampleFrames':
            return i
    raise ValueError('the test pipeline has no SampleFrames; the timeline '
                     'needs its clip_len and frame_interval')


def window_offsets(total_frames: int, fps: float, clip_span: int,
                   stride: float) -> np.ndarray:
    """First frame of every window: ``round(k * stride * fps)`` for each
    window that fits in the video (one window, looped, when none does).

    Args:
        total_frames (int): Frames of the video.
        fps (float): Its frame rate.
        clip_span (int): Frames one clip covers, first to last + 1.
        stride (float): Seconds between window starts (> 0).
    """
    if stride <= 0:
        raise ValueError(f'stride must be positive, got {stride}')
    last = total_frames - clip_span
    if last <= 0:
        return np.zeros(1, np.int64)
    offsets = np.round(np.arange(0, last / fps + 1e-9, stride) * fps)
    return np.unique(np.minimum(offsets, last).astype(np.int64))


def inference_timeline(model: torch.nn.Module,
                       video: str,
                       stride: float = 1.0,
                       batch_size: int = 8,
                       blank: Optional[str] = None) -> Timeline:
    """Scores of one window every ``stride`` seconds.

    Args:
        model (nn.Module): From :func:`init_av_recognizer`.
        video (str): Video file.
        stride (float): Seconds between window starts. Default: 1.
        batch_size (int): Windows decoded and predicted together.
            Default: 8.
        blank (str, optional): As :func:`inference_av`.

    Returns:
        Timeline: ``scores [W, num_classes]`` and the windows' times.
    """
    check_blank(blank)
    steps = test_pipeline_cfg(model.cfg)
    for step in steps:
        if step.get('type') in ('ThreeCrop', 'TenCrop'):
            step['type'] = 'CenterCrop'
    i = _sampler_index(steps)
    sampler_cfg = {k: v for k, v in steps[i].items()
                   if k not in ('type', 'num_clips', 'test_mode',
                                'twice_sample', 'temporal_jitter')}
    opening = build_test_pipeline(model.cfg, steps[:i])
    rest = build_test_pipeline(model.cfg, steps[i + 1:])
    silence = pipeline_silence_value(rest)

    head = opening(video_input(video))
    total, fps = head['total_frames'], head['avg_fps']
    span = (sampler_cfg['clip_len'] - 1) * sampler_cfg.get(
        'frame_interval', 1) + 1
    offsets = window_offsets(total, fps, span, stride)
    scores = []
    for first in range(0, len(offsets), batch_size):
        chunk = offsets[first:first + batch_size]
        sampler = WindowFrames(chunk, **sampler_cfg)
        data = sampler(opening(video_input(video)))
        packed, _ = run_test_pipeline(rest, data)
        scores.append(_predict_views(model, packed, blank, silence))
    starts = offsets / fps
    return Timeline(starts=starts, ends=starts + (span - 1) / fps,
                    scores=np.concatenate(scores), stride=float(stride),
                    looped=span > total)


def _predict_views(model, packed: Dict, blank, silence) -> np.ndarray:
    """``[V, num_classes]``: every view of one packed sample predicted as
    its own sample (one window = one view)."""
    num_views = packed['inputs']['imgs'].shape[0]
    views = [
        dict(inputs={m: x[v:v + 1] for m, x in packed['inputs'].items()},
             data_samples=packed['data_samples']) for v in range(num_views)
    ]
    results = forward_blanked(model, views, blank, silence)
    return np.stack([r.pred_score.cpu().numpy() for r in results])


def timeline_rows(timeline: Timeline,
                  class_names: Optional[Sequence[str]] = None) -> List[Dict]:
    """One dict per window: ``start``, ``end``, ``center`` (s), ``top1``
    (name) and every class's score by name."""
    names = [class_label(c, class_names)
             for c in range(timeline.scores.shape[1])]
    rows = []
    for k, center in enumerate(timeline.centers):
        row = dict(start=round(float(timeline.starts[k]), 4),
                   end=round(float(timeline.ends[k]), 4),
                   center=round(float(center), 4),
                   top1=names[int(timeline.scores[k].argmax())])
        row.update({n: round(float(s), 6)
                    for n, s in zip(names, timeline.scores[k])})
        rows.append(row)
    return rows


def save_timeline(timeline: Timeline, csv_path: str, json_path: str,
                  class_names: Optional[Sequence[str]] = None,
                  meta: Optional[Dict] = None) -> None:
    """Write the windows' scores as CSV (one row per window, one column per
    class) and JSON (``meta``, ``stride``, ``classes``, ``windows`` and the
    ``top1_segments``)."""
    rows = timeline_rows(timeline, class_names)
    with open(csv_path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    names = [class_label(c, class_names)
             for c in range(timeline.scores.shape[1])]
    segments = copy.deepcopy(timeline.top1_segments())
    for seg in segments:
        seg['label'] = names[seg['label']]
    with open(json_path, 'w', encoding='utf-8') as f:
        json.dump(dict(meta or {}, stride=timeline.stride,
                       looped=timeline.looped, classes=names,
                       windows=rows, top1_segments=segments), f, indent=1)
