"""Clip/time alignment: which log-mel frames each sampled clip (and its AVS
negative) reads.

Time convention: ``t = 0`` is the first video frame. A log-mel frame ``k``
of a track whose first sample lies at ``offset`` seconds covers samples
``[k * hop, k * hop + n_fft)``, i.e. it starts at ``offset + k * hop / sr``.

Audio follows the sampled frames (:func:`clip_frame_positions`): output
frame ``j`` of a clip (``num_frames`` of them) reads log-mel frame
``floor(p_j)``. A clip whose frame indices are strictly increasing (every
clip of a video long enough for the sampler, also jittered ones such as
``SampleAVAFrames``' training clips) reads its first-to-last frame time
linearly, ``p = linspace(start, end, num_frames)``, as it always did. Any
other clip (looped by ``SampleFrames``' ``'loop'``, repeated by
``'repeat_last'`` or by clamping at the video's ends, out of order) maps
``j`` to the frame slot ``x_j = j * (L - 1) / (num_frames - 1)`` of its
``L`` frames and reads the time of frame ``inds[floor(x_j)]`` plus
``frac(x_j) * dt``, ``dt`` being the clip's frame spacing (the most common
positive difference of consecutive indices, ties to the largest, 0 when
none, over ``fps``): each sampled frame carries the audio of its own
moment, so looped frames get looped audio. Both rules agree on evenly
spaced clips; these use the linear formula so that their features stay
bit for bit what they were. The negative of a clip is the same position pattern
shifted by at least ``negative_gap`` frames.
"""
import math
from typing import NamedTuple, Optional, Union

import numpy as np

from .logmel import LOG_EPS, LOGMEL_MEAN, LOGMEL_STD, normalize_logmel


def _split_clips(frame_inds, num_clips: int, fps: float) -> np.ndarray:
    """Checked float64 ``[num_clips, clip_len]`` frame indices."""
    frame_inds = np.asarray(frame_inds).reshape(-1)
    if num_clips <= 0 or frame_inds.size % num_clips:
        raise ValueError(f'{frame_inds.size} frame_inds cannot be split into '
                         f'num_clips={num_clips} clips')
    if not fps or fps <= 0:
        raise ValueError(f'fps must be positive, got {fps}')
    return frame_inds.reshape(num_clips, -1).astype(np.float64)


def clip_time_spans(frame_inds: np.ndarray,
                    num_clips: int,
                    fps: float,
                    start_index: int = 0,
                    time_offset: float = 0.0) -> np.ndarray:
    """Time span of each sampled clip, first to last frame.

    Args:
        frame_inds (np.ndarray): ``[num_clips * clip_len]`` frame indices as
            written by ``SampleFrames`` / ``SampleAVAFrames`` (they include
            ``start_index``).
        num_clips (int): Number of clips laid out consecutively.
        fps (float): Frames per second of the indexed frames.
        start_index (int): Index of the first frame (0 for videos, 1 for
            ``img_00001.jpg`` rawframes).
        time_offset (float): Seconds added to every frame time (e.g. where
            the frame sequence starts inside the audio file).

    Returns:
        np.ndarray: float64 ``[num_clips, 2]`` (start, end) in seconds.
    """
    clips = _split_clips(frame_inds, num_clips, fps)
    spans = np.stack([clips.min(axis=1), clips.max(axis=1)], axis=1)
    return (spans - start_index) / float(fps) + time_offset


class ClipFrames(NamedTuple):
    """Sampled clips as their audio is read (:func:`clip_frame_times`).

    Attributes:
        times (np.ndarray): float64 ``[num_clips, clip_len]`` time (s) of
            every sampled frame, in sampling order.
        regular (np.ndarray): bool ``[num_clips]``: the indices are strictly
            increasing (or the clip has one frame): read linearly.
        step (np.ndarray): float64 ``[num_clips]`` frame spacing ``dt`` (s).
    """
    times: np.ndarray
    regular: np.ndarray
    step: np.ndarray


def _frame_step(diffs: np.ndarray) -> float:
    """Most common positive index difference (ties: the largest; 0 if
    none). Loop wrap-arounds, clamped repeats and jitter are outvoted."""
    if diffs.size and diffs[0] > 0 and (diffs == diffs[0]).all():
        return float(diffs[0])  # evenly spaced (np.unique: ~30 us)
    values, counts = np.unique(diffs[diffs > 0], return_counts=True)
    return float(values[counts == counts.max()].max()) if values.size else 0.


def clip_frame_times(frame_inds: np.ndarray,
                     num_clips: int,
                     fps: float,
                     start_index: int = 0,
                     time_offset: float = 0.0) -> ClipFrames:
    """Time of every sampled frame, for :func:`logmel_clips` and
    :func:`~.spans.span_clips` (arguments as :func:`clip_time_spans`).

    ``dt`` is derived from the clip itself, not taken from
    ``results['frame_interval']`` (``UniformSample`` leaves it None): the
    most common positive step is the sampler's ``frame_interval`` for
    looped, repeated and clamped clips (wrap-arounds are negative, repeats
    zero), and the step the video actually shows when the loop is shorter
    than the interval (e.g. 3 frames, interval 4: ``0, 1, 2, 0, ...``).

    Returns:
        ClipFrames: times ``[num_clips, clip_len]``, regularity, ``dt``.
    """
    clips = _split_clips(frame_inds, num_clips, fps)
    diffs = np.diff(clips, axis=1)
    regular = np.all(diffs > 0, axis=1)  # read first..last linearly
    step = np.array([_frame_step(d) for d in diffs]) / float(fps)
    return ClipFrames((clips - start_index) / float(fps) + time_offset,
                      regular, step)


def sample_negative_start(start: float, length: float, total: int, gap: float,
                          rng: Optional[np.random.RandomState] = None
                          ) -> float:
    """Start (frames) of an AVS hard negative from the same track.

    Uniform over ``[0, start - gap] U [start + gap, total - 1 - length]``
    (the negative stays inside the track). When the track is too short for
    that, the shift of ``gap`` in the roomier direction is used; frames
    beyond the track then read as silence. ``|result - start| >= gap``
    always holds.
    """
    rng = np.random if rng is None else rng
    last = max(total - 1 - length, 0.0)
    left = (0.0, start - gap)
    right = (start + gap, last)
    sizes = [max(hi - lo, 0.0) for lo, hi in (left, right)]
    ok = [hi >= lo for lo, hi in (left, right)]
    if not any(ok):
        return start + gap if last - start >= start else start - gap
    if sum(sizes) == 0:
        return left[1] if ok[0] else right[0]
    u = rng.uniform(0, sum(sizes))
    if u < sizes[0]:
        return left[0] + u
    return right[0] + (u - sizes[0])


def clip_frame_positions(clips: Union[ClipFrames, np.ndarray],
                         num_frames: int,
                         frame_rate: float,
                         audio_offset: float = 0.0,
                         total: int = 0,
                         with_negative: bool = False,
                         negative_gap: float = 32,
                         rng: Optional[np.random.RandomState] = None
                         ) -> np.ndarray:
    """Fractional log-mel frame read by every output frame of every clip
    (and negative); the rule is in the module docstring.

    Args:
        clips (ClipFrames | np.ndarray): From :func:`clip_frame_times`, or
            ``[num_clips, 2]`` (start, end) times (s) read linearly.
        num_frames (int): Output frames per clip.
        frame_rate (float): Log-mel frames per second (sr / hop).
        audio_offset (float): Time (s) of the track's first sample.
        total (int): Log-mel frames of the whole track (only used to draw
            the negatives).
        with_negative (bool): Add a hard negative per clip (channel 1): the
            clip's positions shifted by :func:`sample_negative_start` of
            the range they cover (the draw of :func:`sample_negative_start`).
        negative_gap (float): Minimum negative shift, in frames.
        rng: Random state for the negatives (default ``np.random``).

    Returns:
        np.ndarray: float64 ``[num_clips, 1 or 2, num_frames]``.
    """
    if not isinstance(clips, ClipFrames):
        spans = np.asarray(clips, np.float64).reshape(-1, 2)
        clips = ClipFrames(spans, np.ones(len(spans), bool),
                           spans[:, 1] - spans[:, 0])
    # x_j = j (L - 1) / (num_frames - 1) = slot + frac, in integers
    num = np.arange(num_frames) * (clips.times.shape[1] - 1)
    den = max(num_frames - 1, 1)
    slot, frac = num // den, (num % den) / den
    views = []
    for times, regular, step in zip(*clips):
        if regular:  # bit for bit the linear span of the first/last frame
            lo, hi = (times[[0, -1]] - audio_offset) * frame_rate
            pos = np.linspace(lo, hi, num_frames)
        else:
            pos = (times[slot] + frac * step - audio_offset) * frame_rate
            lo, hi = pos.min(), pos.max()
        channels = [pos]
        if with_negative:
            neg = sample_negative_start(lo, hi - lo, total, negative_gap, rng)
            channels.append(
                np.linspace(neg, neg + hi - lo, num_frames) if regular else
                pos + (neg - lo))
        views.append(channels)
    return np.asarray(views, np.float64).reshape(len(views), -1, num_frames)


def _gather(segments, positions: np.ndarray, width: int,
            fill: float = math.log(LOG_EPS)) -> np.ndarray:
    """Log-mel frame ``floor(p)`` for each position ``p``, from the
    ``(first frame, [n, width] features)`` segments; ``fill`` (silence)
    elsewhere. The features may also be the frames' sample windows
    (``width = n_fft``, ``fill = 0``: see :mod:`.spans`).

    Returns:
        np.ndarray: float32 ``[*positions.shape, width]``.
    """
    index = np.floor(positions).astype(np.int64)
    out = np.full(index.shape + (width, ), fill, np.float32)
    for first, feats in segments:
        hit = (index >= first) & (index < first + len(feats))
        out[hit] = feats[index[hit] - first]
    return out


def logmel_clips(logmel: np.ndarray,
                 spans: Union[ClipFrames, np.ndarray],
                 frame_rate: float,
                 audio_offset: float = 0.0,
                 num_frames: int = 128,
                 with_negative: bool = False,
                 negative_gap: float = 32,
                 mean: float = LOGMEL_MEAN,
                 std: float = LOGMEL_STD,
                 rng: Optional[np.random.RandomState] = None) -> np.ndarray:
    """Cut aligned (and negative) clips from full-track log-mel features.

    Args:
        logmel (np.ndarray): ``[T, F]`` un-normalised log-mel of the track.
        spans (ClipFrames | np.ndarray): The clips' frame times
            (:func:`clip_frame_times`), or ``[num_clips, 2]`` (start, end)
            times (s) read linearly; video time.
        frame_rate (float): Log-mel frames per second (sr / hop).
        audio_offset (float): Time (s) of the track's first sample.
        num_frames (int): Frames per clip. Default: 128.
        with_negative (bool): Add the hard negative as channel 1.
        negative_gap (float): Minimum negative shift, in frames. Default: 32.
        mean (float): Normalisation mean. Default: -7.03.
        std (float): Normalisation std. Default: 4.66.
        rng: Random state for the negative (default ``np.random``).

    Returns:
        np.ndarray: float32 ``[num_clips, 1 or 2, num_frames, F]``.
    """
    positions = clip_frame_positions(spans, num_frames, frame_rate,
                                     audio_offset, logmel.shape[0],
                                     with_negative, negative_gap, rng)
    out = _gather([(0, logmel)], positions, logmel.shape[1])
    return normalize_logmel(out, mean, std)
