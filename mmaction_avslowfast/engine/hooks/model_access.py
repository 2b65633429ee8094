"""The model part a training hook drives, found through DDP wrappers."""
from typing import Sequence

from mmengine.model import is_model_wrapper
from torch import nn


def unwrapped_backbone(runner, hook: str, required: Sequence[str],
                       what: str) -> nn.Module:
    """The (DDP-unwrapped) model's backbone; a ``TypeError`` naming
    ``hook`` if it lacks any of the ``required`` attributes."""
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    backbone = getattr(model, 'backbone', None)
    missing = [name for name in required if not hasattr(backbone, name)]
    if missing:
        raise TypeError(
            f'{hook} needs a backbone with {tuple(required)}; '
            f'{type(backbone).__name__} lacks {missing}. Remove the hook '
            f'from custom_hooks for {what}.')
    return backbone
