"""Blanking a modality: its input replaced by a constant fill.

The one place that says what a blanked modality looks like. Three users:

- the visual-only ablation (``AVRecognizer3D(blank_modalities='audios')``,
  ``--cfg-options model.blank_modalities=audios``): fill ``'mean'``;
- the visual-only transfer configs: the audio is never decoded
  (``BlankAudio`` writes a placeholder in the pipeline) and the model blanks
  it with fill ``'mean'`` (``blank_modalities=dict(audios='mean')``);
- the conditions of :mod:`mmaction_avslowfast.apis.conditions`: audio ->
  ``'silence'``, frames -> ``'mean'`` (mean grey).

Fills (:data:`FILLS`), each a constant written over the whole modality:

- ``'mean'``: zeros of the normalised input (the data preprocessor's
  output). For the frames every pixel is at the preprocessor's ``mean``
  (mean grey); for the audio it is the data set's average log-mel
  (``AudioLogMelClips`` normalises with the data set's mean / std);
- ``'silence'`` (audio only): digital silence, the normalised log-mel of
  ``log(1e-8)`` (:func:`~mmaction_avslowfast.audio.silence_value`, by
  default with the reference statistics; the apis pass the pipeline's),
  i.e. what ``on_missing_audio='zeros'`` feeds for a video without sound;
- a float: that constant in the normalised input.

``'silence'`` is defined in the normalised log-mel domain, before the data
preprocessor; every config's audio preprocessor is an
``ActionDataPreprocessor`` without ``mean`` / ``std`` (identity on the
log-mel), and one with them is applied to the value as it would be to the
log-mel; any other audio preprocessor is refused for ``'silence'``.

:func:`blank_inputs` blanks the preprocessed inputs (the model and the
apis call it); :func:`fill_value` gives a fill's constant, which
``BlankAudio`` also writes in the pipeline.
"""
import math
from typing import Dict, Mapping, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ...audio import silence_value

MEAN = 'mean'
SILENCE = 'silence'
FILLS = (MEAN, SILENCE)
Fill = Union[str, float]
# The forms ``AVRecognizer3D(blank_modalities=...)`` accepts.
BlankSpec = Union[None, str, Sequence[str], Mapping[str, Fill]]


def check_fill(fill: Fill, modality: str) -> Fill:
    """``fill`` if it is a valid fill for ``modality``, else ValueError."""
    if isinstance(fill, str):
        if fill not in FILLS:
            raise ValueError(f'unknown fill {fill!r} for {modality!r}: '
                             f'use one of {FILLS} or a float')
        if fill == SILENCE and modality != 'audios':
            raise ValueError(f"fill 'silence' is for 'audios' only, got it "
                             f'for {modality!r}')
        return fill
    if isinstance(fill, bool) or not isinstance(fill, (int, float)) \
            or not math.isfinite(fill):
        raise ValueError(f'fill for {modality!r} must be one of {FILLS} or '
                         f'a finite float, got {fill!r}')
    return float(fill)


def parse_blank_spec(spec: BlankSpec) -> Dict[str, Fill]:
    """Modality -> fill, from ``'audios'``, ``('audios', 'imgs')`` (fill
    ``'mean'`` for each: the original ``blank_modalities`` forms) or a
    mapping such as ``dict(audios='silence')``."""
    if spec is None:
        return {}
    if isinstance(spec, str):
        spec = (spec, )
    if isinstance(spec, Mapping):
        return {str(m): check_fill(f, str(m)) for m, f in spec.items()}
    spec = tuple(spec)
    if not all(isinstance(m, str) for m in spec):
        raise TypeError('blank_modalities must be a modality name, a '
                        'sequence of names or a dict name -> fill, got '
                        f'{spec!r}')
    return {m: MEAN for m in spec}


def fill_value(fill: Fill,
               modality: str = 'audios',
               silence: Optional[float] = None) -> float:
    """The constant of ``fill`` where it is defined: ``'mean'`` -> 0.0 and
    a float -> itself (normalised input), ``'silence'`` -> ``silence``
    (normalised log-mel), by default :func:`silence_value` with the
    reference statistics."""
    fill = check_fill(fill, modality)
    if fill == MEAN:
        return 0.0
    if fill == SILENCE:
        return float(silence_value() if silence is None else silence)
    return fill


def _modality_preprocessor(data_preprocessor: Optional[nn.Module],
                        modality: str) -> Optional[nn.Module]:
    preprocessors = getattr(data_preprocessor, 'preprocessors', None)
    if preprocessors is not None:  # MultiModalDataPreprocessor
        return preprocessors[modality] if modality in preprocessors else None
    return data_preprocessor


def _preprocessed(value: float, like: Tensor,
                  data_preprocessor: Optional[nn.Module],
                  modality: str) -> Tensor:
    """``value`` of the pipeline's normalised log-mel, as the data
    preprocessor passes it on (``like``: its output)."""
    from mmaction.models.data_preprocessors import ActionDataPreprocessor
    pre = _modality_preprocessor(data_preprocessor, modality)
    if not isinstance(pre, ActionDataPreprocessor):
        raise ValueError(
            "fill 'silence' is a value of the normalised log-mel, before the "
            f'data preprocessor, which for {modality!r} is '
            f'{type(pre).__name__}: cannot tell what it makes of it. Use '
            "fill 'mean' or a float (values of the preprocessed input).")
    filled = torch.full_like(like, value)
    if getattr(pre, 'mean', None) is None:  # no normalisation: identity
        return filled
    return ((filled - pre.mean) / pre.std).to(like.dtype).expand_as(like)


def blank_inputs(inputs: Dict[str, Tensor],
                 fills: Mapping[str, Fill],
                 data_preprocessor: Optional[nn.Module] = None,
                 silence: Optional[float] = None) -> Dict[str, Tensor]:
    """Replace modalities of the preprocessed inputs by their fill.

    Args:
        inputs (dict[str, Tensor]): The data preprocessor's output, e.g.
            ``dict(imgs=..., audios=...)``; left unchanged.
        fills (Mapping[str, str | float]): Modality -> fill (:data:`FILLS`
            or a float); an empty mapping blanks nothing.
        data_preprocessor (nn.Module, optional): The model's; needed for
            ``'silence'`` only (see the module doc).
        silence (float, optional): Normalised log-mel value of digital
            silence (e.g. ``apis.pipeline_silence_value``). Default:
            :func:`silence_value` with the reference statistics.

    Returns:
        dict[str, Tensor]: A new dict; blanked modalities are new tensors
        of the same shape, dtype and device, the others the same objects.
    """
    missing = [m for m in fills if m not in inputs]
    if missing:
        raise KeyError(f'blanking {dict(fills)} names {missing}, which the '
                       f'inputs do not have (inputs: {sorted(inputs)}).')
    out = dict(inputs)
    for modality, fill in fills.items():
        value = fill_value(fill, modality, silence)
        x = inputs[modality]
        if fill == SILENCE:
            out[modality] = _preprocessed(value, x, data_preprocessor,
                                          modality)
        else:
            out[modality] = torch.full_like(x, value)
    return out


__all__ = [
    'MEAN', 'SILENCE', 'FILLS', 'check_fill', 'parse_blank_spec',
    'fill_value', 'blank_inputs'
]
