"""How a model receives its backbone's AVS outputs: as a return value.

An audiovisual backbone (``AVSlowFast``) returns its features from
``forward(imgs, audios)`` and, when called with ``return_avs=True``, the pair
``(features, avs)``; ``avs`` maps ``loss_avs_<stage>`` and
``avs_pair_acc_<stage>`` to 0-dim tensors. Nothing is read from the backbone
after the call. Backbones whose ``forward`` has no ``return_avs`` parameter
(visual-only or test backbones) contribute no AVS outputs.
"""
import inspect
from typing import Dict, Tuple

import torch
from torch import Tensor, nn


def returns_avs(backbone: nn.Module) -> bool:
    """Whether ``backbone.forward`` takes ``return_avs`` (AVSlowFast)."""
    try:
        params = inspect.signature(backbone.forward).parameters
    except (TypeError, ValueError):  # not introspectable
        return False
    return 'return_avs' in params


def forward_with_avs(backbone: nn.Module, *args,
                     **kwargs) -> Tuple[object, Dict[str, Tensor]]:
    """``(features, avs)`` of one backbone call; ``avs`` is ``{}`` for a
    backbone without AVS outputs (see :func:`returns_avs`)."""
    if returns_avs(backbone):
        return backbone(*args, return_avs=True, **kwargs)
    return backbone(*args, **kwargs), {}


def add_avs_outputs(losses: Dict[str, Tensor], avs: Dict[str, Tensor],
                    owner: str) -> Dict[str, Tensor]:
    """Add the backbone's AVS outputs to a head's loss dict, in place.

    Every entry keeps its own key, so MMEngine's ``parse_losses`` optimises
    the ``loss_*`` ones and logs all of them. A key that a head already uses
    is refused, and so is an entry that carries a gradient under a name
    without ``'loss'`` (MMEngine would log it but never optimise it). A
    logged-only entry that is undefined in this iteration (a pair accuracy
    without a valid pair, NaN, e.g. when the audio input is blanked) is left
    out: a NaN would spoil the log's moving average for a whole window.

    Args:
        losses (dict): The head's losses (and logged accuracies).
        avs (dict): The ``avs`` dict of ``forward_with_avs``.
        owner (str): The model's name, for error messages.

    Returns:
        dict: ``losses``.
    """
    for name, value in avs.items():
        if name in losses:
            raise KeyError(f'{owner}: backbone AVS output {name!r} collides '
                           f'with a head output ({sorted(losses)})')
        if 'loss' not in name and getattr(value, 'requires_grad', False):
            raise KeyError(
                f'{owner}: backbone AVS output {name!r} carries a gradient '
                "but its name must contain 'loss' for MMEngine to optimise "
                'it (names without it are only logged)')
        if 'loss' not in name and not bool(torch.isfinite(value).all()):
            continue
        losses[name] = value
    return losses
