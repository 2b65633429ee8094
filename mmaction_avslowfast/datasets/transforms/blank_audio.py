"""Constant silent audio input for visual-only training and testing."""
from typing import Dict, Optional, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ...models.recognizers import modality_blanking


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
    filled with ``self.value``.

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
    """

    def __init__(self,
                 num_frames: int = 128,
                 n_mels: int = 80,
                 fill: Union[str, float] = modality_blanking.SILENCE,
                 value: Optional[float] = None) -> None:
        if num_frames < 1 or n_mels < 1:
            raise ValueError('BlankAudio: num_frames and n_mels must be '
                             f'positive, got {num_frames}, {n_mels}')
        self.num_frames = int(num_frames)
        self.n_mels = int(n_mels)
        self.fill = modality_blanking.check_fill(
            fill if value is None else value, 'audios')
        self.value = modality_blanking.fill_value(self.fill, 'audios')

    def transform(self, results: Dict) -> Dict:
        num_clips = int(results.get('num_clips', 1))
        results['audios'] = np.full(
            (num_clips, 1, self.num_frames, self.n_mels), self.value,
            dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'n_mels={self.n_mels}, fill={self.fill!r}, '
                f'value={self.value:.4f})')


__all__ = ['BlankAudio']
