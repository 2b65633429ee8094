"""Sample-rate conversion (DSP): torchaudio's windowed-sinc kernel applied
band by band."""
import math

import numpy as np
import torch


def resampled_length(num_samples: int, orig_sr: int, target_sr: int) -> int:
    """Length of :func:`resample`'s output for ``num_samples`` inputs."""
    if orig_sr == target_sr:
        return num_samples
    g = math.gcd(int(orig_sr), int(target_sr))
    return int(math.ceil(target_sr // g * num_samples / (orig_sr // g)))


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
