"""Audio transforms: decode from the video file and cut aligned log-mel
clips (thin wrappers over :mod:`mmaction_avslowfast.audio`).

Online pipeline (recognition, ``AVVideoDataset`` with ``path label`` lines)::

    CheckedDecordInit -> SampleFrames -> CheckedDecordDecode
    -> LoadAudioFromVideo -> AudioLogMelClips(with_negative=True)
    -> <Resize / crops / flips: imgs only> -> FormatShape('NCTHW')
    -> AlignAudioViews -> PackAVInputs

Precomputed pipeline: replace ``LoadAudioFromVideo`` by ``LoadLogMel``
(:mod:`.logmel_loading`, features written by ``tools/data/extract_logmel.py``).
``AlignAudioViews`` and ``PackAVInputs`` are in :mod:`.formatting`.
"""
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmaction.registry import TRANSFORMS
from ...audio import (LOGMEL_MEAN, LOGMEL_STD, AudioDecodeError,
                      AudioSpanReader, DecodedTrack, LogMelExtractor,
                      ResamplerCache, clip_frame_times, logmel_clips,
                      normalize_logmel, read_windows, span_clips)

MISSING_POLICIES = ('zeros', 'skip', 'error')
LOGMEL_ON = ('worker', 'device')


def check_logmel_on(where: str, owner: str) -> str:
    """``where`` if it is ``'worker'`` or ``'device'``, else ValueError."""
    if where not in LOGMEL_ON:
        raise ValueError(f'{owner}: logmel must be one of {LOGMEL_ON}, got '
                         f'{where!r}')
    return where


def _check_policy(policy: str) -> str:
    if policy not in MISSING_POLICIES:
        raise ValueError(f'on_missing_audio must be one of '
                         f'{MISSING_POLICIES}, got {policy!r}')
    return policy


def _handle_missing(policy: str, results: Dict, path: str,
                    reason: str) -> Optional[Dict]:
    """Apply ``on_missing_audio``; returns None to make the dataset refetch.

    ``skip`` returns None: MMEngine's ``BaseDataset.__getitem__`` then draws
    another sample in training (it raises in ``test_mode``). ``zeros`` and
    ``skip`` record the reason in ``audio_issue`` (and ``audio_valid``
    False): ``PackAVInputs`` carries both into the packed sample's metainfo,
    the plugin's data sets count skipped samples, and ``MediaIssuesHook``
    logs one WARNING per file and the per-epoch count ``data/no_audio``.
    """
    if policy == 'error':
        raise AudioDecodeError(f'unusable audio in {path!r}: {reason}')
    results['audio_valid'] = False
    results['audio_issue'] = reason
    if policy == 'skip':
        print_log(f'skipping {path!r}: unusable audio ({reason})',
                  logger='current', level=30)
        return None
    print_log(f'{path!r}: unusable audio ({reason}); using silence',
              logger='current', level=10)
    return results


def _no_waveform(policy: str, results: Dict, path: str,
                 err: AudioDecodeError) -> Optional[Dict]:
    """:func:`_handle_missing` for a file whose audio cannot be decoded: an
    empty waveform (silence to :class:`AudioLogMelClips`) at offset 0."""
    results['audio_waveform'] = np.zeros(0, np.float32)
    results['audio_offset'] = 0.0
    return _handle_missing(policy, results, path, str(err))


@TRANSFORMS.register_module()
class LoadAudioFromVideo(BaseTransform):
    """Open the audio of the sample's file with PyAV (mono, resampled on
    decode).

    Opens the file and reads the stream headers only (no video decoding for
    mp4/mov, MPEG-TS and WebM, see :func:`~...audio.open_for_audio`); the
    decoding is deferred
    to :class:`AudioLogMelClips`, which decodes just the time spans of the
    sampled clips and negatives (seeking, see :func:`~...audio.span_clips`)
    and falls back to the whole track when the stream has no duration /
    timestamps. The features equal those of the whole track (max abs diff
    < 1e-3 normalised). Decode errors found then are handled with this
    transform's ``on_missing_audio`` policy. PyAV is the only audio
    reader: decord (which reads the video frames) decodes whole tracks
    only, and its audio work per training clip took 2.2-3.9x PyAV's
    (``benchmarks/data_pipeline.py``), so ``backend='decord'`` was removed.

    Any source rate / channel count is accepted: channels are averaged (as
    the reference), the rate is converted with torchaudio's windowed-sinc
    kernel (:class:`~...audio.WaveformResampler`). Nothing is cached
    between samples.

    Required keys: ``audio_path`` if present, else ``filename``.

    Added keys:
        - audio_reader (AudioSpanReader): the open file, or
        - audio_waveform (np.ndarray): empty float32, when the audio is
          missing and the policy is ``'zeros'``.
        - audio_sample_rate (int)
        - audio_offset (float): time (s) of the first audio sample relative
          to the first video frame (stream start times of the container).
        - audio_valid (bool): False when the audio was missing/unusable.

    Args:
        sample_rate (int): Target rate. Default: 16000.
        backend (str): ``'pyav'``, the only reader; kept so that a config
            still naming the removed ``'decord'`` gets a clear error.
        on_missing_audio (str): ``'zeros'`` (default: silence and
            ``audio_valid=False``), ``'skip'`` (return None so that the
            dataset draws another sample; logs the file) or ``'error'``
            (raise with the file path and reason).
        path_key (str): Key of the file to read when ``audio_path`` is
            absent. Default: ``'filename'``.
    """

    def __init__(self,
                 sample_rate: int = 16000,
                 backend: str = 'pyav',
                 on_missing_audio: str = 'zeros',
                 path_key: str = 'filename') -> None:
        if backend != 'pyav':
            raise ValueError(
                f'LoadAudioFromVideo: backend={backend!r} is not available: '
                "PyAV is the only audio reader (the 'decord' audio backend "
                'was removed); drop the backend option from the config')
        self.sample_rate = sample_rate
        self.on_missing_audio = _check_policy(on_missing_audio)
        self.path_key = path_key

    def transform(self, results: Dict) -> Optional[Dict]:
        path = results.get('audio_path', results.get(self.path_key))
        if path is None:
            raise KeyError(f'LoadAudioFromVideo needs "audio_path" or '
                           f'"{self.path_key}" in the results')
        results['audio_sample_rate'] = self.sample_rate
        try:
            reader = AudioSpanReader(path)
        except AudioDecodeError as err:
            return _no_waveform(self.on_missing_audio, results, path, err)
        reader.on_missing_audio = self.on_missing_audio
        results['audio_reader'] = reader
        results['audio_offset'] = reader.offset
        results['audio_valid'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sample_rate={self.sample_rate}, '
                f"on_missing_audio='{self.on_missing_audio}')")


@TRANSFORMS.register_module()
class AudioLogMelClips(BaseTransform):
    """Reference log-mel of the time span of every sampled clip.

    The audio follows the frames the sampler returned. For a clip whose
    ``frame_inds`` are strictly increasing (every clip of a video long
    enough for the sampler), the span from its first to its last frame time
    is mapped onto the full-track log-mel and resampled to ``num_frames``
    frames by nearest index. Any other clip (looped by ``SampleFrames``'
    ``out_of_bound_opt='loop'`` in a video shorter than the clip, repeated,
    clamped, out of order) reads, at output frame ``j``, the time of its
    frame ``inds[floor(x)]`` plus ``frac(x) * dt``, with ``x = j *
    (clip_len - 1) / (num_frames - 1)`` and ``dt`` the clip's most common
    positive frame step over ``fps``: ``[0, 2, 0, 2, ...]`` gets the audio
    of frames 0, 2, 0, 2, ... (see :mod:`mmaction_avslowfast.audio.
    alignment`). The features are then normalised. Frames outside the
    audio track read as silence.

    From a file opened by :class:`LoadAudioFromVideo`, only the samples of
    the log-mel frames read are decoded, resampled and transformed
    (:func:`~mmaction_avslowfast.audio.span_clips`); a stream that cannot
    be read by ranges is decoded whole, then cut the same way. The
    features equal the whole track's up to float rounding.

    ``logmel='device'``: the log-mel is left to the model's data
    preprocessor (``AudioLogMelPreprocessor``, one batched call for the
    batch on the model's device): ``audios`` then holds each output
    frame's ``n_fft`` samples (zeros for silence), float32 ``[num_clips, C,
    num_frames, n_fft]``, which the preprocessor turns into the normalised
    log-mel this transform would have written (same ``mean`` / ``std``
    there). Precomputed features (:class:`LoadLogMel`) stay log-mel.

    Frame times: ``(frame_ind - start_index) / fps + audio_time_offset``,
    where ``fps`` is ``avg_fps`` (``DecordInit`` / ``PyAVInit``) or ``fps``
    (``AVADataset``), ``start_index`` defaults to 0 and
    ``audio_time_offset`` (optional key, default 0) says where frame
    ``start_index`` lies in the audio file (e.g. rawframes extracted from a
    trimmed segment of a longer audio file).

    Required keys: ``frame_inds``, ``num_clips``, ``avg_fps`` or ``fps``,
    and ``audio_reader`` (from :class:`LoadAudioFromVideo`),
    ``audio_waveform`` + ``audio_sample_rate`` or ``audio_logmel`` +
    ``audio_frame_rate`` (from :class:`LoadLogMel`). Optional:
    ``start_index``, ``audio_offset``, ``audio_time_offset``.

    Added keys: ``audios`` float32 ``[num_clips, C, num_frames, n_mels]``
    (C = 1, or 2 with the hard negative in channel 1; ``n_fft`` samples
    instead of ``n_mels`` with ``logmel='device'``), ``audio_valid`` (set
    to True if absent). Removed keys: ``audio_reader``, ``audio_waveform``,
    ``audio_logmel``.

    Flips and crops do not touch ``audios``; use :class:`AlignAudioViews`
    after ``FormatShape`` to match the video views.

    Args:
        num_frames (int): Spectrogram frames per clip. Default: 128.
        with_negative (bool): Add an AVS hard negative from the same track,
            same span length, at least ``negative_gap`` frames away (kept
            inside the track when possible). Default: False.
        negative_gap (int): Minimum shift of the negative in log-mel frames
            (32 x 16 ms ~ 0.5 s). Default: 32.
        sample_rate (int), n_fft (int), hop_length (int), n_mels (int):
            Log-mel recipe for the online path. Defaults: 16000, 512, 256,
            80.
        mean (float), std (float): Normalisation. Defaults: -7.03, 4.66.
        logmel (str): ``'worker'`` (default: computed here) or
            ``'device'`` (see above).
    """

    def __init__(self,
                 num_frames: int = 128,
                 with_negative: bool = False,
                 negative_gap: int = 32,
                 sample_rate: int = 16000,
                 n_fft: int = 512,
                 hop_length: int = 256,
                 n_mels: int = 80,
                 mean: float = LOGMEL_MEAN,
                 std: float = LOGMEL_STD,
                 logmel: str = 'worker') -> None:
        self.num_frames = num_frames
        self.with_negative = with_negative
        self.negative_gap = negative_gap
        self.mean = mean
        self.std = std
        self.logmel = check_logmel_on(logmel, 'AudioLogMelClips')
        self.extractor = LogMelExtractor(sample_rate, n_fft, hop_length,
                                         n_mels)
        self._resampler = ResamplerCache(sample_rate)

    def transform(self, results: Dict) -> Optional[Dict]:
        fps = results.get('avg_fps', results.get('fps'))
        if fps is None:
            raise KeyError('AudioLogMelClips needs "avg_fps" (DecordInit) or '
                           '"fps" (AVADataset) to map frames to time')
        spans = clip_frame_times(
            results['frame_inds'],
            results.get('num_clips', 1),
            fps,
            start_index=results.get('start_index', 0),
            time_offset=results.get('audio_time_offset', 0.0))
        if 'audio_logmel' in results:  # precomputed (LoadLogMel)
            results['audios'] = logmel_clips(
                results.pop('audio_logmel'),
                spans,
                float(results['audio_frame_rate']),
                audio_offset=results.get('audio_offset', 0.0),
                num_frames=self.num_frames,
                with_negative=self.with_negative,
                negative_gap=self.negative_gap,
                mean=self.mean,
                std=self.std)
            results.setdefault('audio_valid', True)
            return results
        if 'audio_reader' in results:
            windows = self._from_reader(results, spans)
            if windows is None:
                return None
        elif 'audio_waveform' in results:
            windows = self._clips(self._waveform_track(results), spans)
        else:
            raise KeyError('AudioLogMelClips needs "audio_reader" or '
                           '"audio_waveform" (LoadAudioFromVideo) or '
                           '"audio_logmel" (LoadLogMel) in the results')
        results['audios'] = windows if self.logmel == 'device' else \
            normalize_logmel(self.extractor.windows_logmel(windows),
                             self.mean, self.std)
        results.setdefault('audio_valid', True)
        return results

    def _clips(self, reader, spans) -> np.ndarray:
        return span_clips(reader, self.extractor, spans, self.num_frames,
                          self.with_negative, self.negative_gap,
                          resampler=self._resampler(reader.native_rate))

    def _check_rate(self, results: Dict) -> None:
        rate = results.get('audio_sample_rate', self.extractor.sample_rate)
        if rate != self.extractor.sample_rate:
            raise ValueError(
                f'audio_sample_rate {rate} != AudioLogMelClips.sample_rate '
                f'{self.extractor.sample_rate}')

    def _waveform_track(self, results: Dict) -> DecodedTrack:
        """``audio_waveform`` (at ``audio_sample_rate``) as a track."""
        self._check_rate(results)
        return DecodedTrack(
            np.asarray(results.pop('audio_waveform'), np.float32),
            self.extractor.sample_rate, results.get('audio_offset', 0.0))

    def _from_reader(self, results: Dict, spans) -> Optional[np.ndarray]:
        """Decode only the clip (and negative) spans; the whole track when
        the stream does not allow it. Decode errors follow the reader's
        ``on_missing_audio`` policy (None: skip the sample)."""
        reader = results.pop('audio_reader')
        try:
            self._check_rate(results)
            return read_windows(reader,
                                lambda track: self._clips(track, spans))
        except AudioDecodeError as err:
            if _no_waveform(reader.on_missing_audio, results, reader.path,
                            err) is None:
                return None
            return self._clips(self._waveform_track(results), spans)
        finally:
            reader.close()

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'with_negative={self.with_negative}, '
                f'negative_gap={self.negative_gap}, mean={self.mean}, '
                f"std={self.std}, logmel='{self.logmel}')")
