"""Audio transforms: decode from the video file, aligned log-mel clips,
precomputed log-mel, and audio/video view alignment.

Online pipeline (recognition, ``VideoDataset`` with ``path label`` lines)::

    DecordInit -> SampleFrames -> DecordDecode
    -> LoadAudioFromVideo -> AudioLogMelClips(with_negative=True)
    -> <Resize / crops / flips: imgs only> -> FormatShape('NCTHW')
    -> AlignAudioViews -> PackActionInputs(collect_keys=('imgs', 'audios'))

Precomputed pipeline: replace ``LoadAudioFromVideo`` by ``LoadLogMel``
(features written by ``tools/extract_logmel.py``).
"""
import json
import os.path as osp
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmaction.registry import TRANSFORMS
from ...audio import (LOGMEL_MEAN, LOGMEL_STD, AudioDecodeError,
                      AudioSpanReader, LogMelExtractor, ResamplerCache,
                      SpanDecodeUnsupported, StreamParametersChanged,
                      clip_time_spans, decode_audio, logmel_clips,
                      span_logmel_clips)

MISSING_POLICIES = ('zeros', 'skip', 'error')


def _check_policy(policy: str) -> str:
    if policy not in MISSING_POLICIES:
        raise ValueError(f'on_missing_audio must be one of '
                         f'{MISSING_POLICIES}, got {policy!r}')
    return policy


def _handle_missing(policy: str, results: Dict, path: str,
                    reason: str) -> Optional[Dict]:
    """Apply ``on_missing_audio``; returns None to make the dataset refetch.

    ``skip`` returns None: MMEngine's ``BaseDataset.__getitem__`` then draws
    another sample in training (it raises in ``test_mode``).
    """
    if policy == 'error':
        raise AudioDecodeError(f'unusable audio in {path!r}: {reason}')
    if policy == 'skip':
        print_log(f'skipping {path!r}: unusable audio ({reason})',
                  logger='current', level=30)
        return None
    print_log(f'{path!r}: unusable audio ({reason}); using silence',
              logger='current', level=10)
    results['audio_valid'] = False
    return results


@TRANSFORMS.register_module()
class LoadAudioFromVideo(BaseTransform):
    """Open the audio of the sample's file (mono, resampled on decode).

    Backend ``'pyav'`` (default): opens the file and reads the stream
    headers only (a short probe for mp4/mov, see
    :func:`~...audio.open_for_audio`); the decoding is deferred to
    :class:`AudioLogMelClips`, which decodes just the time spans of the
    sampled clips and negatives (seeking, see :func:`span_logmel_clips`)
    and falls back to the whole track when the stream has no duration /
    timestamps. The features equal those of the whole track (max abs diff
    < 1e-3 normalised). Decode errors found then are handled with this
    transform's ``on_missing_audio`` policy.

    Backend ``'decord'``: decodes the whole track with
    ``decord.AudioReader(path, sample_rate=-1, mono=True)`` (it cannot
    decode ranges). decord 0.6.0 is not used for resampling or
    multi-channel output: its ``sample_rate=16000`` output has phase jumps
    (relative error ~1.5 vs a soxr reference on a pure tone, against 2e-4
    for torchaudio) and ``mono=False`` returns a corrupted second channel;
    its native-rate mono decode equals PyAV's (Matroska priming samples,
    which decord keeps, are dropped). Measured on 10-s 44.1 kHz stereo
    videos (``benchmarks/data_pipeline.py``): 16-19 ms of audio work per
    training clip against 5-7 ms for ``'pyav'``.

    Any source rate / channel count is accepted: channels are averaged (as
    the reference), the rate is converted with torchaudio's windowed-sinc
    kernel (:class:`~...audio.WaveformResampler`). Nothing is cached
    between samples.

    Required keys: ``audio_path`` if present, else ``filename``.

    Added keys:
        - audio_reader (AudioSpanReader): open file (``'pyav'``), or
        - audio_waveform (np.ndarray): float32 ``[num_samples]`` at
          ``sample_rate`` (``'decord'``; empty when audio is missing and
          the policy is ``'zeros'``).
        - audio_sample_rate (int)
        - audio_offset (float): time (s) of the first audio sample relative
          to the first video frame (stream start times of the container).
        - audio_valid (bool): False when the audio was missing/unusable.

    Args:
        sample_rate (int): Target rate. Default: 16000.
        backend (str): ``'pyav'`` (default) or ``'decord'``.
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
        if backend not in ('decord', 'pyav'):
            raise ValueError(
                f"backend must be 'decord' or 'pyav', got {backend!r}")
        self.sample_rate = sample_rate
        self.backend = backend
        self._resamplers = ResamplerCache(sample_rate)  # decord backend
        self.on_missing_audio = _check_policy(on_missing_audio)
        self.path_key = path_key

    def transform(self, results: Dict) -> Optional[Dict]:
        path = results.get('audio_path', results.get(self.path_key))
        if path is None:
            raise KeyError(f'LoadAudioFromVideo needs "audio_path" or '
                           f'"{self.path_key}" in the results')
        results['audio_sample_rate'] = self.sample_rate
        try:
            if self.backend == 'pyav':
                reader = AudioSpanReader(path)
                reader.on_missing_audio = self.on_missing_audio
                results['audio_reader'] = reader
                offset = reader.offset
            else:
                wave, offset = decode_audio(path, self.sample_rate,
                                            self.backend, self._resamplers)
                results['audio_waveform'] = wave
        except AudioDecodeError as err:
            results['audio_waveform'] = np.zeros(0, np.float32)
            results['audio_offset'] = 0.0
            return _handle_missing(self.on_missing_audio, results, path,
                                   str(err))
        results['audio_offset'] = offset
        results['audio_valid'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sample_rate={self.sample_rate}, '
                f"backend='{self.backend}', "
                f"on_missing_audio='{self.on_missing_audio}')")


@TRANSFORMS.register_module()
class AudioLogMelClips(BaseTransform):
    """Reference log-mel of the time span of every sampled clip.

    For each clip ``j`` of ``frame_inds`` the span from its first to its last
    frame time is mapped onto the full-track log-mel (computed once per
    sample) and resampled to ``num_frames`` frames by nearest index, then
    normalised. Frames outside the audio track read as silence.

    Frame times: ``(frame_ind - start_index) / fps + audio_time_offset``,
    where ``fps`` is ``avg_fps`` (``DecordInit`` / ``PyAVInit``) or ``fps``
    (``AVADataset``), ``start_index`` defaults to 0 and
    ``audio_time_offset`` (optional key, default 0) says where frame
    ``start_index`` lies in the audio file (e.g. rawframes extracted from a
    trimmed segment of a longer audio file).

    Required keys: ``frame_inds``, ``num_clips``, ``avg_fps`` or ``fps``,
    and either ``audio_waveform`` + ``audio_sample_rate`` (from
    :class:`LoadAudioFromVideo`) or ``audio_logmel`` + ``audio_frame_rate``
    (from :class:`LoadLogMel`). Optional: ``start_index``,
    ``audio_offset``, ``audio_time_offset``.

    Added keys: ``audios`` float32 ``[num_clips, C, num_frames, n_mels]``
    (C = 1, or 2 with the hard negative in channel 1), ``audio_valid`` (set
    to True if absent). Removed keys: ``audio_waveform``, ``audio_logmel``.

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
                 std: float = LOGMEL_STD) -> None:
        self.num_frames = num_frames
        self.with_negative = with_negative
        self.negative_gap = negative_gap
        self.mean = mean
        self.std = std
        self.extractor = LogMelExtractor(sample_rate, n_fft, hop_length,
                                         n_mels)
        self._resampler = ResamplerCache(sample_rate)

    def _full_track(self, results: Dict):
        if 'audio_logmel' in results:
            return (results.pop('audio_logmel'),
                    float(results['audio_frame_rate']))
        if 'audio_waveform' not in results:
            raise KeyError('AudioLogMelClips needs "audio_waveform" '
                           '(LoadAudioFromVideo) or "audio_logmel" '
                           '(LoadLogMel) in the results')
        rate = results.get('audio_sample_rate', self.extractor.sample_rate)
        if rate != self.extractor.sample_rate:
            raise ValueError(
                f'audio_sample_rate {rate} != AudioLogMelClips.sample_rate '
                f'{self.extractor.sample_rate}')
        wave = results.pop('audio_waveform')
        return self.extractor(wave), self.extractor.frame_rate

    def transform(self, results: Dict) -> Dict:
        fps = results.get('avg_fps', results.get('fps'))
        if fps is None:
            raise KeyError('AudioLogMelClips needs "avg_fps" (DecordInit) or '
                           '"fps" (AVADataset) to map frames to time')
        spans = clip_time_spans(
            results['frame_inds'],
            results.get('num_clips', 1),
            fps,
            start_index=results.get('start_index', 0),
            time_offset=results.get('audio_time_offset', 0.0))
        if 'audio_reader' in results:
            return self._from_reader(results, spans)
        logmel, frame_rate = self._full_track(results)
        results['audios'] = logmel_clips(
            logmel,
            spans,
            frame_rate,
            audio_offset=results.get('audio_offset', 0.0),
            num_frames=self.num_frames,
            with_negative=self.with_negative,
            negative_gap=self.negative_gap,
            mean=self.mean,
            std=self.std)
        results.setdefault('audio_valid', True)
        return results

    def _from_reader(self, results: Dict, spans: np.ndarray
                     ) -> Optional[Dict]:
        """Decode only the clip (and negative) spans; whole track when the
        stream does not allow it. Decode errors follow the reader's
        ``on_missing_audio`` policy."""
        reader = results.pop('audio_reader')
        rate = results.get('audio_sample_rate', self.extractor.sample_rate)
        if rate != self.extractor.sample_rate:
            reader.close()
            raise ValueError(
                f'audio_sample_rate {rate} != AudioLogMelClips.sample_rate '
                f'{self.extractor.sample_rate}')
        try:
            audios = None
            state = np.random.get_state()
            for _ in range(2):  # again once if the reader was reopened
                if not reader.seekable:
                    break
                try:
                    audios = span_logmel_clips(
                        reader, self.extractor, spans, self.num_frames,
                        self.with_negative, self.negative_gap, self.mean,
                        self.std,
                        resampler=self._resampler(reader.native_rate))
                    break
                except SpanDecodeUnsupported as err:
                    np.random.set_state(state)  # redraw the same negative
                    if not isinstance(err, StreamParametersChanged):
                        break
            if audios is None:
                results['audio_waveform'] = self._whole_track(reader)
                results.pop('audio_reader', None)
                return self.transform(results)
            if not np.all(np.isfinite(audios)):
                raise AudioDecodeError(
                    f'the audio of {reader.path!r} contains NaN/inf samples')
        except AudioDecodeError as err:
            results['audio_waveform'] = np.zeros(0, np.float32)
            results['audio_offset'] = 0.0
            if _handle_missing(reader.on_missing_audio, results, reader.path,
                               str(err)) is None:
                return None
            return self.transform(results)
        finally:
            reader.close()
        results['audios'] = audios
        results.setdefault('audio_valid', True)
        return results

    def _whole_track(self, reader) -> np.ndarray:
        wave = reader.read_all()
        if wave.size == 0:
            raise AudioDecodeError(
                f'the audio stream of {reader.path!r} is empty')
        if not np.all(np.isfinite(wave)):
            raise AudioDecodeError(
                f'the audio of {reader.path!r} contains NaN/inf samples')
        return self._resampler(reader.native_rate)(wave)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'with_negative={self.with_negative}, '
                f'negative_gap={self.negative_gap}, mean={self.mean}, '
                f'std={self.std})')


@TRANSFORMS.register_module()
class LoadLogMel(BaseTransform):
    """Load the precomputed full-track log-mel of a sample.

    Reads the ``.npy`` written by ``tools/extract_logmel.py`` (un-normalised
    ``log(mel + 1e-8)``, ``[T, 80]``, float16 or float32) and its entry in
    the index (``index.jsonl`` in ``logmel_root``) for the audio offset and
    frame rate. :class:`AudioLogMelClips` then slices it exactly like the
    online path.

    File lookup: ``logmel_path`` if present in the results, else
    ``logmel_root / relpath(filename, video_root)`` with the extension
    replaced by ``.npy``.

    Required keys: ``logmel_path`` or ``filename``.

    Added keys: ``audio_logmel`` (float32 ``[T, F]``), ``audio_frame_rate``,
    ``audio_offset``, ``audio_valid``.

    Args:
        logmel_root (str): Folder written by ``tools/extract_logmel.py``.
        video_root (str): The videos' root (the dataset's
            ``data_prefix['video']``) to make ``filename`` relative.
        index_file (str): Index name inside ``logmel_root``.
            Default: ``'index.jsonl'``.
        on_missing_audio (str): Policy when the file, its index entry or
            its audio is missing: ``'zeros'`` | ``'skip'`` | ``'error'``.
    """

    def __init__(self,
                 logmel_root: str,
                 video_root: str = '',
                 index_file: str = 'index.jsonl',
                 on_missing_audio: str = 'zeros') -> None:
        self.logmel_root = logmel_root
        self.video_root = video_root
        self.index_file = index_file
        self.on_missing_audio = _check_policy(on_missing_audio)
        self._index = None

    def _load_index(self) -> Dict[str, Dict]:
        if self._index is None:
            path = osp.join(self.logmel_root, self.index_file)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'LoadLogMel: index {path!r} not found; run '
                    f'tools/extract_logmel.py first')
            index = {}
            with open(path) as f:
                for line in f:
                    if line.strip():
                        entry = json.loads(line)
                        index[entry['npy']] = entry
            self._index = index
        return self._index

    def _relative_npy(self, results: Dict) -> str:
        if 'logmel_path' in results:
            return osp.relpath(results['logmel_path'], self.logmel_root)
        rel = osp.relpath(results['filename'], self.video_root or '.') \
            if self.video_root else results['filename']
        return osp.splitext(rel)[0] + '.npy'

    def transform(self, results: Dict) -> Optional[Dict]:
        rel = self._relative_npy(results)
        path = osp.join(self.logmel_root, rel)
        entry = self._load_index().get(rel)
        results['audio_offset'] = 0.0
        results['audio_frame_rate'] = 62.5
        if entry is None:
            reason = f'no entry in {self.index_file}'
        elif not entry.get('valid', True):
            reason = entry.get('reason', 'no audio')
        elif not osp.isfile(path):
            reason = 'precomputed .npy file is missing'
        else:
            reason = None
        if reason is not None:
            results['audio_logmel'] = np.zeros((0, 80), np.float32)
            return _handle_missing(self.on_missing_audio, results, path,
                                   reason)
        results['audio_frame_rate'] = float(entry['frame_rate'])
        results['audio_offset'] = float(entry['offset'])
        results['audio_logmel'] = np.load(path).astype(np.float32)
        results['audio_valid'] = True
        return results

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(logmel_root='{self.logmel_root}',"
                f" video_root='{self.video_root}', "
                f"on_missing_audio='{self.on_missing_audio}')")


@TRANSFORMS.register_module()
class AlignAudioViews(BaseTransform):
    """Lay out ``audios`` like ``FormatShape`` lays out ``imgs``.

    Place after ``FormatShape``. ``FormatShape('NCTHW')`` orders video
    views as ``view = crop * num_clips + clip``; the per-clip audio
    ``[num_clips, C, T, F]`` is tiled over the crops the same way, so that
    ``MMRecognizer3D`` (which flattens each modality's views independently)
    pairs video view k with audio view k. With ``FormatShape(collapse=True)``
    (detection, ``imgs [C, T, H, W]``) the single audio view is squeezed to
    ``[C, T, F]``.

    Required keys: ``imgs`` (formatted), ``audios``, ``num_clips``.
    Modified keys: ``audios`` -> ``[V, C, T, F]`` with V = video views.

    Raises:
        ValueError: when the video view count is not a multiple of the audio
            clip count (the pipeline produced inconsistent views).
    """

    def transform(self, results: Dict) -> Dict:
        audios = results['audios']
        imgs = results['imgs']
        num_clips = results.get('num_clips', 1)
        if audios.shape[0] != num_clips:
            raise ValueError(
                f'AlignAudioViews: audios has {audios.shape[0]} views but '
                f'num_clips={num_clips}; run it once, after FormatShape')
        if imgs.ndim == 4:  # FormatShape(collapse=True): one view
            if num_clips != 1:
                raise ValueError('collapsed imgs need num_clips == 1, got '
                                 f'{num_clips}')
            results['audios'] = audios[0]
            return results
        num_views = imgs.shape[0]
        if num_views % num_clips:
            raise ValueError(
                f'AlignAudioViews: {num_views} video views cannot be paired '
                f'with {num_clips} audio clips (imgs {tuple(imgs.shape)}, '
                f'audios {tuple(audios.shape)}); use FormatShape before it')
        results['audios'] = np.ascontiguousarray(
            np.tile(audios, (num_views // num_clips, 1, 1, 1)))
        return results
