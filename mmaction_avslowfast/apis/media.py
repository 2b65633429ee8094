"""What the demo shows of a video besides predictions: its streams, a strip
of frames and the log-mel of the whole audio track."""
import os.path as osp
from typing import NamedTuple, Optional, Tuple

import numpy as np

from ..audio import (AudioDecodeError, AudioSpanReader, LogMelExtractor,
                     decode_audio)


class VideoSummary(NamedTuple):
    """Streams of a video file.

    Attributes:
        path (str): The file.
        num_frames (int): Video frames (decord's count, as the pipeline's).
        fps (float): Average frame rate.
        width (int), height (int): Frame size.
        audio_rate (int): Native sample rate of the first audio stream
            (0 without audio).
        audio_channels (int): Its channels (0 without audio).
        audio_issue (str): Why there is no usable audio ('' if there is).
    """
    path: str
    num_frames: int
    fps: float
    width: int
    height: int
    audio_rate: int
    audio_channels: int
    audio_issue: str

    @property
    def duration(self) -> float:
        """Seconds of video."""
        return self.num_frames / self.fps if self.fps else 0.0

    def title(self) -> str:
        """``name - 2.50 s, 16.0 fps, 64x64 - audio 44100 Hz, 2 ch``."""
        audio = (f'audio {self.audio_rate} Hz, {self.audio_channels} ch'
                 if self.audio_rate else 'no audio')
        return (f'{osp.basename(self.path)} - {self.duration:.2f} s, '
                f'{self.fps:.1f} fps, {self.width}x{self.height} - {audio}')


def _video_reader(path: str):
    """decord's reader of ``path``, opened as the test pipeline opens it
    (``CheckedDecordInit``: an unreadable file raises ``VideoDecodeError``
    with the reason, without decord's own stderr lines)."""
    from ..datasets.transforms import CheckedDecordInit
    opener = CheckedDecordInit(num_threads=1)
    return opener.transform(dict(filename=path))['video_reader']


def describe_video(path: str) -> VideoSummary:
    """Frame count, rate and size (decord) and the audio stream (PyAV)."""
    reader = _video_reader(path)
    height, width = reader[0].shape[:2]
    rate = channels = 0
    issue = ''
    try:
        audio = AudioSpanReader(path)
        rate, channels = audio.native_rate, audio.channels
        audio.close()
    except AudioDecodeError as err:
        issue = str(err)
    return VideoSummary(path, len(reader), float(reader.get_avg_fps()),
                        int(width), int(height), int(rate), int(channels),
                        issue)


def frame_strip(path: str, num: int = 8) -> Tuple[np.ndarray, np.ndarray]:
    """``num`` frames evenly spread over the video.

    Returns:
        tuple: ``(frames [num, H, W, 3] uint8 RGB, times [num] s)``.
    """
    reader = _video_reader(path)
    total = len(reader)
    inds = np.unique(np.linspace(0, total - 1, min(num, total)).round()
                     .astype(np.int64))
    frames = reader.get_batch(list(inds)).asnumpy()
    return frames, inds / float(reader.get_avg_fps())


class TrackLogMel(NamedTuple):
    """Log-mel of a whole audio track (un-normalised ``log(S + 1e-8)``).

    Attributes:
        logmel (np.ndarray): ``[T, n_mels]`` (empty ``[0, n_mels]`` without
            audio).
        frame_rate (float): Log-mel frames per second.
        offset (float): Time (s) of frame 0 relative to the first video
            frame.
        issue (str): Why the track is missing ('' when present).
    """
    logmel: np.ndarray
    frame_rate: float
    offset: float
    issue: str

    @property
    def extent(self) -> Tuple[float, float]:
        """``(start, end)`` time (s) the frames cover."""
        return (self.offset,
                self.offset + self.logmel.shape[0] / self.frame_rate)


def track_logmel(path: str,
                 extractor: Optional[LogMelExtractor] = None) -> TrackLogMel:
    """The whole track's log-mel with the pipeline's recipe.

    Args:
        path (str): Media file.
        extractor (LogMelExtractor, optional): The recipe (e.g. the test
            pipeline's ``AudioLogMelClips.extractor``); default: the
            reference one.
    """
    extractor = extractor or LogMelExtractor()
    try:
        wave, offset = decode_audio(path, extractor.sample_rate)
    except AudioDecodeError as err:
        return TrackLogMel(np.zeros((0, extractor.n_mels), np.float32),
                           extractor.frame_rate, 0.0, str(err))
    return TrackLogMel(extractor(wave), extractor.frame_rate, float(offset),
                       '')
