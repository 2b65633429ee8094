"""Whole-track audio decoding (mono, resampled) with PyAV.

PyAV is the only audio reader: decord's audio path (``backend='decord'``:
2.2-3.9x PyAV's audio work per training clip, and a second decoder to
keep in line) was removed; decord still reads the video frames.
"""
from typing import Optional, Tuple

import numpy as np

from .container import AudioDecodeError
from .resample import ResamplerCache
from .span_reader import AudioSpanReader


def check_waveform(wave: np.ndarray, path: str) -> np.ndarray:
    """``wave`` if it holds samples and all are finite, else raise
    :class:`AudioDecodeError` naming ``path``."""
    if wave.size == 0:
        raise AudioDecodeError(f'the audio stream of {path!r} is empty')
    if not np.all(np.isfinite(wave)):
        raise AudioDecodeError(
            f'the audio of {path!r} contains NaN/inf samples')
    return wave


def decode_audio(path: str,
                 sample_rate: int = 16000,
                 resamplers: Optional[ResamplerCache] = None
                 ) -> Tuple[np.ndarray, float]:
    """Decode the whole audio track of a media file as mono at
    ``sample_rate`` (PyAV: opens the file once, demuxes only the audio
    packets; channels are averaged).

    Args:
        path (str): Video (or audio) file.
        sample_rate (int): Target rate. Default: 16000.
        resamplers (ResamplerCache, optional): Reused resamplers to
            ``sample_rate`` (callers decoding many files); default: one
            built for this call.

    Returns:
        tuple: ``(waveform [num_samples] float32, offset)`` where ``offset``
        is the time (s) of the first audio sample relative to the first
        video frame (0 for audio-only files).

    Raises:
        AudioDecodeError: no audio stream, unreadable file, empty or
            non-finite audio. The message names the file and the reason.
    """
    if isinstance(resamplers, str):
        raise TypeError(
            f'decode_audio: the backend argument ({resamplers!r}) was '
            'removed; PyAV is the only audio reader')
    reader = AudioSpanReader(path)
    try:
        wave = check_waveform(reader.read_all(), path)
        rate, offset = reader.native_rate, reader.offset
    finally:
        reader.close()
    if not rate or rate <= 0:
        raise AudioDecodeError(
            f'unknown audio sample rate in {path!r} ({rate})')
    if resamplers is None:
        resamplers = ResamplerCache(sample_rate)
    return resamplers(rate)(wave), offset
