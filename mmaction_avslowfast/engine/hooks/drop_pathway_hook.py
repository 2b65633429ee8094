from typing import Optional

from mmaction.registry import HOOKS
from mmengine.dist import broadcast_object_list, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn


def rank0_value(value):
    """``value`` as rank 0 has it (unchanged outside distributed runs)."""
    if not is_distributed():
        return value
    holder = [value]
    broadcast_object_list(holder, src=0)
    return holder[0]


@HOOKS.register_module()
class DropPathwayHook(Hook):
    """Schedules DropPathway and the AVS curriculum of an AVSlowFast backbone.

    Used through ``custom_hooks = [dict(type='DropPathwayHook', ...)]``.

    - Before every training epoch it sets ``backbone.drop_pathway`` from the
      schedule and calls ``backbone.set_epoch(runner.epoch)`` (AVS easy/hard
      negative curriculum).
    - Before every training iteration it calls
      ``backbone.set_drop_iteration(runner.iter, seed)``: the backbone's drop
      draw is a function of (seed, iteration), so all DDP ranks decide alike
      and a resumed run (which restores ``runner.iter`` and the run's seed)
      repeats the same draws. ``seed`` is rank 0's ``runner.seed`` (sent to
      every rank, so the decision is the same everywhere even with
      ``randomness.diff_rank_seed=True``) with ``use_runner_seed=True``, else
      the backbone keeps its ``drop_seed``.
    - After every training iteration it reads ``backbone.last_drop`` and logs
      ``drop_pathway`` (the probability) and ``drop_pathway_share`` (share of
      this epoch's iterations that dropped the audio laterals) through the
      message hub, so the ``LoggerHook`` prints them with the losses.

    Schedule: ``drop_prob`` from the first epoch when ``ramp_epochs == 0``
    (the paper's constant 0.8); otherwise a linear ramp from ``start_prob`` at
    epoch 0 to ``drop_prob`` at epoch ``ramp_epochs``, constant afterwards.

    Args:
        drop_prob (float): Drop probability (after the ramp). Default: 0.8.
        start_prob (float): Probability at epoch 0 of the ramp. Default: 0.0.
        ramp_epochs (int): Length of the linear ramp in epochs; 0 means a
            constant ``drop_prob``. Default: 0.
        use_runner_seed (bool): Seed the draws with ``runner.seed`` (the
            run's ``randomness.seed``) instead of the backbone's
            ``drop_seed``. Default: True.
    """

    priority = 'NORMAL'

    def __init__(self,
                 drop_prob: float = 0.8,
                 start_prob: float = 0.0,
                 ramp_epochs: int = 0,
                 use_runner_seed: bool = True) -> None:
        for name, value in (('drop_prob', drop_prob),
                            ('start_prob', start_prob)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'DropPathwayHook: {name} must be in [0, 1], '
                                 f'got {value}')
        if ramp_epochs < 0:
            raise ValueError('DropPathwayHook: ramp_epochs must be >= 0, got '
                             f'{ramp_epochs}')
        self.drop_prob = float(drop_prob)
        self.start_prob = float(start_prob)
        self.ramp_epochs = int(ramp_epochs)
        self.use_runner_seed = use_runner_seed
        self._iters_in_epoch = 0
        self._drops_in_epoch = 0
        self._seed = None

    def prob_at(self, epoch: int) -> float:
        """Drop probability of a (0-based) epoch."""
        if self.ramp_epochs == 0 or epoch >= self.ramp_epochs:
            return self.drop_prob
        progress = epoch / self.ramp_epochs
        return self.start_prob + (self.drop_prob - self.start_prob) * progress

    @staticmethod
    def backbone_of(runner) -> nn.Module:
        """The (DDP-unwrapped) model's backbone, checked for the API."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        required = ('drop_pathway', 'set_drop_iteration', 'set_epoch',
                    'last_drop')
        missing = [name for name in required if not hasattr(backbone, name)]
        if missing:
            raise TypeError(
                f'DropPathwayHook needs a backbone with {required}; '
                f'{type(backbone).__name__} lacks {missing}. Remove the hook '
                'from custom_hooks for backbones without DropPathway.')
        return backbone

    def before_train(self, runner) -> None:
        self.backbone_of(runner)  # fail at start, not after data loading
        if self.use_runner_seed:
            self._seed = rank0_value(runner.seed)

    def before_train_epoch(self, runner) -> None:
        backbone = self.backbone_of(runner)
        backbone.drop_pathway = self.prob_at(runner.epoch)
        backbone.set_epoch(runner.epoch)
        self._iters_in_epoch = 0
        self._drops_in_epoch = 0

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self.backbone_of(runner).set_drop_iteration(runner.iter, self._seed)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        backbone = self.backbone_of(runner)
        self._iters_in_epoch += 1
        self._drops_in_epoch += int(bool(backbone.last_drop))
        hub = runner.message_hub
        hub.update_scalar('train/drop_pathway', float(backbone.drop_pathway))
        hub.update_scalar('train/drop_pathway_share',
                          self._drops_in_epoch / self._iters_in_epoch)
