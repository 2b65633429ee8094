"""The model part a training hook drives, found through DDP wrappers."""
from typing import Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn


class BackboneHook(Hook):
    """A training hook that drives the model's backbone through the
    attributes named in ``required``; :meth:`backbone_of` finds the backbone
    through DDP wrappers and refuses, naming the hook, a backbone without
    them (``unsupported`` says which backbones the hook is not for)."""

    priority = 'NORMAL'
    required: Tuple[str, ...] = ()
    unsupported = 'other backbones'

    def backbone_of(self, runner) -> nn.Module:
        """The (DDP-unwrapped) model's backbone, checked for the API."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        missing = [name for name in self.required
                   if not hasattr(backbone, name)]
        if missing:
            raise TypeError(
                f'{type(self).__name__} needs a backbone with '
                f'{self.required}; {type(backbone).__name__} lacks '
                f'{missing}. Remove the hook from custom_hooks for '
                f'{self.unsupported}.')
        return backbone
