"""The log-mel on the model's device: the audio data preprocessor of the
``logmel='device'`` path, and the switch that turns a config to it.

With ``logmel='device'`` on the pipeline's audio transforms
(``AudioLogMelClips``, ``AVSyncEvalAudio``, ``BlankAudio``), the loader
workers only decode and resample the spans the clips read and ship each
output frame's ``n_fft`` samples; :class:`AudioLogMelPreprocessor` then
computes the normalised log-mel of the whole batch in one batched call on
the model's device (:func:`~mmaction_avslowfast.audio.windows_logmel`),
giving the inputs the workers would have computed (up to float
rounding; ``tests/models/test_audio_preprocessor.py``). Log-mel inputs
(precomputed features, ``BlankAudio``'s non-silence fills) pass unchanged,
so the preprocessor can stay in a config whose pipelines compute the
log-mel. :func:`use_device_logmel` sets both sides of a config.
"""
from typing import List, Optional, Tuple

import torch
from mmaction.models.data_preprocessors import ActionDataPreprocessor
from mmaction.registry import MODELS

from ..audio import (LOGMEL_MEAN, LOGMEL_STD, LogMelExtractor,
                     windows_logmel)

#: The pipeline transforms that take ``logmel='worker' | 'device'``.
AUDIO_TRANSFORMS = ('AudioLogMelClips', 'AVSyncEvalAudio', 'BlankAudio')


@MODELS.register_module()
class AudioLogMelPreprocessor(ActionDataPreprocessor):
    """``ActionDataPreprocessor`` for ``audios`` that computes the log-mel
    of frames given by their samples (module doc).

    A batch whose last dimension is ``n_fft`` holds frames' samples (from
    ``logmel='device'`` transforms): it becomes ``(log(mel power + 1e-8) -
    logmel_mean) / logmel_std``, float32, ``[..., n_mels]``, in one call
    on the batch's device with autocast off. A batch whose last dimension
    is ``n_mels`` is log-mel already and is passed on as
    ``ActionDataPreprocessor`` (no ``mean`` / ``std``) passes it. The
    window and filterbank are non-persistent buffers: checkpoints are the
    same with either path.

    Args:
        sample_rate (int), n_fft (int), n_mels (int): The recipe of the
            pipeline's transforms. Defaults: 16000, 512, 80.
        logmel_mean (float), logmel_std (float): Their normalisation
            (``mean`` / ``std`` of ``AudioLogMelClips``). Defaults: -7.03,
            4.66.
        **kwargs: ``ActionDataPreprocessor`` arguments (normally none).
    """

    def __init__(self,
                 sample_rate: int = 16000,
                 n_fft: int = 512,
                 n_mels: int = 80,
                 logmel_mean: float = LOGMEL_MEAN,
                 logmel_std: float = LOGMEL_STD,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if n_fft == n_mels:
            raise ValueError('AudioLogMelPreprocessor tells frames from '
                             'log-mel by n_fft != n_mels')
        extractor = LogMelExtractor(sample_rate, n_fft, n_mels=n_mels)
        self.n_fft, self.n_mels = int(n_fft), int(n_mels)
        self.logmel_mean, self.logmel_std = logmel_mean, logmel_std
        self.register_buffer('window', extractor.window.clone(), False)
        self.register_buffer('filterbank', extractor.filterbank.clone(),
                             False)

    def logmel(self, frames: torch.Tensor) -> torch.Tensor:
        """Normalised log-mel of ``[..., n_fft]`` frames' samples."""
        logmel = windows_logmel(frames, self.window, self.filterbank)
        return (logmel - self.logmel_mean) / self.logmel_std

    def preprocess(self,
                   inputs: List[torch.Tensor],
                   data_samples: Optional[list],
                   training: bool = False) -> Tuple:
        batch, data_samples = super().preprocess(inputs, data_samples,
                                                 training)
        if batch.shape[-1] == self.n_fft:
            batch = self.logmel(batch)
        elif batch.shape[-1] != self.n_mels:
            raise ValueError(
                f'AudioLogMelPreprocessor: audios of shape '
                f'{tuple(batch.shape)} are neither frames of n_fft='
                f'{self.n_fft} samples nor n_mels={self.n_mels} log-mel '
                'bins')
        return batch, data_samples


def _audio_transforms(node):
    """Every audio transform dict of :data:`AUDIO_TRANSFORMS` in ``node``
    (nested dicts / lists of a config)."""
    if isinstance(node, dict):
        if node.get('type') in AUDIO_TRANSFORMS:
            yield node
        for value in node.values():
            yield from _audio_transforms(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _audio_transforms(value)


def use_device_logmel(cfg):
    """Switch a config (``mmengine.Config`` or dict) to the device log-mel
    path, in place: ``logmel='device'`` on every audio transform of the
    data loaders' pipelines and :class:`AudioLogMelPreprocessor` (with
    their recipe and normalisation) as the model's ``audios``
    preprocessor. Returns ``cfg``.

    Raises:
        ValueError: the model has no ``preprocessors.audios`` entry, or the
            transforms disagree on the recipe.
    """
    steps = [step for key in ('train_dataloader', 'val_dataloader',
                              'test_dataloader')
             for step in _audio_transforms(cfg.get(key))]
    recipes = {
        tuple(step.get(k, d) for k, d in (
            ('sample_rate', 16000), ('n_fft', 512), ('n_mels', 80),
            ('mean', LOGMEL_MEAN), ('std', LOGMEL_STD)))
        for step in steps if step['type'] != 'BlankAudio'}
    if len(recipes) > 1:
        raise ValueError(f'use_device_logmel: the audio transforms use '
                         f'different log-mel recipes {sorted(recipes)}')
    rate, n_fft, n_mels, mean, std = recipes.pop() if recipes else (
        16000, 512, 80, LOGMEL_MEAN, LOGMEL_STD)
    for step in steps:
        step['logmel'] = 'device'
        if step['type'] == 'BlankAudio':
            step['n_fft'] = n_fft
    preprocessors = cfg['model'].get('data_preprocessor', {}).get(
        'preprocessors', {})
    if 'audios' not in preprocessors:
        raise ValueError('use_device_logmel: the model has no '
                         'data_preprocessor.preprocessors.audios')
    preprocessors['audios'] = dict(
        type='AudioLogMelPreprocessor', sample_rate=rate, n_fft=n_fft,
        n_mels=n_mels, logmel_mean=mean, logmel_std=std)
    return cfg


__all__ = ['AudioLogMelPreprocessor', 'use_device_logmel', 'AUDIO_TRANSFORMS']
