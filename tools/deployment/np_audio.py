"""The audio front end of the test pipeline in numpy and PyAV, for
``onnx_infer.py`` (no torch, torchaudio or mmaction).

It reproduces ``LoadAudioFromVideo -> AudioLogMelClips`` of the plugin
(``mmaction_avslowfast/audio``):

1. decode the first audio stream with PyAV, channels averaged
   (``AudioSpanReader.read_all``: integer samples scaled to [-1, 1]);
2. resample to the model's rate with torchaudio's windowed-sinc kernel
   (``transforms.Resample``: Hann window, 6 zero crossings, roll-off 0.99),
   rebuilt here in numpy;
3. log-mel of the whole track (n_fft = window, hop, Hann, power
   spectrogram, no centering, HTK mel scale with Slaney area
   normalisation, ``log(S + 1e-8)``);
4. cut each test clip's frames (``clip_frame_positions``: the audio
   follows the sampled video frames) and normalise.

The plugin decodes only the clips' spans (equal to the whole track up to
float rounding); this module decodes the whole track.
"""
import math
from typing import NamedTuple, Optional

import numpy as np

LOG_EPS = 1e-8


class AudioTrack(NamedTuple):
    """A decoded track: ``wave`` float32 ``[samples]`` mono at ``rate``,
    ``offset`` (s) of its first sample after the first video frame."""
    wave: np.ndarray
    rate: int
    offset: float


def _stream_start(stream) -> float:
    if stream is None or stream.start_time is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _to_float(arr: np.ndarray) -> np.ndarray:
    """Samples as float32 in [-1, 1] (unsigned 8-bit offset by 128)."""
    if arr.dtype == np.uint8:
        return (arr.astype(np.float32) - 128.0) / 128.0
    if arr.dtype.kind == 'i':
        return arr.astype(np.float32) / np.iinfo(arr.dtype).max
    return arr.astype(np.float32, copy=False)


def _frame_channels(frame) -> list:
    """``[samples]`` array per channel of a decoded PyAV audio frame."""
    arr = frame.to_ndarray()
    channels = frame.layout.nb_channels
    if frame.format.is_planar:
        return list(arr.reshape(channels, -1))
    return list(arr.reshape(-1, channels).T)


def _mono(chunks) -> np.ndarray:
    """Channel mean of consecutive frames' channels, float32 (summed in
    channel order, then divided, as the plugin's reader)."""
    if len({(len(c), c[0].dtype) for c in chunks}) > 1:
        return np.concatenate([_mono([c]) for c in chunks])
    num_channels = len(chunks[0])
    mono = _to_float(np.concatenate([c[0] for c in chunks])).copy()
    for k in range(1, num_channels):
        mono += _to_float(np.concatenate([c[k] for c in chunks]))
    if num_channels > 1:
        mono /= np.float32(num_channels)
    return mono


def decode_track(path: str) -> Optional[AudioTrack]:
    """The whole first audio stream of ``path``, mono at its native rate;
    None when there is no usable audio: no audio stream, a decode error,
    no samples or NaN/inf samples (the plugin's ``on_missing_audio=
    'zeros'``, which ``tools/demo.py`` uses, then feeds silence too)."""
    import av
    try:
        with av.open(path) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            video = next(iter(container.streams.video), None)
            offset = _stream_start(stream) - _stream_start(video)
            chunks, rate = [], stream.codec_context.sample_rate
            for frame in container.decode(stream):
                rate = frame.sample_rate
                chunks.append(_frame_channels(frame))
    except av.error.FFmpegError:
        return None
    if not chunks or not rate:
        return None
    wave = _mono(chunks)
    if wave.size == 0 or not np.all(np.isfinite(wave)):
        return None
    return AudioTrack(wave, int(rate), offset)


def sinc_kernel(orig_sr: int, target_sr: int, lowpass_filter_width: int = 6,
                rolloff: float = 0.99):
    """torchaudio's ``_get_sinc_resample_kernel`` (Hann window) in float32.

    Returns:
        tuple: ``(kernel [new, 2 * width + orig] float32, width, orig,
        new)`` with the rates divided by their gcd.
    """
    g = math.gcd(int(orig_sr), int(target_sr))
    orig, new = int(orig_sr) // g, int(target_sr) // g
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    f32 = np.float32
    idx = np.arange(-width, width + orig, dtype=f32)[None] / f32(orig)
    t = np.arange(0, -new, -1, dtype=f32)[:, None] / f32(new) + idx
    t = np.clip(t * f32(base), -lowpass_filter_width, lowpass_filter_width)
    window = np.cos(t * f32(math.pi) / f32(lowpass_filter_width) /
                    f32(2)) ** 2
    t = t * f32(math.pi)
    with np.errstate(invalid='ignore', divide='ignore'):
        kernel = np.where(t == 0, f32(1), np.sin(t) / t)
    kernel = kernel * (window * f32(base / orig))
    return kernel.astype(f32), width, orig, new


def resampled_length(num_samples: int, orig_sr: int, target_sr: int) -> int:
    """Output length of :func:`resample` (torchaudio's)."""
    if orig_sr == target_sr:
        return num_samples
    g = math.gcd(int(orig_sr), int(target_sr))
    return int(math.ceil(target_sr // g * num_samples / (orig_sr // g)))


def resample(wave: np.ndarray, orig_sr: int, target_sr: int,
             chunk_blocks: int = 32768) -> np.ndarray:
    """Windowed-sinc resampling of ``wave`` float32 ``[samples]``, as
    ``torchaudio.transforms.Resample(orig_sr, target_sr)``: zero padding
    of ``width`` and ``width + orig``, the ``[new, kernel]`` filters at
    stride ``orig``, truncated to ``ceil(new * samples / orig)``."""
    wave = np.asarray(wave, np.float32).reshape(-1)
    if orig_sr == target_sr or wave.size == 0:
        return wave.copy()
    kernel, width, orig, new = sinc_kernel(orig_sr, target_sr)
    padded = np.pad(wave, (width, width + orig))
    taps = kernel.shape[1]
    blocks = (padded.size - taps) // orig + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, taps)[::orig]
    out = [windows[b:b + chunk_blocks] @ kernel.T  # [blocks, new]
           for b in range(0, blocks, chunk_blocks)]
    out = np.concatenate(out).reshape(-1)
    return out[:resampled_length(wave.size, orig_sr, target_sr)]


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int,
                   f_min: float = 0.0,
                   f_max: Optional[float] = None) -> np.ndarray:
    """torchaudio's ``melscale_fbanks`` (HTK scale, Slaney area
    normalisation), float64 ``[n_fft // 2 + 1, n_mels]``."""
    f_max = sample_rate / 2 if f_max is None else f_max

    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0**(m / 2595.0) - 1.0)

    all_freqs = np.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    f_pts = mel_to_hz(
        np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))
    return fb * (2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels]))[None]


def log_mel(wave: np.ndarray, sample_rate: int = 16000, n_fft: int = 512,
            hop_length: int = 256, n_mels: int = 80) -> np.ndarray:
    """``log(mel power + 1e-8)`` of a mono waveform, float32
    ``[T, n_mels]`` (``T = 0`` below one window), as the plugin's
    ``LogMelExtractor``: periodic Hann window of ``n_fft``, no centering,
    ``re^2 + im^2``, mel bins from 0 to ``sample_rate / 2``."""
    wave = np.asarray(wave, np.float32).reshape(-1)
    if wave.size < n_fft:
        return np.zeros((0, n_mels), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(wave, n_fft)
    frames = frames[::hop_length].astype(np.float64)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    spec = np.fft.rfft(frames * window, axis=1)
    power = spec.real**2 + spec.imag**2
    fb = mel_filterbank(sample_rate, n_fft, n_mels)
    return np.log(power @ fb + LOG_EPS).astype(np.float32)


def _frame_step(diffs: np.ndarray) -> float:
    """Most common positive step (ties: the largest; 0 if none)."""
    values, counts = np.unique(diffs[diffs > 0], return_counts=True)
    return float(values[counts == counts.max()].max()) if values.size else 0.


def clip_positions(frame_inds: np.ndarray, num_clips: int, fps: float,
                   frame_rate: float, audio_offset: float,
                   num_frames: int) -> np.ndarray:
    """Fractional log-mel frame read by each of the ``num_frames`` audio
    frames of each clip (the plugin's ``clip_frame_times`` +
    ``clip_frame_positions``): strictly increasing clips read their first
    to last frame time linearly; looped or repeated clips read, at output
    frame ``j``, the time of frame ``inds[floor(x_j)]`` plus
    ``frac(x_j) * dt``.

    Returns:
        np.ndarray: float64 ``[num_clips, num_frames]``.
    """
    clips = np.asarray(frame_inds).reshape(num_clips, -1).astype(np.float64)
    diffs = np.diff(clips, axis=1)
    times = clips / float(fps)
    num = np.arange(num_frames) * (clips.shape[1] - 1)
    den = max(num_frames - 1, 1)
    slot, frac = num // den, (num % den) / den
    rows = []
    for k in range(num_clips):
        if np.all(diffs[k] > 0):
            lo, hi = (times[k][[0, -1]] - audio_offset) * frame_rate
            rows.append(np.linspace(lo, hi, num_frames))
        else:
            step = _frame_step(diffs[k]) / float(fps)
            rows.append((times[k][slot] + frac * step - audio_offset) *
                        frame_rate)
    return np.asarray(rows, np.float64)


def logmel_clips(logmel: np.ndarray, positions: np.ndarray, mean: float,
                 std: float) -> np.ndarray:
    """Log-mel frame ``floor(p)`` at every position (silence outside the
    track), normalised: float32 ``[num_clips, 1, num_frames, n_mels]``."""
    index = np.floor(positions).astype(np.int64)
    out = np.full(index.shape + (logmel.shape[1], ), math.log(LOG_EPS),
                  np.float32)
    hit = (index >= 0) & (index < logmel.shape[0])
    out[hit] = logmel[index[hit]]
    return ((out - mean) / std).astype(np.float32)[:, None]
