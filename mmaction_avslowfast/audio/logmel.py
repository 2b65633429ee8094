"""The reference log-mel recipe (DSP): spectrogram, mel scale, normalisation.

AVSlowFast reference (``shared/reference/avslowfast.md`` §1): 16 kHz mono,
n_fft = win_length = 512 (32 ms), hop 256 (16 ms), Hann window, power
spectrogram, no centering, 80 mel bins on the HTK scale with Slaney area
normalisation, f_min 0, f_max 8 kHz, ``log(S + 1e-8)``; full-track features
are stored as ``[T, 80]`` (time x mel) and normalised with mean -7.03,
std 4.66 when clips are cut.
"""
import math

import numpy as np
import torch

LOG_EPS = 1e-8
LOGMEL_MEAN = -7.03
LOGMEL_STD = 4.66


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

    @property
    def window(self) -> torch.Tensor:
        """The analysis window (periodic Hann, ``[n_fft]``)."""
        return self.spectrogram.window

    @property
    def filterbank(self) -> torch.Tensor:
        """The mel filterbank, ``[n_fft // 2 + 1, n_mels]``."""
        return self.mel_scale.fb

    def windows_logmel(self, windows) -> np.ndarray:
        """Log-mel of each frame of ``windows`` (float32 ``[..., n_fft]``,
        a frame's samples each), float32 ``[..., n_mels]``, un-normalised;
        equal to the frames of :meth:`__call__` up to float rounding
        (:func:`windows_logmel`)."""
        with torch.no_grad():
            return windows_logmel(torch.from_numpy(
                np.ascontiguousarray(windows, np.float32)), self.window,
                                  self.filterbank).numpy()

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


def windows_logmel(windows: torch.Tensor, window: torch.Tensor,
                   filterbank: torch.Tensor) -> torch.Tensor:
    """``log(mel power + 1e-8)`` of frames given by their samples, in one
    batched call on their device (the workers' CPU, or the model's device
    in :class:`~mmaction_avslowfast.models.AudioLogMelPreprocessor`).

    The reference recipe frame by frame: window, real FFT, power
    ``re^2 + im^2``, mel filterbank, log; what ``torch.stft`` (no
    centering) + ``MelScale`` compute for the same samples. Always float32
    (autocast off: a float16 mel product would lose the quiet bins).

    Args:
        windows (Tensor): ``[..., n_fft]`` samples of each frame; an
            all-zero frame gives ``log(1e-8)``, the value of silence.
        window (Tensor): ``[n_fft]`` analysis window.
        filterbank (Tensor): ``[n_fft // 2 + 1, n_mels]``.

    Returns:
        Tensor: float32 ``[..., n_mels]``.
    """
    with torch.autocast(windows.device.type, enabled=False):
        windows = windows.float()
        spec = torch.fft.rfft(windows * window.to(windows), dim=-1)
        power = spec.real.square() + spec.imag.square()
        return torch.log(
            torch.matmul(power, filterbank.to(power)) + LOG_EPS)


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


def normalize_logmel(x: np.ndarray,
                     mean: float = LOGMEL_MEAN,
                     std: float = LOGMEL_STD) -> np.ndarray:
    """``(x - mean) / std`` in float32."""
    return ((np.asarray(x, np.float32) - mean) / std).astype(np.float32)


def silence_value(mean: float = LOGMEL_MEAN,
                  std: float = LOGMEL_STD) -> float:
    """Normalised log-mel value of digital silence."""
    return (math.log(LOG_EPS) - mean) / std
