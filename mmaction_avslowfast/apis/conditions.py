"""Input conditions of :func:`inference_av`: what each sense contributes.

A prediction is made three times on the same test views:

- ``audiovisual``: the inputs as the test pipeline made them (the scores
  equal :func:`mmaction.apis.inference_recognizer`'s);
- ``audio_silenced`` (``blank='audios'``): fill ``'silence'``, every audio
  value is the log-mel of **digital silence**, the normalised value of
  ``log(1e-8)`` (:func:`~mmaction_avslowfast.audio.silence_value` with the
  ``mean`` / ``std`` of the pipeline's ``AudioLogMelClips``), i.e. exactly
  what the ``on_missing_audio='zeros'`` policy feeds for a video without
  sound. It is not fill ``'mean'`` (zeros of the normalised input, the data
  set's average spectrum, which the training ablation
  ``model.blank_modalities=audios`` uses);
- ``frames_blanked`` (``blank='imgs'``): fill ``'mean'``, every frame is
  **mean grey**, zeros of the normalised input, i.e. each pixel equals the
  data preprocessor's ``mean`` (the frames carry no information but stay at
  the statistics the network was trained on).

Both are written after the data preprocessor by ``blank_inputs`` of
:mod:`mmaction_avslowfast.models.recognizers.modality_blanking`, the one
blanking function of the package (it also serves the model's
``blank_modalities``). Digital silence is a value of the pipeline's
normalised log-mel, passed through the audio preprocessor (identity in
every config) on its way to the model.
"""
import copy
from typing import Dict, List, Optional

import torch
from mmengine.dataset import Compose, pseudo_collate

from ..audio import silence_value
from ..models.recognizers import modality_blanking

# condition name -> the modality it blanks (None: none)
CONDITIONS = {
    'audiovisual': None,
    'audio_silenced': 'audios',
    'frames_blanked': 'imgs',
}
CONDITION_TITLES = {
    'audiovisual': 'audiovisual',
    'audio_silenced': 'audio -> digital silence',
    'frames_blanked': 'frames -> mean grey',
}
BLANKS = (None, 'audios', 'imgs')
# blanked modality -> its fill (see modality_blanking)
BLANK_FILLS = {
    'audios': modality_blanking.SILENCE,  # digital silence
    'imgs': modality_blanking.MEAN,  # mean grey
}


def pipeline_silence_value(pipeline: Compose) -> float:
    """Normalised log-mel value of digital silence for this pipeline.

    Uses the ``mean`` / ``std`` of its ``AudioLogMelClips`` (the transform
    that normalises the log-mel, online or precomputed).

    Raises:
        ValueError: the pipeline has no ``AudioLogMelClips``.
    """
    from ..datasets.transforms import AudioLogMelClips
    for transform in pipeline.transforms:
        if isinstance(transform, AudioLogMelClips):
            return silence_value(transform.mean, transform.std)
    raise ValueError('the test pipeline has no AudioLogMelClips: cannot '
                     'tell the log-mel value of silence')


def check_blank(blank: Optional[str]) -> Optional[str]:
    if blank not in BLANKS:
        raise ValueError(f'blank must be one of {BLANKS}, got {blank!r}')
    return blank


def forward_blanked(model: torch.nn.Module,
                    packed: List[Dict],
                    blank: Optional[str] = None,
                    silence: Optional[float] = None) -> list:
    """Predict packed samples with one modality blanked.

    With ``blank=None`` this is ``model.test_step(pseudo_collate(packed))``
    (the path of ``inference_recognizer``).

    Args:
        model (nn.Module): Recognizer in eval mode.
        packed (list[dict]): Outputs of the test pipeline, each
            ``dict(inputs=dict(imgs=[V, 3, T, H, W], audios=[V, C, T, F]),
            data_samples=ActionDataSample)``; left unchanged.
        blank (str, optional): ``None``, ``'audios'`` (digital silence) or
            ``'imgs'`` (mean grey).
        silence (float, optional): Normalised log-mel of silence (see
            :func:`pipeline_silence_value`); required for ``'audios'``.

    Returns:
        list[ActionDataSample]: One per sample, with ``pred_score``
        ``[num_classes]``.
    """
    check_blank(blank)
    samples = []
    for sample in packed:
        if blank is not None and blank not in sample['inputs']:
            raise KeyError(f'cannot blank {blank!r}: the inputs are '
                           f'{sorted(sample["inputs"])}')
        # Predictions are written into the data samples: use copies.
        samples.append(
            dict(inputs=dict(sample['inputs']),
                 data_samples=copy.deepcopy(sample['data_samples'])))
    if blank == 'audios' and silence is None:
        raise ValueError("blank='audios' needs the silence value")
    data = pseudo_collate(samples)
    with torch.no_grad():
        data = model.data_preprocessor(data, False)
        if blank is not None:
            data['inputs'] = modality_blanking.blank_inputs(
                data['inputs'], {blank: BLANK_FILLS[blank]},
                model.data_preprocessor, silence)
        return model(**data, mode='predict')
