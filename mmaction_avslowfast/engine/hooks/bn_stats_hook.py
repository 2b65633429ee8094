"""Recompute the BN running statistics of a backbone from training data
(the "precise BN" of PySlowFast, and the BN reset a linear probe needs)."""
import logging
from typing import Dict, List

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import HOOKS


@HOOKS.register_module()
class RecomputeBNStatsHook(Hook):
    """Reset and recompute the running mean / variance of the BN layers of
    ``model.<module>`` (default ``model.backbone``) over training batches.

    For every BN layer with running statistics the statistics are reset and
    accumulated with ``momentum=None`` (PyTorch's cumulative average): after
    ``k`` batches ``running_mean`` is the average of the ``k`` per-batch
    means and ``running_var`` the average of the ``k`` per-batch unbiased
    variances (as PySlowFast's precise BN). The batches come from
    ``runner.train_dataloader`` (its pipeline, augmentations included),
    pass through ``model.data_preprocessor`` (``training=False``: no batch
    augments such as mixup, as at test time) and through
    ``model(..., mode='tensor')`` under ``torch.no_grad()``. During the pass
    the whole model is in eval mode except the BN layers of the module,
    which are in train mode, also when the backbone is ``frozen`` or
    ``norm_eval`` (no DropPathway, no dropout, no AVS branch). Afterwards
    each layer's ``momentum`` and every module's ``training`` flag are
    restored; parameters and ``requires_grad`` are never touched.

    BN layers that the forward does not reach (e.g. AVS-only layers, or
    A->FS laterals with fusion off) keep their previous statistics; the log
    line says how many. Under DDP the statistics are averaged over the
    ranks (``mmengine.dist.all_reduce``), each rank having used its own
    ``num_batches`` batches.

    When: in ``before_train`` (after checkpoint loading / resuming, before
    the first iteration) if ``before_train=True``, and after every
    ``interval``-th training epoch if ``interval > 0`` (before that epoch's
    checkpoint and validation: "precise BN").

    Uses:
        - linear probe of a pre-trained backbone (``frozen=True``): the
          statistics of the pre-training data are replaced by those of the
          probe's data, for the pre-trained and a randomly initialised
          backbone alike (a random backbone's untouched statistics, mean 0 /
          var 1, would make a broken baseline);
        - precise BN of supervised training: ``before_train=False,
          interval=1, num_batches=200`` (the PySlowFast default).

    The recomputed statistics are buffers of the model: the checkpoints
    saved afterwards (and ``mim test`` of them) use them.

    Args:
        num_batches (int): Training batches per recomputation (fewer if the
            dataloader is shorter). Default: 200.
        before_train (bool): Recompute once before training. Default: True.
        interval (int): Also recompute after every ``interval`` training
            epochs; 0 disables. Default: 0.
        module (str): Dotted attribute path, in the (unwrapped) model, of
            the module whose BN layers are recomputed. Default:
            ``'backbone'``.
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook saves the epoch

    def __init__(self,
                 num_batches: int = 200,
                 before_train: bool = True,
                 interval: int = 0,
                 module: str = 'backbone') -> None:
        if int(num_batches) < 1:
            raise ValueError('RecomputeBNStatsHook: num_batches must be >= '
                             f'1, got {num_batches}')
        if int(interval) < 0:
            raise ValueError('RecomputeBNStatsHook: interval must be >= 0, '
                             f'got {interval}')
        self.num_batches = int(num_batches)
        self.recompute_before_train = bool(before_train)
        self.interval = int(interval)
        self.module = module

    # ----------------------------------------------------------- hook API
    def before_train(self, runner) -> None:
        if self.recompute_before_train:
            self.recompute(runner, 'before training')

    def after_train_epoch(self, runner) -> None:
        if self.interval > 0 and self.every_n_epochs(runner, self.interval):
            self.recompute(runner, f'after epoch {runner.epoch + 1}')

    # ------------------------------------------------------------ helpers
    def _target(self, model: nn.Module) -> nn.Module:
        target = model
        for name in self.module.split('.'):
            if not hasattr(target, name):
                raise AttributeError(
                    f'RecomputeBNStatsHook: the model has no '
                    f'"{self.module}" (module=...)')
            target = getattr(target, name)
        return target

    def recompute(self, runner, when: str = '') -> Dict[str, int]:
        """Recompute the statistics from ``runner.train_dataloader``.

        Returns:
            dict: ``batches``, ``samples`` (this rank), ``layers``
            (recomputed), ``unreached`` (kept).
        """
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        stats = recompute_bn_stats(model, self._target(model),
                                   runner.train_dataloader, self.num_batches)
        world = get_world_size()
        print_log(
            f'RecomputeBNStatsHook ({when}): recomputed the running mean/var '
            f'of {stats["layers"]} BN layers of model.{self.module} from '
            f'{stats["batches"]} batches ({stats["samples"]} samples) of the '
            f'train dataloader' +
            (f' on each of {world} ranks, averaged' if world > 1 else '') +
            (f'; {stats["unreached"]} BN layers not reached by the forward '
             'kept their statistics' if stats['unreached'] else ''),
            logger='current', level=logging.INFO)
        return stats


def _num_samples(data: Dict) -> int:
    samples = data.get('data_samples')
    if samples is not None:
        return len(samples)
    inputs = data['inputs']
    while isinstance(inputs, dict):
        inputs = next(iter(inputs.values()))
    return len(inputs)


def recompute_bn_stats(model: nn.Module, target: nn.Module, dataloader,
                       num_batches: int) -> Dict[str, int]:
    """Recompute the BN statistics of ``target`` (a submodule of ``model``)
    from up to ``num_batches`` batches of ``dataloader``; see
    :class:`RecomputeBNStatsHook`."""
    bns: List[_BatchNorm] = [
        m for m in target.modules()
        if isinstance(m, _BatchNorm) and m.track_running_stats
    ]
    result = dict(batches=0, samples=0, layers=0, unreached=0)
    if not bns:
        return result
    modes = [(m, m.training) for m in model.modules()]
    saved = {
        bn: (bn.momentum, bn.running_mean.clone(), bn.running_var.clone(),
             bn.num_batches_tracked.clone())
        for bn in bns
    }
    reached = set()
    handles = [
        bn.register_forward_pre_hook(
            lambda module, args: reached.add(module)) for bn in bns
    ]
    completed = False
    try:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the batches
        model.eval()
        for bn in bns:
            bn.train()
        with torch.no_grad():
            for data_batch in dataloader:
                if result['batches'] >= num_batches:
                    break
                data = model.data_preprocessor(data_batch, training=False)
                model(**data, mode='tensor')
                result['batches'] += 1
                result['samples'] += _num_samples(data)
        completed = True
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training
        for bn, (momentum, mean, var, count) in saved.items():
            bn.momentum = momentum
            if not completed or bn not in reached:  # keep the old ones
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
                bn.num_batches_tracked.copy_(count)
    if result['batches'] == 0:
        raise RuntimeError('RecomputeBNStatsHook: the train dataloader '
                           'yielded no batch')
    for bn in bns:  # same order and set on every rank (same architecture)
        if bn in reached:
            all_reduce(bn.running_mean, op='mean')
            all_reduce(bn.running_var, op='mean')
    result['layers'] = len(reached)
    result['unreached'] = len(bns) - len(reached)
    return result


__all__ = ['RecomputeBNStatsHook', 'recompute_bn_stats']
