"""Constant silent audio input for visual-only training and testing."""
from typing import Dict, Optional, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ...models.recognizers import modality_blanking
from .audio_loading import check_logmel_on


@TRANSFORMS.register_module()
class BlankAudio(BaseTransform):
    """Write an all-silence ``audios`` without opening the file.

    Replaces ``LoadAudioFromVideo`` + ``AudioLogMelClips`` in visual-only
    pipelines (e.g. UCF101 / HMDB51 transfer, where many videos have no
    audio track, unevenly across classes): every sample gets the same
    constant input, whether its file has an audio track or not, so the
    audio input carries no information about the label. No audio is decoded
    and nothing is logged or counted as missing audio (``audio_valid`` is
    not set: ``MediaIssuesHook`` reports no ``data/no_audio``).

    Place it after ``SampleFrames`` (it needs ``num_clips``) and before
    ``AlignAudioViews``, which tiles the clips over the spatial crops.

    The transfer configs also blank the audio in the model
    (``blank_modalities``), whose fill replaces this placeholder after the
    data preprocessor.

    Required keys: ``num_clips`` (default 1 when absent).

    Added keys: ``audios`` float32 ``[num_clips, 1, num_frames, n_mels]``
    filled with ``self.value``; with ``logmel='device'`` and the
    ``'silence'`` fill, ``[num_clips, 1, num_frames, n_fft]`` zeros (the
    samples of silence, which the model's ``AudioLogMelPreprocessor``
    turns into the same value). Other fills are not samples of any sound:
    they stay a log-mel constant, which the preprocessor passes on.

    Args:
        num_frames (int): Spectrogram frames per clip (the backbone's
            ``audio_frames``). Default: 128.
        n_mels (int): Mel bins. Default: 80.
        fill (str | float): A fill of
            :mod:`~mmaction_avslowfast.models.recognizers.modality_blanking`,
            written as its ``fill_value`` in the normalised log-mel:
            ``'silence'`` (default: digital silence with the reference
            statistics, what ``AudioLogMelClips`` gives for a silent
            track), ``'mean'`` (0, the data set's average log-mel) or a
            float.
        value (float, optional): Former name of a float ``fill``; when
            given it replaces ``fill``.
        logmel (str): ``'worker'`` (default) or ``'device'`` (see above).
        n_fft (int): Samples per frame for ``logmel='device'``.
            Default: 512.
    """

    def __init__(self,
                 num_frames: int = 128,
                 n_mels: int = 80,
                 fill: Union[str, float] = modality_blanking.SILENCE,
                 value: Optional[float] = None,
                 logmel: str = 'worker',
                 n_fft: int = 512) -> None:
        if num_frames < 1 or n_mels < 1:
            raise ValueError('BlankAudio: num_frames and n_mels must be '
                             f'positive, got {num_frames}, {n_mels}')
        self.num_frames = int(num_frames)
        self.n_mels = int(n_mels)
        self.fill = modality_blanking.check_fill(
            fill if value is None else value, 'audios')
        self.value = modality_blanking.fill_value(self.fill, 'audios')
        self.logmel = check_logmel_on(logmel, 'BlankAudio')
        # silence as samples (zeros) for the model's log-mel
        self.as_samples = (self.logmel == 'device'
                           and self.fill == modality_blanking.SILENCE)
        self.n_fft = int(n_fft)

    def transform(self, results: Dict) -> Dict:
        num_clips = int(results.get('num_clips', 1))
        if self.as_samples:
            results['audios'] = np.zeros(
                (num_clips, 1, self.num_frames, self.n_fft), np.float32)
        else:
            results['audios'] = np.full(
                (num_clips, 1, self.num_frames, self.n_mels), self.value,
                dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'n_mels={self.n_mels}, fill={self.fill!r}, '
                f"value={self.value:.4f}, logmel='{self.logmel}')")


__all__ = ['BlankAudio']
