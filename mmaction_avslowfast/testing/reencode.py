"""Re-encode a video into another container, audio codec, sample rate or
channel layout (PyAV), keeping its picture and sound: the same clip as
AVI + MP3, Matroska, 48 kHz stereo or 5.1 for the tests that compare
readers (e.g. ``tools/deployment/onnx_infer.py`` against the PyTorch
pipeline).

Example::

    from mmaction_avslowfast.testing.reencode import reencode
    reencode('left_low_0000.mp4', 'left_low.avi')           # mpeg4 + MP3
    reencode('left_low_0000.mp4', 'left_low_51.mp4', sample_rate=48000,
             channels=6)                                     # AAC 5.1
"""
from fractions import Fraction
from typing import Optional

import numpy as np

from .synthetic_media import (_CHANNEL_GAINS, _LAYOUTS,
                              write_frames_with_audio)


def _read(path: str):
    """``(frames [N, H, W, 3] uint8, fps Fraction, mono float32, rate)``."""
    import av
    with av.open(path) as container:
        stream = container.streams.video[0]
        fps = stream.average_rate
        frames = np.stack([f.to_ndarray(format='rgb24')
                           for f in container.decode(stream)])
    from ..audio import AudioSpanReader
    reader = AudioSpanReader(path)
    try:
        wave, rate = reader.read_all(), reader.native_rate
    finally:
        reader.close()
    return frames, Fraction(fps), wave, rate


def reencode(src: str, dst: str, container_format: Optional[str] = None,
             sample_rate: Optional[int] = None, channels: int = 2,
             audio_start: float = 0.0, crf: int = 18) -> str:
    """Write ``src``'s frames and (mono-mixed) audio to ``dst``.

    Codecs follow the container as in
    :func:`~.synthetic_media.write_av_video` (mp4 / mkv: H.264 + AAC, avi:
    MPEG-4 part 2 + MP3, webm: VP8 + Opus). The audio is resampled to
    ``sample_rate`` (torchaudio's windowed sinc; default: the source rate)
    and spread over ``channels`` (1, 2 or 6) with the gains of
    ``write_av_video`` (the channel mean is the source's mono times
    ``mean(gains)``).

    Args:
        src (str): Video with an audio stream.
        dst (str): Output file (parent folders are created).
        container_format (str, optional): FFmpeg muxer (default: from the
            extension).
        sample_rate (int, optional): Output audio rate.
        channels (int): Output channels. Default: 2.
        audio_start (float): Delay (s) of the audio after the first frame
            (not for AVI, whose muxer drops stream start times).
        crf (int): x264 quality (H.264 only). Default: 18.

    Returns:
        str: ``dst``.
    """
    from ..audio import resample
    if channels not in _LAYOUTS:
        raise ValueError(f'channels must be 1, 2 or 6, got {channels}')
    frames, fps, wave, rate = _read(src)
    if sample_rate and sample_rate != rate:
        wave, rate = resample(wave, rate, sample_rate), sample_rate
    planes = np.stack([g * wave for g in _CHANNEL_GAINS[channels]])
    return write_frames_with_audio(dst, frames, planes, fps, rate,
                                   audio_start=audio_start, crf=crf,
                                   container_format=container_format)
