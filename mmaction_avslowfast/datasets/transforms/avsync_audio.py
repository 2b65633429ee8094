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
from typing import Dict, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ...audio import (LOGMEL_MEAN, LOGMEL_STD, AudioDecodeError,
                      LogMelExtractor, ResamplerCache, clip_frame_positions,
                      clip_frame_times, decode_audio, normalize_logmel)
from ...audio.alignment import _gather

#: Channel order of ``audios`` produced by :class:`AVSyncEvalAudio`.
AVSYNC_CHANNELS = ('aligned', 'hard', 'easy')


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
    every run, worker and process. Both tracks are decoded whole with PyAV
    (:func:`~...audio.decode_audio`, resampled to ``sample_rate``) and the
    reference log-mel is computed once per track.

    Required keys: ``filename`` (or ``audio_path``), ``avs_partner_filename``,
    ``frame_inds``, ``num_clips``, ``avg_fps`` or ``fps``. Optional:
    ``start_index``, ``audio_time_offset`` (as :class:`AudioLogMelClips`).

    Added keys: ``audios`` float32 ``[num_clips, 3, num_frames, n_mels]``
    (channels :data:`AVSYNC_CHANNELS`), ``audio_valid``,
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
                 std: float = LOGMEL_STD) -> None:
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
        self.extractor = LogMelExtractor(sample_rate, n_fft, hop_length,
                                         n_mels)
        self._resamplers = ResamplerCache(sample_rate)

    def _track(self, path: str, results: Dict, role: str
               ) -> Tuple[np.ndarray, float]:
        """Un-normalised log-mel ``[T, n_mels]`` and stream offset (s) of
        ``path``; ``[0, n_mels]`` under the ``'zeros'`` policy when the audio
        cannot be read."""
        try:
            wave, offset = decode_audio(path, self.extractor.sample_rate,
                                        self._resamplers)
        except AudioDecodeError as err:
            if self.on_missing_audio == 'error':
                raise AudioDecodeError(
                    f'AVSyncEvalAudio: unusable audio in {path!r} ({role}): '
                    f'{err}') from err
            results['audio_valid'] = False
            issue = f'{role} audio {path!r}: {err}'
            results['audio_issue'] = '; '.join(
                filter(None, [results.get('audio_issue'), issue]))
            return np.zeros((0, self.extractor.n_mels), np.float32), 0.0
        return self.extractor(wave), offset

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
        results['audio_valid'] = True
        own, own_offset = self._track(path, results, 'own')
        other, other_offset = self._track(partner, results, 'partner')
        rate = self.extractor.frame_rate

        aligned = clip_frame_positions(clips, self.num_frames, rate,
                                       own_offset)[:, 0]
        hard, inside = [], True
        for pos in aligned:
            span = (pos.max() - pos.min()) / rate
            shift = max(self.min_shift, span if self.shift_by_clip else 0.)
            shifted, ok = hard_shift_positions(pos, shift * rate, len(own))
            hard.append(shifted)
            inside &= ok
        easy = clip_frame_positions(clips, self.num_frames, rate,
                                    other_offset)[:, 0]
        if len(other):  # loop a partner track shorter than the clip times
            easy = np.mod(easy, len(other))

        n_mels = self.extractor.n_mels
        own_clips = _gather([(0, own)], np.stack([aligned, np.stack(hard)],
                                                 axis=1), n_mels)
        easy_clips = _gather([(0, other)], easy[:, None], n_mels)
        audios = np.concatenate([own_clips, easy_clips], axis=1)
        results['audios'] = normalize_logmel(audios, self.mean, self.std)
        results['avs_hard_inside'] = bool(inside)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'min_shift={self.min_shift}, '
                f'shift_by_clip={self.shift_by_clip}, '
                f"on_missing_audio='{self.on_missing_audio}')")
