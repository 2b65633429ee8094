"""Evaluation audio of the AVS synchronisation metric: per clip the aligned
log-mel and two negatives fixed by the sample (no randomness).

Pipeline (val / test of a self-supervised AVS config)::

    CheckedDecordInit -> SampleFrames(test_mode=True) -> CheckedDecordDecode
    -> AVSyncEvalAudio -> <Resize / crops: imgs only>
    -> FormatShape('NCTHW') -> AlignAudioViews -> PackAVInputs

The easy negative's file comes from the data set
(``UnlabeledAVDataset(easy_negative_offset=k)`` puts the file of sample
``(i + k) mod N`` in ``avs_partner_filename``), so the negatives of sample
``i`` depend on ``i`` only: not on the batch size, the workers or the
number of GPUs.
"""
import math
from typing import Callable, Dict, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ...audio import (LOGMEL_MEAN, LOGMEL_STD, AudioDecodeError,
                      AudioSpanReader, LogMelExtractor, ResamplerCache,
                      clip_frame_positions, clip_frame_times, frame_ranges,
                      gather_windows, normalize_logmel, read_windows,
                      resampled_length, span_segments)
from .audio_loading import check_logmel_on

#: Channel order of ``audios`` produced by :class:`AVSyncEvalAudio`.
AVSYNC_CHANNELS = ('aligned', 'hard', 'easy')


def gather_from_spans(reader, extractor: LogMelExtractor,
                      positions: np.ndarray, total: int,
                      resampler: Optional[Callable] = None) -> np.ndarray:
    """The samples of whole-track log-mel frame ``floor(p)`` of
    ``reader``'s track for each position ``p`` (zeros, i.e. silence,
    outside ``[0, total)``), decoding only the frames the positions hit
    (:func:`~...audio.frame_ranges`, :func:`~...audio.span_segments`).

    Args:
        reader: An :class:`~...audio.AudioSpanReader` or a
            :class:`~...audio.DecodedTrack`.
        positions (np.ndarray): Fractional log-mel frames, any shape.
        total (int): Log-mel frames of the whole track.

    Returns:
        np.ndarray: float32 ``[*positions.shape, n_fft]``; their log-mel
        (:func:`~...audio.windows_logmel`) is un-normalised.
    """
    ranges = frame_ranges(positions, total - 1)
    segments = span_segments(reader, extractor, ranges,
                             resampler) if ranges else []
    return gather_windows(segments, positions, extractor.n_fft,
                          extractor.hop_length)


def hard_shift_positions(positions: np.ndarray, shift: float,
                         total: int) -> Tuple[np.ndarray, bool]:
    """The positions of a clip shifted by ``shift`` log-mel frames.

    Forward (later audio) when every shifted position stays inside the
    track (``floor(p + shift) <= total - 1``), else backward when that
    stays inside (``p - shift >= 0``). When neither fits (a track shorter
    than the clip's span plus the shift), the direction with more room is
    used and the frames beyond the track read as silence (the rule of the
    training negatives, :func:`~...audio.sample_negative_start`).

    Args:
        positions (np.ndarray): ``[num_frames]`` fractional log-mel frames.
        shift (float): Shift in frames (> 0).
        total (int): Log-mel frames of the track.

    Returns:
        tuple: ``(shifted [num_frames], inside)`` with ``inside`` False
        when part of the shifted clip lies outside the track.
    """
    lo, hi = float(positions.min()), float(positions.max())
    if math.floor(hi + shift) <= total - 1:
        return positions + shift, True
    if lo - shift >= 0:
        return positions - shift, True
    room_forward = total - 1 - hi
    sign = 1.0 if room_forward >= lo else -1.0
    return positions + sign * shift, False


@TRANSFORMS.register_module()
class AVSyncEvalAudio(BaseTransform):
    """Aligned audio and two fixed AVS negatives of every sampled clip.

    Per clip (``num_clips`` of them), three log-mel channels of
    ``num_frames`` frames, each read at the clip's frame times as
    :class:`AudioLogMelClips` reads the aligned audio
    (:func:`~...audio.clip_frame_positions`, so looped clips of short
    videos get looped audio):

    0. aligned: the sample's own audio at the clip's times;
    1. hard negative: the same track at the clip's times shifted by
       ``max(min_shift, clip span)`` seconds (``clip span`` only with
       ``shift_by_clip``; the span is the first-to-last frame time), forward
       when the shifted clip fits in the track, else backward; when it
       fits in neither direction (short track) the roomier direction is
       used and the audio beyond the track reads as silence, as for the
       training negatives (``avs_hard_inside`` is then False);
    2. easy negative: the audio of ``avs_partner_filename`` (another video
       of the data set, chosen by the data set from the sample index) at
       the same clip times (its own stream offset applies); a partner
       track shorter than those times is looped (frame index modulo its
       length).

    Nothing is random: the same sample gives the same three channels in
    every run, worker and process. With ``logmel='device'`` the channels
    hold each frame's ``n_fft`` samples instead and the model's
    ``AudioLogMelPreprocessor`` computes the log-mel (as
    :class:`AudioLogMelClips`). Only the spans the channels read are
    decoded (``read_spans``, default): the sample's own track from the
    aligned and hard-negative positions, the partner's from the easy
    positions at the partner's own stream offset, each with an
    :class:`~...audio.AudioSpanReader` (seeking; the track lengths, which
    the hard shift and the loop need, come from the last packets). The
    frames equal those of the whole-track log-mel up to float rounding
    (``tests/datasets/test_avsync_audio_spans.py``; AAC bands coded as
    noise, PNS, are regenerated from a random state that depends on where
    decoding started, so those bins differ: both decodes are valid). A
    stream without a duration or usable timestamps (Matroska / WebM,
    whose streams carry no duration; MPEG-PS) is decoded whole, as with
    ``read_spans=False``. Cost: ``benchmarks/data_io.py``.

    Required keys: ``filename`` (or ``audio_path``), ``avs_partner_filename``,
    ``frame_inds``, ``num_clips``, ``avg_fps`` or ``fps``. Optional:
    ``start_index``, ``audio_time_offset`` (as :class:`AudioLogMelClips`).

    Added keys: ``audios`` float32 ``[num_clips, 3, num_frames, n_mels]``
    (channels :data:`AVSYNC_CHANNELS`; ``n_fft`` samples instead of
    ``n_mels`` with ``logmel='device'``), ``audio_valid``,
    ``avs_hard_inside`` (bool: every hard negative lies inside the track),
    ``audio_issue`` when an audio track could not be read.

    Args:
        num_frames (int): Spectrogram frames per clip. Default: 128.
        min_shift (float): Minimum shift (s) of the hard negative.
            Default: 0.5 (the reference's 0.5 s gap).
        shift_by_clip (bool): Shift by at least the clip span too, so that
            the hard negative never overlaps the aligned audio in time
            (needs tracks of at least twice the clip span). Default: True.
        on_missing_audio (str): ``'zeros'`` (default: an unreadable own or
            partner track reads as silence, ``audio_valid=False`` and
            ``audio_issue`` names the file) or ``'error'`` (raise naming the
            file). Evaluation cannot drop samples, so ``'skip'`` is refused.
        sample_rate (int), n_fft (int), hop_length (int), n_mels (int):
            Log-mel recipe. Defaults: 16000, 512, 256, 80.
        mean (float), std (float): Normalisation. Defaults: -7.03, 4.66.
        read_spans (bool): Decode only the spans read (see above); False
            decodes both tracks whole. Default: True.
        logmel (str): ``'worker'`` (default) or ``'device'`` (see above).
    """

    def __init__(self,
                 num_frames: int = 128,
                 min_shift: float = 0.5,
                 shift_by_clip: bool = True,
                 on_missing_audio: str = 'zeros',
                 sample_rate: int = 16000,
                 n_fft: int = 512,
                 hop_length: int = 256,
                 n_mels: int = 80,
                 mean: float = LOGMEL_MEAN,
                 std: float = LOGMEL_STD,
                 read_spans: bool = True,
                 logmel: str = 'worker') -> None:
        if min_shift <= 0:
            raise ValueError(f'AVSyncEvalAudio: min_shift must be > 0 s, got '
                             f'{min_shift}')
        if on_missing_audio not in ('zeros', 'error'):
            raise ValueError(
                "AVSyncEvalAudio: on_missing_audio must be 'zeros' or "
                f"'error' (evaluation cannot skip samples), got "
                f'{on_missing_audio!r}')
        self.num_frames = num_frames
        self.min_shift = float(min_shift)
        self.shift_by_clip = bool(shift_by_clip)
        self.on_missing_audio = on_missing_audio
        self.mean = mean
        self.std = std
        self.read_spans = bool(read_spans)
        self.logmel = check_logmel_on(logmel, 'AVSyncEvalAudio')
        self.extractor = LogMelExtractor(sample_rate, n_fft, hop_length,
                                         n_mels)
        self._resamplers = ResamplerCache(sample_rate)

    def _channels(self, path: str, results: Dict, role: str,
                  positions_of: Callable[[float, int], np.ndarray]
                  ) -> np.ndarray:
        """The frames' samples (:func:`gather_from_spans`) of ``path`` at
        ``positions_of(offset, total)`` (the track's stream offset in s and
        its length in log-mel frames); silence (zeros) under the
        ``'zeros'`` policy when the audio cannot be read (positions of an
        empty track at offset 0)."""
        try:
            reader = AudioSpanReader(path)
            try:
                return read_windows(
                    reader, lambda track: self._gather(track, positions_of),
                    self.read_spans)
            finally:
                reader.close()
        except AudioDecodeError as err:
            if self.on_missing_audio == 'error':
                raise AudioDecodeError(
                    f'AVSyncEvalAudio: unusable audio in {path!r} ({role}): '
                    f'{err}') from err
            results['audio_valid'] = False
            issue = f'{role} audio {path!r}: {err}'
            results['audio_issue'] = '; '.join(
                filter(None, [results.get('audio_issue'), issue]))
            return gather_from_spans(None, self.extractor,
                                     positions_of(0.0, 0), 0)

    def _gather(self, track,
                positions_of: Callable[[float, int], np.ndarray]
                ) -> np.ndarray:
        """:func:`gather_from_spans` of ``track`` (an
        :class:`~...audio.AudioSpanReader` or
        :class:`~...audio.DecodedTrack`) at its positions."""
        extractor = self.extractor
        total = extractor.num_frames(resampled_length(
            track.num_samples(), track.native_rate, extractor.sample_rate))
        return gather_from_spans(track, extractor,
                                 positions_of(track.offset, total), total,
                                 self._resamplers(track.native_rate))

    def transform(self, results: Dict) -> Dict:
        path = results.get('audio_path', results.get('filename'))
        if path is None:
            raise KeyError('AVSyncEvalAudio needs "audio_path" or "filename" '
                           'in the results')
        partner = results.get('avs_partner_filename')
        if partner is None:
            raise KeyError(
                f'AVSyncEvalAudio: no "avs_partner_filename" for {path!r}; '
                f'the easy negative needs the data set to name a partner '
                f'video (UnlabeledAVDataset(easy_negative_offset=k))')
        fps = results.get('avg_fps', results.get('fps'))
        if fps is None:
            raise KeyError(f'AVSyncEvalAudio needs "avg_fps" (DecordInit) or '
                           f'"fps" to map frames to time ({path!r})')
        clips = clip_frame_times(
            results['frame_inds'],
            results.get('num_clips', 1),
            fps,
            start_index=results.get('start_index', 0),
            time_offset=results.get('audio_time_offset', 0.0))
        rate, inside = self.extractor.frame_rate, [True]

        def own_positions(offset: float, total: int) -> np.ndarray:
            """Aligned and hard-negative positions ``[clips, 2, T]``."""
            aligned = clip_frame_positions(clips, self.num_frames, rate,
                                           offset)[:, 0]
            hard, inside[0] = [], True
            for pos in aligned:
                span = (pos.max() - pos.min()) / rate
                shift = max(self.min_shift,
                            span if self.shift_by_clip else 0.)
                shifted, ok = hard_shift_positions(pos, shift * rate, total)
                hard.append(shifted)
                inside[0] &= ok
            return np.stack([aligned, np.stack(hard)], axis=1)

        def easy_positions(offset: float, total: int) -> np.ndarray:
            """The partner's positions ``[clips, 1, T]`` at its own stream
            offset; a partner shorter than the clip times loops."""
            easy = clip_frame_positions(clips, self.num_frames, rate,
                                        offset)[:, 0]
            if total:
                easy = np.mod(easy, total)
            return easy[:, None]

        results['audio_valid'] = True
        audios = np.concatenate([
            self._channels(path, results, 'own', own_positions),
            self._channels(partner, results, 'partner', easy_positions)
        ], axis=1)
        results['audios'] = audios if self.logmel == 'device' else \
            normalize_logmel(self.extractor.windows_logmel(audios),
                             self.mean, self.std)
        results['avs_hard_inside'] = bool(inside[0])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'min_shift={self.min_shift}, '
                f'shift_by_clip={self.shift_by_clip}, '
                f"on_missing_audio='{self.on_missing_audio}', "
                f"read_spans={self.read_spans}, logmel='{self.logmel}')")
