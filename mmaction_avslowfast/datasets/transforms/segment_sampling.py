"""Clip sampling inside an action segment of an untrimmed video."""
import math
from typing import Dict, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from .video_loading import VideoDecodeError

# Timestamps have finite decimals; a frame time equal to a bound counts as
# inside it despite float rounding (e.g. 6.7 * 30 = 201.00000000000003).
_EPS = 1e-6


def segment_frame_range(start: float, stop: float, fps: float,
                        total_frames: int) -> Tuple[int, int]:
    """First and last frame (inclusive, absolute) shown inside
    ``[start, stop]`` seconds: frame ``i`` is shown at ``i / fps``.

    A segment shorter than one frame period that contains no frame time
    gets the frame on screen at ``start``. The range is clipped to the
    file's ``total_frames`` (annotations may end a little after the last
    decoded frame).

    Raises:
        ValueError: the segment starts after the file's last frame.
    """
    first = math.ceil(start * fps - _EPS)
    last = math.floor(stop * fps + _EPS)
    if first > last:  # no frame time inside: the frame on screen
        first = last = max(math.floor(start * fps + _EPS), 0)
    first = max(first, 0)
    if first > total_frames - 1:
        raise ValueError(
            f'segment {start:.3f}-{stop:.3f} s starts after the last frame '
            f'(frame {first} of {total_frames} at {fps:.3f} fps)')
    return first, min(last, total_frames - 1)


def loop_offsets(num_frames: int, clip_len: int,
                 frame_interval: int) -> np.ndarray:
    """Frame offsets ``[clip_len]`` of a clip looping inside a segment of
    ``num_frames`` frames, shorter than the clip's span.

    Frames are taken every ``frame_interval`` frames from offset 0 and the
    clip wraps around before ``offset + frame_interval`` would pass the
    segment's end; when fewer than two such frames fit, every frame is
    taken (interval 1). So the audio of every looped frame, which lasts one
    frame step (:func:`~mmaction_avslowfast.audio.clip_frame_times`), ends
    by the segment's last frame plus one frame: no audio beyond
    ``stop + 1 / fps``.
    """
    positions = num_frames // frame_interval
    if positions >= 2:
        return (np.arange(clip_len) % positions) * frame_interval
    return np.arange(clip_len) % num_frames


@TRANSFORMS.register_module()
class SegmentSampleFrames(BaseTransform):
    """Sample clips inside an action segment ``[segment_start,
    segment_stop]`` (seconds) of an untrimmed video.

    Frame indices are ABSOLUTE indices of the untrimmed file, computed from
    the segment's timestamps and the opened video's real frame rate
    (``avg_fps`` of ``CheckedDecordInit``). No frame outside the segment is
    sampled, whatever the file's length (``total_frames`` only clips an
    annotation that ends after the last frame):

    - a segment of at least one clip span (``(clip_len - 1) *
      frame_interval + 1`` frames): ``num_clips`` clips of ``clip_len``
      frames every ``frame_interval`` frames, each starting uniformly at
      random in training, evenly spread over the segment in test mode (the
      centre of ``num_clips`` equal parts);
    - a shorter segment loops inside itself (:func:`loop_offsets`), every
      clip alike.

    ``start_index`` must be 0 (it is, for videos): ``AudioLogMelClips``
    times a frame as ``(frame_ind - start_index) / fps``, so the audio of
    every clip comes from the same absolute times of the same file, and
    lies inside ``[segment_start, segment_stop + 1 / fps]`` (positions of
    the log-mel frames read; each frame's window is ``n_fft`` samples).

    Required keys: ``segment_start``, ``segment_stop``, ``avg_fps`` (or
    ``fps``), ``total_frames``, ``filename`` (for errors).

    Added keys: ``frame_inds`` (int64 ``[num_clips * clip_len]``),
    ``clip_len``, ``frame_interval``, ``num_clips``, ``start_index`` (0),
    ``segment_frames`` ``(first, last)`` (inclusive).

    Args:
        clip_len (int): Frames per clip.
        frame_interval (int): Step between sampled frames. Default: 1.
        num_clips (int): Clips per segment. Default: 1.
        test_mode (bool): Evenly spread clips instead of random ones.
            Default: False.

    Raises:
        VideoDecodeError: the segment starts after the video's last frame
            (an unreadable sample for the data set's ``on_unreadable``).
    """

    def __init__(self,
                 clip_len: int,
                 frame_interval: int = 1,
                 num_clips: int = 1,
                 test_mode: bool = False) -> None:
        if clip_len < 1 or frame_interval < 1 or num_clips < 1:
            raise ValueError(
                f'clip_len, frame_interval and num_clips must be >= 1, got '
                f'{clip_len}, {frame_interval}, {num_clips}')
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.num_clips = num_clips
        self.test_mode = test_mode

    def _clip_starts(self, num_frames: int) -> np.ndarray:
        room = num_frames - ((self.clip_len - 1) * self.frame_interval + 1)
        if self.test_mode:
            parts = (np.arange(self.num_clips) + 0.5) / self.num_clips
            return np.floor((room + 1) * parts).astype(np.int64)
        return np.random.randint(0, room + 1, size=self.num_clips)

    def transform(self, results: Dict) -> Dict:
        if results.get('start_index', 0) != 0:
            raise ValueError(
                'SegmentSampleFrames: start_index must be 0 (absolute frame '
                'indices of a video; AudioLogMelClips subtracts it when '
                f'timing the audio), got {results["start_index"]}')
        fps = results.get('avg_fps', results.get('fps'))
        if not fps or fps <= 0:
            raise KeyError('SegmentSampleFrames needs the video\'s "avg_fps" '
                           '(CheckedDecordInit) before it')
        try:
            first, last = segment_frame_range(results['segment_start'],
                                              results['segment_stop'], fps,
                                              results['total_frames'])
        except ValueError as err:
            raise VideoDecodeError(results.get('filename'), str(err))
        num_frames = last - first + 1
        span = (self.clip_len - 1) * self.frame_interval + 1
        if num_frames >= span:
            steps = np.arange(self.clip_len) * self.frame_interval
            inds = self._clip_starts(num_frames)[:, None] + steps[None]
        else:
            inds = np.tile(
                loop_offsets(num_frames, self.clip_len, self.frame_interval),
                (self.num_clips, 1))
        results['frame_inds'] = (first + inds).reshape(-1).astype(np.int64)
        results.update(
            clip_len=self.clip_len,
            frame_interval=self.frame_interval,
            num_clips=self.num_clips,
            start_index=0,
            segment_frames=(first, last))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, '
                f'num_clips={self.num_clips}, test_mode={self.test_mode})')
