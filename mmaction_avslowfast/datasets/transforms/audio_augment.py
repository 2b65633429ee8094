"""Optional training augmentations on normalised log-mel ``audios``.

All operate on ``results['audios']`` ``[V, C, T, F]`` (output of
:class:`AudioLogMelClips`), so they work for the online and the precomputed
path alike. They are off in the reference configs.
"""
from typing import Dict, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ...audio import LOG_EPS, LOGMEL_MEAN, LOGMEL_STD


@TRANSFORMS.register_module()
class AudioGainJitter(BaseTransform):
    """Random gain in dB, applied exactly in the log-mel domain.

    A waveform gain ``g`` scales mel power by ``g**2``; the feature becomes
    ``log(g**2 * (exp(x) - 1e-8) + 1e-8)`` (x un-normalised), so silence
    stays silence. The same gain is used for all views and channels of the
    sample (the AVS negative comes from the same recording).

    Required / modified keys: ``audios`` ``[V, C, T, F]``.

    Args:
        prob (float): Probability of applying. Default: 0.5.
        gain_db (tuple[float, float]): Uniform range in dB. Default: (-6, 6).
        mean (float), std (float): Normalisation used by the features.
    """

    def __init__(self,
                 prob: float = 0.5,
                 gain_db: Tuple[float, float] = (-6.0, 6.0),
                 mean: float = LOGMEL_MEAN,
                 std: float = LOGMEL_STD) -> None:
        assert 0 <= prob <= 1, f'prob must be in [0, 1], got {prob}'
        self.prob = prob
        self.gain_db = tuple(gain_db)
        self.mean = mean
        self.std = std

    def transform(self, results: Dict) -> Dict:
        if np.random.rand() >= self.prob:
            return results
        gain_db = np.random.uniform(*self.gain_db)
        power_gain = 10.0**(gain_db / 10.0)
        log_mel = results['audios'].astype(np.float64) * self.std + self.mean
        power = np.maximum(np.exp(log_mel) - LOG_EPS, 0.0)
        log_mel = np.log(power * power_gain + LOG_EPS)
        results['audios'] = ((log_mel - self.mean) / self.std).astype(
            np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'gain_db={self.gain_db})')


class _SpecMask(BaseTransform):
    """SpecAugment-style masking along one axis of ``audios``."""

    axis = -1

    def __init__(self,
                 prob: float = 0.5,
                 max_width: int = 16,
                 num_masks: int = 1,
                 mask_value: float = 0.0) -> None:
        assert 0 <= prob <= 1, f'prob must be in [0, 1], got {prob}'
        assert max_width >= 1 and num_masks >= 1
        self.prob = prob
        self.max_width = max_width
        self.num_masks = num_masks
        self.mask_value = mask_value

    def transform(self, results: Dict) -> Dict:
        audios = np.array(results['audios'], dtype=np.float32, copy=True)
        if audios.ndim != 4:
            raise ValueError(f'{self.__class__.__name__} expects audios '
                             f'[V, C, T, F], got shape {audios.shape}')
        size = audios.shape[self.axis]
        for v in range(audios.shape[0]):
            for c in range(audios.shape[1]):
                if np.random.rand() >= self.prob:
                    continue
                spec = audios[v, c]  # [T, F] view
                for _ in range(self.num_masks):
                    width = np.random.randint(1, min(self.max_width, size) + 1)
                    start = np.random.randint(0, size - width + 1)
                    if self.axis == 2:
                        spec[start:start + width, :] = self.mask_value
                    else:
                        spec[:, start:start + width] = self.mask_value
        results['audios'] = audios
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'max_width={self.max_width}, num_masks={self.num_masks}, '
                f'mask_value={self.mask_value})')


@TRANSFORMS.register_module()
class AudioTimeMask(_SpecMask):
    """Mask random time spans of each spectrogram (SpecAugment).

    Each spectrogram (every view and channel of ``audios`` ``[V, C, T, F]``)
    is masked independently with probability ``prob``: ``num_masks`` spans
    of 1..``max_width`` frames are set to ``mask_value`` (0 = the
    normalised mean).

    Args:
        prob (float): Per-spectrogram probability. Default: 0.5.
        max_width (int): Longest span in frames. Default: 16.
        num_masks (int): Spans per spectrogram. Default: 1.
        mask_value (float): Fill value. Default: 0.0.
    """

    axis = 2


@TRANSFORMS.register_module()
class AudioFreqMask(_SpecMask):
    """Mask random mel-bin bands of each spectrogram (SpecAugment).

    Same as :class:`AudioTimeMask` along the mel axis ``F`` of
    ``[V, C, T, F]``.

    Args:
        prob (float): Per-spectrogram probability. Default: 0.5.
        max_width (int): Widest band in mel bins. Default: 8.
        num_masks (int): Bands per spectrogram. Default: 1.
        mask_value (float): Fill value. Default: 0.0.
    """

    axis = 3

    def __init__(self,
                 prob: float = 0.5,
                 max_width: int = 8,
                 num_masks: int = 1,
                 mask_value: float = 0.0) -> None:
        super().__init__(prob, max_width, num_masks, mask_value)
