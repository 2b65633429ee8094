"""Stop a test whose checkpoint does not fit the model.

MMEngine loads ``load_from`` (``mim test --checkpoint``) non-strictly: a
tensor whose shape differs from the model's (e.g. a head trained with
``num_classes=3`` tested with a config of 6 classes) is only warned about
and stays randomly initialised, and the test reports numbers of that random
head as if nothing happened. :class:`CheckpointMatchHook` notes the
checkpoint's tensor shapes when the runner loads it and stops the test,
naming each tensor.
"""
from typing import Dict, List

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint

from mmaction.registry import HOOKS

from ...utils.state_dicts import mismatched_shapes


def shape_mismatches(model: torch.nn.Module,
                     state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """``'key: checkpoint [..], model [..]'`` for every tensor of
    ``state_dict`` whose shape differs from the model's (a ``module.``
    prefix of the checkpoint keys is ignored)."""
    state_dict = {(key[len('module.'):] if key.startswith('module.') else
                   key): value
                  for key, value in state_dict.items()}
    return list(mismatched_shapes(model.state_dict(), state_dict).values())


def mismatch_message(checkpoint: str, mismatched: List[str]) -> str:
    """The error for ``mismatched`` tensors of ``checkpoint``, with the
    ``--cfg-options`` that usually fixes it (the class count of the
    training run)."""
    hint = ''
    for line in mismatched:
        if line.startswith('cls_head.fc_cls.weight: checkpoint ['):
            classes = line.split('[', 1)[1].split(',')[0]
            hint = (f' (here the head was trained for {classes} classes: '
                    f'--cfg-options model.cls_head.num_classes={classes})')
    lines = '\n  '.join(mismatched)
    return (f'{checkpoint} does not fit the model: {len(mismatched)} '
            f'tensors have other shapes:\n  {lines}\nThey would stay '
            'randomly initialised and the results would mean nothing. Use '
            'the config the model was trained with (its copy is '
            'work_dirs/<run>/<timestamp>/vis_data/config.py) or the same '
            f'--cfg-options{hint}.')


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Before testing, refuse a ``load_from`` checkpoint with tensors whose
    shapes differ from the model's (MMEngine would only warn and test the
    randomly initialised tensors): a ``ValueError`` names each tensor and
    the usual fix. Training (fine-tuning from another head) is left alone.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._shapes = None  # of the state dict the runner loaded last

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the shapes of the tensors the runner loaded (as empty
        ``meta`` tensors), so that the file is not read twice."""
        self._shapes = {
            key: torch.empty(value.shape, device='meta')
            for key, value in _state_dict(checkpoint).items()
            if hasattr(value, 'shape')
        }

    def before_test(self, runner) -> None:
        checkpoint = getattr(runner, '_load_from', None)
        if not checkpoint:
            return
        state_dict = self._shapes
        if state_dict is None:  # loaded outside the runner: read the file
            state_dict = _state_dict(
                _load_checkpoint(checkpoint, map_location='cpu'))
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        mismatched = shape_mismatches(model, state_dict)
        if mismatched:
            raise ValueError(mismatch_message(checkpoint, mismatched))


def _state_dict(loaded) -> dict:
    """The state dict of a loaded checkpoint (MMEngine's or a bare one)."""
    return loaded.get('state_dict', loaded) if isinstance(loaded,
                                                          dict) else loaded


__all__ = ['CheckpointMatchHook', 'shape_mismatches', 'mismatch_message']
