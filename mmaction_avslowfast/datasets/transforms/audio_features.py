"""Audio decoding, the reference log-mel recipe and clip/time alignment.

Shared by the online transforms (:class:`LoadAudioFromVideo`,
:class:`AudioLogMelClips`), the precomputed path (:class:`LoadLogMel`,
``tools/extract_logmel.py``) and the tests, so that both paths compute and
slice features with exactly the same code.

Log-mel recipe (AVSlowFast reference, ``shared/reference/avslowfast.md`` §1):
16 kHz mono, n_fft = win_length = 512 (32 ms), hop 256 (16 ms), Hann window,
power spectrogram, no centering, 80 mel bins on the HTK scale with Slaney
area normalisation, f_min 0, f_max 8 kHz, ``log(S + 1e-8)``; the
full-track features are stored as ``[T, 80]`` (time x mel) and normalised
with mean -7.03, std 4.66 when clips are cut.

Time convention: ``t = 0`` is the first video frame. A log-mel frame ``k``
of a track whose first sample lies at ``offset`` seconds covers samples
``[k * hop, k * hop + n_fft)``, i.e. it starts at ``offset + k * hop / sr``.
"""
import math
import os.path as osp
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch

LOG_EPS = 1e-8
LOGMEL_MEAN = -7.03
LOGMEL_STD = 4.66


class AudioDecodeError(RuntimeError):
    """Audio of a file is missing or cannot be decoded (message names the
    file and the reason)."""


class LogMelExtractor:
    """Full-track log-mel spectrogram with torchaudio (reference recipe).

    Built from ``torchaudio.transforms.Spectrogram`` (complex output) and
    ``torchaudio.transforms.MelScale``, once per instance; the power is
    taken as ``re^2 + im^2`` (``MelSpectrogram`` computes ``|z|`` and
    squares it, which is slower and rounds the same to 4e-7). Runs on CPU
    in float32.

    Args:
        sample_rate (int): Input sample rate. Default: 16000.
        n_fft (int): FFT size and window length. Default: 512.
        hop_length (int): Hop in samples. Default: 256.
        n_mels (int): Mel bins. Default: 80.
    """

    def __init__(self,
                 sample_rate: int = 16000,
                 n_fft: int = 512,
                 hop_length: int = 256,
                 n_mels: int = 80) -> None:
        import torchaudio
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.spectrogram = torchaudio.transforms.Spectrogram(
            n_fft=n_fft,
            win_length=n_fft,
            hop_length=hop_length,
            window_fn=torch.hann_window,
            power=None,
            center=False)
        self.mel_scale = torchaudio.transforms.MelScale(
            n_mels=n_mels,
            sample_rate=sample_rate,
            f_min=0.0,
            f_max=sample_rate / 2,
            n_stft=n_fft // 2 + 1,
            norm='slaney',
            mel_scale='htk')

    def _log_mel(self, waveforms: torch.Tensor) -> torch.Tensor:
        """``[..., num_samples]`` -> ``log(mel power + 1e-8)``
        ``[..., n_mels, T]``."""
        with torch.no_grad():
            spec = self.spectrogram(waveforms)
            power = spec.real.square() + spec.imag.square()
            return torch.log(self.mel_scale(power) + LOG_EPS)

    @property
    def frame_rate(self) -> float:
        """Log-mel frames per second (62.5 for the reference)."""
        return self.sample_rate / self.hop_length

    def num_frames(self, num_samples: int) -> int:
        """Frames of a waveform of ``num_samples`` without centering."""
        if num_samples < self.n_fft:
            return 0
        return (num_samples - self.n_fft) // self.hop_length + 1

    def __call__(self, waveform: np.ndarray) -> np.ndarray:
        """Compute ``log(mel power + 1e-8)``.

        Args:
            waveform (np.ndarray): Mono ``[num_samples]`` at
                ``self.sample_rate``.

        Returns:
            np.ndarray: float32 ``[T, n_mels]`` (time x mel), un-normalised;
            ``T = 0`` when the waveform is shorter than one window.
        """
        waveform = np.asarray(waveform, dtype=np.float32).reshape(-1)
        if self.num_frames(waveform.shape[0]) == 0:
            return np.zeros((0, self.n_mels), dtype=np.float32)
        logmel = self._log_mel(torch.from_numpy(waveform))  # [n_mels, T]
        return logmel.T.contiguous().numpy()

    def batch(self, waveforms) -> list:
        """:meth:`__call__` of several waveforms in one pass.

        The waveforms are zero-padded to a common length and transformed
        together (the per-call overhead of the torch ops exceeds the FFTs
        of a 2-s span); frames that reach into the padding are dropped, so
        each result equals :meth:`__call__` of its waveform.

        Args:
            waveforms (list[np.ndarray]): Mono ``[num_samples_i]``.

        Returns:
            list[np.ndarray]: float32 ``[T_i, n_mels]``.
        """
        waveforms = [np.asarray(w, np.float32).reshape(-1) for w in waveforms]
        counts = [self.num_frames(w.shape[0]) for w in waveforms]
        if len(waveforms) < 2 or max(counts) == 0:
            return [self(w) for w in waveforms]
        stacked = torch.zeros(len(waveforms), max(w.shape[0]
                                                  for w in waveforms))
        for row, wave in zip(stacked, waveforms):
            row[:wave.shape[0]] = torch.from_numpy(wave)
        logmel = self._log_mel(stacked)  # [K, n_mels, T]
        return [
            logmel[i, :, :n].T.contiguous().numpy()
            for i, n in enumerate(counts)
        ]


# Options for FFmpeg's stream probing (``avformat_find_stream_info``) when
# opening an mp4/mov file. By default it decodes the first H.264 frames to
# guess the video decoding delay and reads up to 5 MB of packets, which is
# 85 % of the cost of opening a Kinetics-sized mp4 (2.5 ms -> 0.35 ms,
# measured). For the mov family everything we use (stream start times,
# durations, time bases, codec parameters) is read from the ``moov``
# header; the audio rate and channel count are checked against the first
# decoded frame (:class:`AudioSpanReader` reopens with the full probe if
# they differ, e.g. HE-AAC, whose header states half the rate). Other
# containers (Matroska/WebM, MPEG-TS, ...) derive stream start times from
# the probed packets, and these options change them (e.g. a Matroska
# video start of 0.4 s reads as 0), so they are probed fully.
_MOV_EXTENSIONS = ('.mp4', '.m4a', '.m4v', '.mov', '.3gp', '.3g2')
_FAST_MOV_PROBE = {'skip_frame': 'all', 'probesize': '32'}


def open_for_audio(path: str, fast_probe: bool = True):
    """Open a media file with PyAV to read its audio.

    Args:
        path (str): Media file.
        fast_probe (bool): Use the short stream probing for mp4/mov files
            (see ``_FAST_MOV_PROBE``; other formats, files that are not
            mp4/mov inside and files the short probe cannot open are
            probed fully). Callers must then check the audio sample rate
            and channel count against a decoded frame. Default: True.

    Returns:
        tuple: ``(container, fast)``: the open ``av`` input container and
        whether the short probing was used.

    Raises:
        AudioDecodeError: the file cannot be opened (names it and the
            reason).
    """
    import av
    container = None
    if fast_probe and osp.splitext(path)[1].lower() in _MOV_EXTENSIONS:
        try:
            container = av.open(path, options=_FAST_MOV_PROBE)
        except Exception:  # noqa: BLE001 - the full probe reports it
            container = None
        if container is not None and not container.format.name.startswith(
                'mov'):  # misnamed file
            container.close()
            container = None
        if container is not None:
            return container, True
    try:
        return av.open(path), False
    except Exception as err:  # noqa: BLE001 - report any open error
        raise AudioDecodeError(
            f'cannot open {path!r}: {type(err).__name__}: {err}') from err


def _probe_streams(path: str) -> Dict:
    """Read stream headers with PyAV (FFmpeg's full stream probe).

    Returns dict with ``has_audio``, ``channels``, ``sample_rate``,
    ``audio_start`` and ``video_start`` (seconds, 0.0 when unknown) and
    ``decoder_skip``: samples the decoder must drop at the start of a
    Matroska/WebM track (its ``CodecDelay``, e.g. the 1024 AAC priming
    samples), which FFmpeg applies from packet side data.
    """
    container, _ = open_for_audio(path, fast_probe=False)
    with container:
        start = _stream_start
        astream = next(iter(container.streams.audio), None)
        vstream = next(iter(container.streams.video), None)
        return dict(
            has_audio=astream is not None,
            channels=astream.codec_context.channels if astream else 0,
            sample_rate=astream.codec_context.sample_rate if astream else 0,
            audio_start=start(astream),
            video_start=start(vstream),
            decoder_skip=(astream.codec_context.delay if astream and
                          container.format.name.startswith('matroska') else
                          0))


def _decode_decord(path: str, channels: int,
                   decoder_skip: int = 0) -> Tuple[np.ndarray, int]:
    """Native-rate mono waveform with decord.

    decord's own resampler (``sample_rate=16000``) produces phase jumps at
    packet boundaries and its ``mono=False`` output is wrong for stereo
    (decord 0.6.0), so we decode at the native rate with ffmpeg's mono
    downmix and resample with torchaudio. ffmpeg downmixes stereo as
    ``(L + R) / sqrt(2)``; the reference averages channels, so the stereo
    result is rescaled to ``(L + R) / 2``. Sources with more than two
    channels keep ffmpeg's downmix matrix.

    decord 0.6.0 also ignores the decoder's skip-samples side data, so a
    Matroska/WebM track starts with its ``CodecDelay`` priming samples
    (1024 for AAC: 23 ms late at 44.1 kHz); ``decoder_skip`` samples are
    dropped to match FFmpeg's (and PyAV's) output.
    """
    import decord
    try:
        reader = decord.AudioReader(path, sample_rate=-1, mono=True)
        # The decoded track is already a numpy array in ``_array``;
        # decord 0.6.0's ``reader[:]`` copies it again through a Python list
        # of every sample index (35 ms for 10 s of 44.1 kHz audio, 2.5x the
        # decoding itself). Fall back to it if a release drops the field.
        wave = getattr(reader, '_array', None)
        if not isinstance(wave, np.ndarray):
            wave = reader[:].asnumpy()
    except Exception as err:  # noqa: BLE001 - decord raises DECORDError
        raise AudioDecodeError(
            f'decord cannot decode the audio of {path!r}: {err}') from err
    wave = wave.reshape(-1)[decoder_skip:].astype(np.float32)
    if channels == 2:
        wave *= np.float32(1 / math.sqrt(2))
    return wave, None


def _decode_pyav(path: str) -> Tuple[np.ndarray, int, float]:
    """Native-rate waveform averaged over channels, decoded with PyAV.

    Opens the file once, demuxes only the audio packets.

    Returns:
        tuple: ``(waveform, sample_rate, offset)`` with ``offset`` the audio
        stream start minus the video stream start (s).
    """
    reader = AudioSpanReader(path)
    try:
        return reader.read_all(), reader.native_rate, reader.offset
    finally:
        reader.close()


class AudioSpanReader:
    """Decode the whole audio track, or chosen sample ranges of it, with
    PyAV.

    The file is opened (and its headers read) once, in the constructor;
    :meth:`read` seeks to each requested range and decodes only a few
    codec frames before it (``preroll_frames``: the first frame after a
    seek lacks its MDCT overlap). Sample ``i`` of the native-rate track is
    at ``(i / native_rate)`` s after the audio stream start, i.e. at
    ``offset + i / native_rate`` in video time; a whole-track decode puts
    the same sample at index ``i``.

    Args:
        path (str): Media file.

    Raises:
        AudioDecodeError: the file cannot be opened or has no audio stream.
    """

    preroll_frames = 3

    def __init__(self, path: str) -> None:
        self.path = path
        self._container = None
        self._open(fast_probe=True)

    def _open(self, fast_probe: bool) -> None:
        """(Re)open the file and read the audio stream parameters."""
        self.close()
        self._container, self._fast_probe = open_for_audio(
            self.path, fast_probe)
        streams = self._container.streams
        if not streams.audio:
            self.close()
            if self._fast_probe:
                return self._open(fast_probe=False)
            raise AudioDecodeError(f'{self.path!r} has no audio stream')
        self._stream = streams.audio[0]
        codec = self._stream.codec_context
        if self._fast_probe and not (codec.sample_rate and codec.channels):
            return self._open(fast_probe=False)
        self.native_rate = codec.sample_rate
        self.channels = codec.channels
        self.frame_size = codec.frame_size or 1024
        self.offset = _stream_start(self._stream) - _stream_start(
            next(iter(streams.video), None))
        self._start_pts = self._stream.start_time
        self._fresh = True  # nothing demuxed yet
        self._checked = False  # no frame compared with the header yet
        self._pts_per_sample = None

    def _reopen_fully(self) -> 'StreamParametersChanged':
        """Reopen with the full probe after a decoded frame contradicted
        the short probe's header parameters (e.g. HE-AAC, whose header
        states half the output rate); returns the error to raise."""
        old = (self.native_rate, self.channels)
        self._open(fast_probe=False)
        return StreamParametersChanged(
            f'{self.path!r}: decoded audio has (rate, channels) '
            f'{(self.native_rate, self.channels)}, its header said {old}; '
            f'reopened with full probing')

    @property
    def seekable(self) -> bool:
        """Whether :meth:`read` and :meth:`num_samples` can be used (the
        stream start and duration are known)."""
        return (self._start_pts is not None
                and self._stream.duration is not None
                and self._stream.time_base is not None
                and bool(self.native_rate))

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def _wrap(self, err: Exception) -> AudioDecodeError:
        return AudioDecodeError(
            f'PyAV cannot decode the audio of {self.path!r}: '
            f'{type(err).__name__}: {err}')

    def _sample_index(self, pts: int) -> int:
        if self._pts_per_sample is None:
            self._pts_per_sample = 1 / (self._stream.time_base *
                                        self.native_rate)
            self._unit_pts = self._pts_per_sample == 1
        if self._unit_pts:  # time base 1 / sample rate
            return pts - self._start_pts
        return int(round((pts - self._start_pts) / self._pts_per_sample))

    def _seek_to_sample(self, index: int) -> None:
        """Seek so that decoding starts at or before sample ``index``.

        Targets before the first packet rewind to the very first (priming)
        packet, which reproduces a whole-track decode exactly.
        """
        if index <= 0:
            target = self._start_pts - 10 * self.native_rate
        else:
            self._sample_index(self._start_pts)  # sets _pts_per_sample
            target = self._start_pts + int(index * self._pts_per_sample)
        self._container.seek(
            int(target), stream=self._stream, backward=True)
        self._fresh = False

    def _frames(self):
        for packet in self._container.demux(self._stream):
            for frame in packet.decode():
                if not self._checked:  # the first frame after opening
                    if self._fast_probe and (
                            frame.sample_rate != self.native_rate
                            or frame.layout.nb_channels != self.channels):
                        raise _ProbeMismatch()
                    self._checked = True
                yield frame

    def read_all(self) -> np.ndarray:
        """The whole track, channel mean, native rate, float32."""
        samples = _FrameCollector()
        try:
            if not self._fresh:
                self._seek_to_sample(-1)
            self._fresh = False
            for frame in self._frames():
                samples.add(frame)
        except _ProbeMismatch:
            self._reopen_fully()
            return self.read_all()
        except Exception as err:  # noqa: BLE001 - report any decode error
            raise self._wrap(err) from err
        return samples.mono()

    def num_samples(self) -> int:
        """Native samples of a whole-track decode, from the last packets
        (the decoder may emit more samples than the stream duration says,
        e.g. the AAC end padding).

        AAC decodes every packet to ``frame_size`` samples, so its count is
        the last packet's position plus one frame, read without decoding
        (unless the packet asks the decoder to trim samples); other codecs
        decode the last packets.
        """
        end = self._sample_index(self._start_pts + self._stream.duration)
        if self._stream.codec_context.name == 'aac':
            last = self._last_packet(end - 2 * self.frame_size)
            if last is not None and not last.has_sidedata('skip_samples'):
                return self._sample_index(last.pts) + self.frame_size
        return self._decoded_end(end)

    def _last_packet(self, from_sample: int):
        """The last packet with a timestamp, demuxed from ``from_sample``
        on (None if there is none)."""
        last = None
        try:
            self._seek_to_sample(from_sample)
            for packet in self._container.demux(self._stream):
                if packet.size and packet.pts is not None:
                    last = packet
        except Exception as err:  # noqa: BLE001 - report any demux error
            raise self._wrap(err) from err
        return last

    def _decoded_end(self, end: int) -> int:
        """Track length from decoding the packets near ``end``."""
        try:
            self._seek_to_sample(end - 2 * self.frame_size)
            last = None
            for frame in self._frames():
                last = frame
        except _ProbeMismatch:
            raise self._reopen_fully() from None
        except Exception as err:  # noqa: BLE001 - report any decode error
            raise self._wrap(err) from err
        if last is None or last.pts is None:
            raise AudioDecodeError(
                f'the audio stream of {self.path!r} is empty')
        return self._sample_index(last.pts) + last.samples

    def read(self, first: int, stop: int) -> Tuple[np.ndarray, int]:
        """Native samples ``[first, stop)`` (channel mean, float32).

        Returns:
            tuple: ``(waveform, start)`` where ``start <= max(first, 0)``
            is the track index of ``waveform[0]``; the waveform ends at
            ``stop`` or at the end of the track. Raises
            :class:`SpanDecodeUnsupported` when the stream has no usable
            timestamps (decode the whole track instead).
        """
        first = max(first, 0)
        samples, start, expected = _FrameCollector(), None, None
        try:
            self._seek_to_sample(first - self.preroll_frames *
                                 self.frame_size)
            for frame in self._frames():
                if frame.pts is None:
                    raise SpanDecodeUnsupported('frame without pts')
                index = self._sample_index(frame.pts)
                if index + frame.samples <= first:
                    continue
                if start is None:
                    if index > first:
                        raise SpanDecodeUnsupported(
                            f'seek went past sample {first}')
                    start = expected = index
                if index != expected:
                    raise SpanDecodeUnsupported(
                        f'audio frames are not contiguous at {index}')
                expected = index + frame.samples
                samples.add(frame)
                if expected >= stop:
                    break
        except _ProbeMismatch:
            raise self._reopen_fully() from None
        except (AudioDecodeError, SpanDecodeUnsupported):
            raise
        except Exception as err:  # noqa: BLE001 - report any decode error
            raise self._wrap(err) from err
        if start is None:
            return np.zeros(0, np.float32), first
        return samples.mono()[:stop - start], start


class SpanDecodeUnsupported(RuntimeError):
    """The stream cannot be decoded by ranges (no timestamps, gaps)."""


class StreamParametersChanged(SpanDecodeUnsupported):
    """The reader was reopened with different stream parameters; values
    derived from the old ones (sample ranges) must be recomputed."""


class _ProbeMismatch(Exception):
    """A decoded frame contradicts the stream header of a short probe."""


def resampled_length(num_samples: int, orig_sr: int, target_sr: int) -> int:
    """Length of :func:`resample`'s output for ``num_samples`` inputs."""
    if orig_sr == target_sr:
        return num_samples
    g = math.gcd(int(orig_sr), int(target_sr))
    return int(math.ceil(target_sr // g * num_samples / (orig_sr // g)))


def span_logmels(reader: AudioSpanReader,
                 extractor: 'LogMelExtractor',
                 ranges,
                 resampler: Optional[Callable] = None) -> list:
    """Log-mel frames ``first..last`` (inclusive) of the whole-track
    features, for each ``(first, last)`` of ``ranges``, decoding only the
    samples they need.

    Each native range is aligned so that resampling it gives exactly the
    whole-track resampled samples (the windowed-sinc resampler works in
    blocks of ``orig_sr / gcd`` input samples) and padded by the
    resampler's filter width on both sides. Frames beyond the end of the
    track are absent (that result is then shorter). The ranges are
    resampled and transformed together (one batch each).

    ``resampler`` (optional): a :class:`WaveformResampler` from the
    reader's rate to the extractor's (its kernel is then reused).

    Returns:
        list[np.ndarray]: float32 ``[n <= last - first + 1, n_mels]``.
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
    return extractor.batch(
        [wave[lo:hi] for wave, (lo, hi) in zip(resampled, windows)])


def _stream_start(stream) -> float:
    if stream is None or stream.start_time is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


class _FrameCollector:
    """Collects consecutive decoded PyAV audio frames; :meth:`mono` returns
    their channel mean.

    Frames go into an ``av.AudioFifo`` (one C copy each; converting every
    frame to numpy costs more than decoding it). If the sample format,
    layout or rate changes mid-stream, collection goes on frame by frame
    (:func:`_frame_channels`). The change is detected here: PyAV 18's
    ``AudioFifo.write`` crashes the interpreter on a layout change instead
    of raising.
    """

    def __init__(self) -> None:
        import av
        self._fifo = av.AudioFifo()
        self._kind = None  # (format, layout, rate) of the FIFO's frames
        self._chunks = []  # per-channel arrays, once the FIFO is given up

    def add(self, frame) -> None:
        if self._fifo is not None:
            kind = (frame.format.name, frame.layout.name, frame.sample_rate)
            if self._kind is None:
                self._kind = kind
            if kind == self._kind:
                frame.pts = None  # the FIFO checks timestamps; read() did
                self._fifo.write(frame)
                return
            self._drain_fifo()
        self._chunks.append(_frame_channels(frame))

    def _drain_fifo(self) -> None:
        if self._fifo.samples:
            self._chunks.append(_frame_channels(self._fifo.read()))
        self._fifo = None

    def mono(self) -> np.ndarray:
        """Channel mean of everything added, float32 ``[samples]``."""
        if self._fifo is not None:
            self._drain_fifo()
        return _mono(self._chunks)


# PyAV sample format (planar suffix ``p`` removed) -> numpy dtype.
_SAMPLE_DTYPES = {
    'u8': np.uint8,
    's16': np.int16,
    's32': np.int32,
    's64': np.int64,
    'flt': np.float32,
    'dbl': np.float64,
}


def _frame_channels(frame) -> list:
    """Samples of a decoded PyAV audio frame, one ``[samples]`` array per
    channel.

    The arrays are views of the frame's buffers (``AudioFrame.to_ndarray``
    stacks the planes with ``np.vstack``, which costs more than decoding
    the frame).
    """
    fmt = frame.format
    dtype = _SAMPLE_DTYPES.get(fmt.name[:-1] if fmt.is_planar else fmt.name)
    channels = frame.layout.nb_channels
    if dtype is None:  # a format numpy cannot view: let PyAV convert
        arr = frame.to_ndarray()
        arr = (arr.reshape(channels, -1) if fmt.is_planar else
               arr.reshape(-1, channels).T)
        return list(arr)
    samples = frame.samples
    if fmt.is_planar:
        return [np.frombuffer(plane, dtype, samples)
                for plane in frame.planes[:channels]]
    packed = np.frombuffer(frame.planes[0], dtype, samples * channels)
    return [packed[k::channels] for k in range(channels)]


def _to_float(arr: np.ndarray) -> np.ndarray:
    """Samples as float32 in [-1, 1] (integer formats scaled; unsigned
    8-bit is offset by 128 as in WAV)."""
    if arr.dtype == np.uint8:
        return (arr.astype(np.float32) - 128.0) / 128.0
    if arr.dtype.kind == 'i':
        return arr.astype(np.float32) / np.iinfo(arr.dtype).max
    return arr.astype(np.float32, copy=False)


def _mono(chunks) -> np.ndarray:
    """Channel mean of consecutive decoded frames (each a list of
    per-channel arrays from :func:`_frame_channels`), float32. One
    vectorised pass per channel: per-frame means cost more than the
    decoding."""
    if not chunks:
        return np.zeros(0, np.float32)
    if len({(len(c), c[0].dtype) for c in chunks}) > 1:
        # the layout or format changed mid-stream: average frame by frame
        return np.concatenate([_mono([c]) for c in chunks])
    num_channels = len(chunks[0])
    mono = _to_float(np.concatenate([c[0] for c in chunks]))
    if num_channels == 1:
        return mono
    if not mono.flags.owndata:  # a view of the decoded samples
        mono = mono.copy()
    for k in range(1, num_channels):
        mono += _to_float(np.concatenate([c[k] for c in chunks]))
    mono /= np.float32(num_channels)
    return mono


class WaveformResampler:
    """torchaudio's windowed-sinc resampling (``transforms.Resample``:
    Hann window, 6 zero crossings, roll-off 0.99) of mono waveforms.

    ``Resample`` convolves with a ``[new, 2 * width + orig]`` kernel (rates
    divided by their gcd; for 44.1 -> 16 kHz ``[160, 475]``) at stride
    ``orig``, but each output phase has only ``~2 * width`` non-zero taps:
    93 % of its products are with zeros. Here the same kernel is split into
    ``groups`` bands of consecutive phases, each applied to the samples
    under its non-zero taps as one matrix product. The products computed
    are the same (less those with the window's ~4e-33 tails), so the
    output equals ``Resample``'s up to float rounding (<= 2e-6, tested).
    It is ~2x faster than the convolution and needs no per-length
    compilation (oneDNN compiles ``Resample``'s convolution anew for every
    input length, ~2 ms, and clip spans rarely repeat a length).

    Args:
        orig_sr (int): Input rate.
        target_sr (int): Output rate.
        groups (int): Number of phase bands. Default: 4.
    """

    def __init__(self, orig_sr: int, target_sr: int, groups: int = 4) -> None:
        self.orig_sr = int(orig_sr)
        self.target_sr = int(target_sr)
        self._bands = []
        if self.orig_sr == self.target_sr:
            return
        import torchaudio
        module = torchaudio.transforms.Resample(
            self.orig_sr, self.target_sr, dtype=torch.float32)
        g = math.gcd(self.orig_sr, self.target_sr)
        self._stride = self.orig_sr // g
        self._width = int(module.width)
        kernel = module.kernel[:, 0]  # [new, 2 * width + orig]
        self._kernel_len = kernel.shape[1]
        # Outside its 6 zero crossings the window is cos^2(pi / 2) ~ 4e-33,
        # not exactly 0: such taps change nothing and are dropped.
        nonzero = kernel.abs() > 1e-9 * kernel.abs().max()
        taps = torch.arange(self._kernel_len)
        first = torch.where(nonzero, taps, self._kernel_len).min(1).values
        last = torch.where(nonzero, taps, -1).max(1).values
        bounds = np.linspace(0, kernel.shape[0],
                             min(groups, kernel.shape[0]) + 1).astype(int)
        for j0, j1 in zip(bounds[:-1], bounds[1:]):
            lo = int(first[j0:j1].min().clamp(max=self._kernel_len - 1))
            hi = max(int(last[j0:j1].max()) + 1, lo + 1)
            # (first tap, [taps, phases]) of the band
            self._bands.append((lo, kernel[j0:j1, lo:hi].T.contiguous()))

    def _resample_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """``[batch, n]`` -> ``[batch, new * blocks]`` (untruncated)."""
        padded = torch.nn.functional.pad(
            rows, (self._width, self._width + self._stride))
        blocks = (padded.shape[-1] - self._kernel_len) // self._stride + 1
        phases = [  # each [batch * blocks, phases of the band]
            torch.mm(
                padded[:, lo:].unfold(-1, band.shape[0], self._stride)
                [:, :blocks].reshape(-1, band.shape[0]), band)
            for lo, band in self._bands
        ]
        return torch.cat(phases, -1).reshape(rows.shape[0], -1)

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        """Resample ``[num_samples]`` float32 to
        ``[resampled_length(num_samples, orig_sr, target_sr)]``."""
        return self.batch([wave])[0]

    def batch(self, waves) -> list:
        """:meth:`__call__` of several waveforms in one pass (zero padding
        to a common length: the filter reads zeros past each end anyway,
        so each output is unchanged)."""
        waves = [np.asarray(w, np.float32).reshape(-1) for w in waves]
        if not self._bands or not waves or not max(w.size for w in waves):
            return [w.copy() for w in waves]
        rows = torch.zeros(len(waves), max(w.size for w in waves))
        for row, wave in zip(rows, waves):
            row[:wave.size] = torch.from_numpy(wave)
        with torch.no_grad():
            out = self._resample_rows(rows)
        return [
            out[i, :resampled_length(w.size, self.orig_sr,
                                     self.target_sr)].numpy()
            for i, w in enumerate(waves)
        ]


class ResamplerCache:
    """One :class:`WaveformResampler` per source rate, to ``target_sr``
    (the kernel is built once per rate, ~0.7 ms, not once per sample).

    Args:
        target_sr (int): Output rate.
    """

    def __init__(self, target_sr: int) -> None:
        self.target_sr = int(target_sr)
        self._resamplers = {}

    def __call__(self, orig_sr: int) -> WaveformResampler:
        if orig_sr not in self._resamplers:
            self._resamplers[orig_sr] = WaveformResampler(
                orig_sr, self.target_sr)
        return self._resamplers[orig_sr]


def resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited (windowed sinc) resampling with torchaudio (see
    :class:`WaveformResampler`)."""
    return WaveformResampler(orig_sr, target_sr)(wave)


def decode_audio(path: str,
                 sample_rate: int = 16000,
                 backend: str = 'pyav',
                 resamplers: Optional[ResamplerCache] = None
                 ) -> Tuple[np.ndarray, float]:
    """Decode the whole audio track of a media file as mono at
    ``sample_rate``.

    Args:
        path (str): Video (or audio) file.
        sample_rate (int): Target rate. Default: 16000.
        backend (str): ``'pyav'`` (default) or ``'decord'`` (decord
            ``AudioReader`` at the native rate). Both give the same
            waveform (max abs diff < 1e-4 in the tests, mp4 / mov /
            Matroska / MPEG-TS); 10 s of 44.1 kHz stereo AAC take ~10 ms
            with PyAV and ~15 ms with decord 0.6.0.
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
    if backend == 'decord':
        info = _probe_streams(path)
        if not info['has_audio']:
            raise AudioDecodeError(f'{path!r} has no audio stream')
        wave, _ = _decode_decord(path, info['channels'],
                                 info['decoder_skip'])
        rate = info['sample_rate']
        offset = info['audio_start'] - info['video_start']
    elif backend == 'pyav':
        wave, rate, offset = _decode_pyav(path)
    else:
        raise ValueError(f"backend must be 'decord' or 'pyav', got "
                         f'{backend!r}')
    if wave.size == 0:
        raise AudioDecodeError(f'the audio stream of {path!r} is empty')
    if not np.all(np.isfinite(wave)):
        raise AudioDecodeError(
            f'the audio of {path!r} contains NaN/inf samples')
    if not rate or rate <= 0:
        raise AudioDecodeError(
            f'unknown audio sample rate in {path!r} ({rate})')
    if resamplers is None:
        resamplers = ResamplerCache(sample_rate)
    return resamplers(rate)(wave), offset


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
    frame_inds = np.asarray(frame_inds).reshape(-1)
    if num_clips <= 0 or frame_inds.size % num_clips:
        raise ValueError(f'{frame_inds.size} frame_inds cannot be split into '
                         f'num_clips={num_clips} clips')
    if not fps or fps <= 0:
        raise ValueError(f'fps must be positive, got {fps}')
    clips = frame_inds.reshape(num_clips, -1).astype(np.float64)
    spans = np.stack([clips.min(axis=1), clips.max(axis=1)], axis=1)
    return (spans - start_index) / float(fps) + time_offset


def slice_logmel(logmel: np.ndarray,
                 start_frame: float,
                 end_frame: float,
                 num_frames: int = 128,
                 pad_value: float = math.log(LOG_EPS)) -> np.ndarray:
    """Map a fractional log-mel span onto ``num_frames`` frames.

    Nearest-index resampling as the reference (``linspace`` + floor). Frames
    outside the track are filled with ``pad_value`` (the log-mel of
    silence), which pads audio shorter than the clip.

    Args:
        logmel (np.ndarray): ``[T, F]`` full-track features.
        start_frame (float): Span start, in (fractional) frame units.
        end_frame (float): Span end.
        num_frames (int): Output length. Default: 128.
        pad_value (float): Value for frames outside ``[0, T)``.

    Returns:
        np.ndarray: float32 ``[num_frames, F]``.
    """
    index = np.floor(np.linspace(start_frame, end_frame, num_frames))
    index = index.astype(np.int64)
    valid = (index >= 0) & (index < logmel.shape[0])
    out = np.full((num_frames, logmel.shape[1]), pad_value, np.float32)
    out[valid] = logmel[index[valid]]
    return out


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


def normalize_logmel(x: np.ndarray,
                     mean: float = LOGMEL_MEAN,
                     std: float = LOGMEL_STD) -> np.ndarray:
    """``(x - mean) / std`` in float32."""
    return ((np.asarray(x, np.float32) - mean) / std).astype(np.float32)


def clip_frame_spans(spans: np.ndarray,
                     frame_rate: float,
                     audio_offset: float = 0.0,
                     total: int = 0,
                     with_negative: bool = False,
                     negative_gap: float = 32,
                     rng: Optional[np.random.RandomState] = None
                     ) -> np.ndarray:
    """Fractional log-mel frame span of every aligned clip and negative.

    Args:
        spans (np.ndarray): ``[num_clips, 2]`` clip times (s), video time.
        frame_rate (float): Log-mel frames per second (sr / hop).
        audio_offset (float): Time (s) of the track's first sample.
        total (int): Log-mel frames of the whole track (only used to draw
            the negatives).
        with_negative (bool): Add a hard negative per clip (channel 1).
        negative_gap (float): Minimum negative shift, in frames.
        rng: Random state for the negatives (default ``np.random``).

    Returns:
        np.ndarray: float64 ``[num_clips, 1 or 2, 2]`` (start, end) frames.
    """
    frames = (np.asarray(spans, np.float64) - audio_offset) * frame_rate
    views = []
    for start, end in frames:
        channels = [(start, end)]
        if with_negative:
            neg = sample_negative_start(start, end - start, total,
                                        negative_gap, rng)
            channels.append((neg, neg + end - start))
        views.append(channels)
    return np.asarray(views, np.float64).reshape(len(frames), -1, 2)


def logmel_clips(logmel: np.ndarray,
                 spans: np.ndarray,
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
        spans (np.ndarray): ``[num_clips, 2]`` clip times (s), video time.
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
    requests = clip_frame_spans(spans, frame_rate, audio_offset,
                                logmel.shape[0], with_negative, negative_gap,
                                rng)
    out = np.stack([
        np.stack([slice_logmel(logmel, s, e, num_frames) for s, e in view])
        for view in requests
    ])
    return normalize_logmel(out, mean, std)


def span_logmel_clips(reader: AudioSpanReader,
                      extractor: LogMelExtractor,
                      spans: np.ndarray,
                      num_frames: int = 128,
                      with_negative: bool = False,
                      negative_gap: float = 32,
                      mean: float = LOGMEL_MEAN,
                      std: float = LOGMEL_STD,
                      merge_gap: int = 64,
                      rng: Optional[np.random.RandomState] = None,
                      resampler: Optional[Callable] = None) -> np.ndarray:
    """:func:`logmel_clips` of the whole track, decoding only the spans
    the clips (and negatives) read.

    The negatives need the track length; it is read from the last packets
    (:meth:`AudioSpanReader.num_samples`), so the draw equals the one of
    the whole-track path. Frame ranges closer than ``merge_gap`` frames are
    decoded together (one seek each otherwise).

    Exception: bands an AAC encoder coded as noise (PNS, used by ffmpeg's
    native encoder e.g. around transients) are regenerated by the decoder
    from a random state that depends on where decoding started, so those
    bins differ from a whole-track decode (both are valid decodes; seen
    only on a 48 kHz synthetic file, 5 frames around a tone switch).

    Returns:
        np.ndarray: float32 ``[num_clips, 1 or 2, num_frames, F]``, equal to
        the whole-track result up to float rounding (< 1e-3 normalised).

    Raises:
        SpanDecodeUnsupported: the stream cannot be decoded by ranges.
    """
    total = 0
    if with_negative:
        total = extractor.num_frames(
            resampled_length(reader.num_samples(), reader.native_rate,
                             extractor.sample_rate))
    requests = clip_frame_spans(spans, extractor.frame_rate, reader.offset,
                                total, with_negative, negative_gap, rng)
    limit = total - 1 if with_negative else np.inf
    ranges = []  # inclusive log-mel frame ranges to decode
    for start, end in requests.reshape(-1, 2):
        lo, hi = max(math.floor(start), 0), min(math.floor(end), limit)
        if hi >= lo:
            ranges.append([lo, int(hi)])
    merged = _merge_ranges(ranges, merge_gap)
    segments = list(  # (first frame, features)
        zip([lo for lo, _ in merged],
            span_logmels(reader, extractor, merged, resampler)))
    silent = np.zeros((0, extractor.n_mels), np.float32)

    def cut(start, end):
        lo = max(math.floor(start), 0)
        first, feats = next(((f, x) for f, x in segments
                             if f <= lo < f + len(x)), (lo, silent))
        return slice_logmel(feats, start - first, end - first, num_frames)

    out = np.stack([np.stack([cut(s, e) for s, e in view])
                    for view in requests])
    return normalize_logmel(out, mean, std)


def _merge_ranges(ranges, gap):
    merged = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + gap:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged
