"""From clip positions to the samples of each log-mel frame they read:
which ranges of the track to decode, decoding and resampling just those
(:func:`span_segments`), and cutting every output frame's ``n_fft``
samples out of them (:func:`gather_windows`); :func:`span_clips` does all
three.

The log-mel of those windows (:func:`~.logmel.windows_logmel`) is the
log-mel of the whole track at the frames the positions read, so both
feature paths cut the same windows: the workers compute the log-mel
(``AudioLogMelClips``), or ship the windows for the model's data
preprocessor to compute on its device, one batched call for the batch
(``logmel='device'``). Only the frames read are transformed (an output
frame per window: 128 per clip and channel, about what the clip's span
holds).

A stream that cannot be read by ranges (Matroska / WebM: millisecond
timestamps; MPEG-PS) is decoded whole once (:class:`DecodedTrack`) and
cut the same way, so it too resamples and transforms only the spans read
(:func:`read_windows` chooses).
"""
import math
from typing import Callable, Optional, Union

import numpy as np

from .alignment import ClipFrames, _gather, clip_frame_positions
from .container import (AudioDecodeError, SpanDecodeUnsupported,
                        StreamParametersChanged)
from .decode import check_waveform
from .resample import WaveformResampler, resampled_length


class DecodedTrack:
    """A whole decoded track, read by ranges like an
    :class:`~.span_reader.AudioSpanReader` (what :func:`span_segments` and
    :func:`span_clips` use of it).

    Args:
        wave (np.ndarray): Mono float32 samples at ``native_rate``.
        native_rate (int): Their rate.
        offset (float): Time (s) of ``wave[0]`` relative to the first video
            frame.
    """

    def __init__(self, wave: np.ndarray, native_rate: int,
                 offset: float = 0.0) -> None:
        self.wave = wave
        self.native_rate = int(native_rate)
        self.offset = float(offset)

    def num_samples(self) -> int:
        return int(self.wave.size)

    def read(self, first: int, stop: int):
        first = max(int(first), 0)
        return self.wave[first:max(int(stop), first)], first


def read_windows(reader, read: Callable, by_spans: bool = True):
    """``read(track)`` of an open :class:`~.span_reader.AudioSpanReader`:
    by ranges when its stream allows it (``by_spans`` and
    ``reader.seekable``; once more if the reader was reopened with other
    stream parameters, :class:`StreamParametersChanged`), else of the
    whole track, decoded once (:class:`DecodedTrack`). NumPy's global
    random state is restored before a second call, so a negative drawn in
    ``read`` is drawn again the same.

    Args:
        reader (AudioSpanReader): The opened file.
        read (callable): Takes the reader or a :class:`DecodedTrack` (both
            have ``native_rate``, ``offset``, ``num_samples()`` and
            ``read(first, stop)``) and returns its samples, e.g. the
            windows of :func:`span_clips`.
        by_spans (bool): False decodes the whole track. Default: True.

    Raises:
        AudioDecodeError: the track is empty, has NaN/inf samples or no
            sample rate (the message names the file).
    """
    state = np.random.get_state()
    for _ in range(2 if by_spans else 0):
        if not reader.seekable:
            break
        try:
            out = read(reader)
        except SpanDecodeUnsupported as err:
            np.random.set_state(state)  # redraw the same negative
            if isinstance(err, StreamParametersChanged):
                continue
            break
        if not np.all(np.isfinite(out)):
            raise AudioDecodeError(
                f'the audio of {reader.path!r} contains NaN/inf samples')
        return out
    wave = check_waveform(reader.read_all(), reader.path)
    if not reader.native_rate or reader.native_rate <= 0:
        raise AudioDecodeError(f'unknown audio sample rate in '
                               f'{reader.path!r} ({reader.native_rate})')
    return read(DecodedTrack(wave, reader.native_rate, reader.offset))


def frame_ranges(positions: np.ndarray, limit: float = np.inf,
                 merge_gap: int = 64) -> list:
    """Inclusive log-mel frame ranges ``[first, last]`` holding every frame
    ``floor(p)`` that ``positions`` (any shape) read within ``[0, limit]``:
    frames less than ``merge_gap`` apart share a range (one seek per range
    otherwise), so a clip's and its negative's dense frames give one range
    each, or one together when they are close, and a looped clip that
    wraps around the track end gives two, not the whole track."""
    index = np.floor(positions).astype(np.int64)
    hit = np.sort(index[(index >= 0) & (index <= limit)], axis=None)
    if not hit.size:
        return []
    cuts = np.flatnonzero(np.diff(hit) > merge_gap)
    firsts = [int(hit[0])] + hit[cuts + 1].tolist()
    lasts = hit[cuts].tolist() + [int(hit[-1])]
    return [[first, last] for first, last in zip(firsts, lasts)]


def span_segments(reader, extractor, ranges,
                  resampler: Optional[Callable] = None) -> list:
    """The resampled samples of log-mel frames ``first..last`` (inclusive)
    for each ``(first, last)`` of ``ranges``, decoding only the native
    samples they need.

    Each native range is aligned so that resampling it gives exactly the
    whole-track resampled samples (the windowed-sinc resampler works in
    blocks of ``orig_sr / gcd`` input samples) and padded by the
    resampler's filter width on both sides. All ranges are resampled in
    one call.

    Args:
        reader: :class:`~.span_reader.AudioSpanReader` or
            :class:`DecodedTrack`.
        extractor (LogMelExtractor): Target rate, ``n_fft``, hop.
        ranges: ``(first, last)`` log-mel frames.
        resampler (WaveformResampler, optional): From the reader's rate to
            the extractor's (its kernel is then reused).

    Returns:
        list: ``(first, samples)`` per range; ``samples`` (float32) starts
        at frame ``first``'s first sample and holds the frames up to
        ``last`` (fewer at the end of the track).
    """
    sr, target = reader.native_rate, extractor.sample_rate
    if resampler is None:
        resampler = WaveformResampler(sr, target)
    g = math.gcd(int(sr), int(target))
    block_in, block_out = sr // g, target // g
    width = math.ceil(6 * block_in / (min(block_in, block_out) * 0.99))
    margin = width + block_in
    waves, windows = [], []
    for first, last in ranges:
        out_first = first * extractor.hop_length
        out_stop = last * extractor.hop_length + extractor.n_fft
        in_first = (out_first * sr) // target - margin
        in_first = max(in_first // block_in * block_in, 0)
        in_stop = -(-out_stop * sr // target) + margin
        wave, start = reader.read(in_first, in_stop)
        if start % block_in:  # the decoder started mid-block: realign
            cut = block_in - start % block_in
            wave, start = wave[cut:], start + cut
        base = start // block_in * block_out  # output index of wave[0]
        waves.append(wave)
        windows.append((out_first - base, out_stop - base))
    resampled = resampler.batch(waves)
    return [(first, wave[lo:hi]) for (first, _), wave, (lo, hi) in zip(
        ranges, resampled, windows)]


def gather_windows(segments, positions: np.ndarray, n_fft: int,
                   hop: int) -> np.ndarray:
    """The ``n_fft`` samples of log-mel frame ``floor(p)`` for each
    position ``p``, from :func:`span_segments`' ``(first, samples)``;
    zeros (whose log-mel is that of silence) where no segment holds the
    whole frame.

    Returns:
        np.ndarray: float32 ``[*positions.shape, n_fft]``.
    """
    framed = []
    for first, wave in segments:
        count = (wave.size - n_fft) // hop + 1 if wave.size >= n_fft else 0
        if count:
            frames = np.lib.stride_tricks.sliding_window_view(
                wave, n_fft)[::hop][:count]
            framed.append((first, frames))
    return _gather(framed, positions, n_fft, fill=0.0)


def span_clips(reader,
               extractor,
               spans: Union[ClipFrames, np.ndarray],
               num_frames: int = 128,
               with_negative: bool = False,
               negative_gap: float = 32,
               merge_gap: int = 64,
               rng: Optional[np.random.RandomState] = None,
               resampler: Optional[Callable] = None) -> np.ndarray:
    """The samples of every log-mel frame the clips (and negatives) read,
    decoding only their spans.

    The frames read are decoded in the ranges of :func:`frame_ranges`
    (``merge_gap`` apart). The negatives need
    the track length; it is read from the container
    (:meth:`~.span_reader.AudioSpanReader.num_samples`), so the draw equals
    the one of the whole-track path.

    Exception: bands an AAC encoder coded as noise (PNS, used by ffmpeg's
    native encoder e.g. around transients) are regenerated by the decoder
    from a random state that depends on where decoding started, so those
    bins differ from a whole-track decode (both are valid decodes; seen
    only on a 48 kHz synthetic file, 5 frames around a tone switch).

    Returns:
        np.ndarray: float32 ``[num_clips, 1 or 2, num_frames, n_fft]``
        (zeros for frames outside the track).

    Raises:
        SpanDecodeUnsupported: the stream cannot be decoded by ranges.
    """
    total = 0
    if with_negative:
        total = extractor.num_frames(
            resampled_length(reader.num_samples(), reader.native_rate,
                             extractor.sample_rate))
    positions = clip_frame_positions(spans, num_frames, extractor.frame_rate,
                                     reader.offset, total, with_negative,
                                     negative_gap, rng)
    ranges = frame_ranges(positions, total - 1 if with_negative else np.inf,
                          merge_gap)
    segments = span_segments(reader, extractor, ranges, resampler)
    return gather_windows(segments, positions, extractor.n_fft,
                          extractor.hop_length)
