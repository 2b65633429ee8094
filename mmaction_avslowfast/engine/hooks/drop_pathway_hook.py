import logging
from typing import Optional

from mmaction.registry import HOOKS
from mmengine.dist import broadcast_object_list, is_distributed
from mmengine.logging import print_log
from torch import nn

from .model_access import BackboneHook


def rank0_value(value):
    """``value`` as rank 0 has it (unchanged outside distributed runs)."""
    if not is_distributed():
        return value
    holder = [value]
    broadcast_object_list(holder, src=0)
    return holder[0]


@HOOKS.register_module()
class DropPathwayHook(BackboneHook):
    """Schedules DropPathway of an AVSlowFast backbone.

    Used through ``custom_hooks = [dict(type='DropPathwayHook', ...)]``. The
    probability is the model's ``backbone.drop_pathway`` (e.g.
    ``--cfg-options model.backbone.drop_pathway=0.0``), read once from the
    unwrapped model in ``before_train`` and logged at INFO. The AVS negative
    curriculum is ``AVSCurriculumHook``'s, not this hook's.

    - Before every training epoch it sets ``backbone.drop_pathway`` from the
      schedule.
    - Before every training iteration it calls
      ``backbone.set_drop_iteration(runner.iter, seed)``: the backbone's drop
      draw is a function of (seed, iteration), so all DDP ranks decide alike
      and a resumed run (which restores ``runner.iter`` and the run's seed)
      repeats the same draws. ``seed`` is rank 0's ``runner.seed`` (sent to
      every rank, so the decision is the same everywhere even with
      ``randomness.diff_rank_seed=True``) with ``use_runner_seed=True``, else
      the backbone keeps its ``drop_seed``.
    - After every training iteration it reads ``backbone.last_drop`` (the
      decision of the iteration's forward) and logs ``drop_pathway`` (the
      probability) and ``drop_pathway_share`` (share of this epoch's
      iterations that dropped the audio laterals) through the message hub,
      so the ``LoggerHook`` prints them with the losses.

    Schedule: the model's probability from the first epoch when
    ``ramp_epochs == 0`` (the paper's constant 0.8); otherwise a linear ramp
    from ``start_prob`` at epoch 0 to the model's probability at epoch
    ``ramp_epochs``, constant afterwards.

    Args:
        start_prob (float): Probability at epoch 0 of the ramp. Default: 0.0.
        ramp_epochs (int): Length of the linear ramp in epochs; 0 means the
            model's probability throughout. Default: 0.
        use_runner_seed (bool): Seed the draws with ``runner.seed`` (the
            run's ``randomness.seed``) instead of the backbone's
            ``drop_seed``. Default: True.
    """

    required = ('drop_pathway', 'set_drop_iteration', 'last_drop')
    unsupported = 'backbones without DropPathway'

    def __init__(self,
                 start_prob: float = 0.0,
                 ramp_epochs: int = 0,
                 use_runner_seed: bool = True) -> None:
        if not 0.0 <= start_prob <= 1.0:
            raise ValueError('DropPathwayHook: start_prob must be in [0, 1], '
                             f'got {start_prob}')
        if ramp_epochs < 0:
            raise ValueError('DropPathwayHook: ramp_epochs must be >= 0, got '
                             f'{ramp_epochs}')
        self.start_prob = float(start_prob)
        self.ramp_epochs = int(ramp_epochs)
        self.use_runner_seed = use_runner_seed
        self._iters_in_epoch = 0
        self._drops_in_epoch = 0
        self._seed = None
        # The model's ``backbone.drop_pathway`` as configured, read once
        # before the hook first writes the attribute.
        self._model_prob: Optional[float] = None

    @property
    def target_prob(self) -> float:
        """Probability after the ramp: the model's ``backbone.drop_pathway``
        (known after ``before_train``)."""
        if self._model_prob is None:
            raise RuntimeError(
                "DropPathwayHook: the probability is the model's "
                'backbone.drop_pathway, read in before_train (or '
                'before_train_epoch); neither has run yet.')
        return self._model_prob

    def prob_at(self, epoch: int) -> float:
        """Drop probability of a (0-based) epoch."""
        target = self.target_prob
        if self.ramp_epochs == 0 or epoch >= self.ramp_epochs:
            return target
        progress = epoch / self.ramp_epochs
        return self.start_prob + (target - self.start_prob) * progress

    def _read_model_prob(self, backbone: nn.Module) -> None:
        """Read the model's ``drop_pathway`` once and log it."""
        if self._model_prob is not None:
            return
        model_prob = float(backbone.drop_pathway)
        if not 0.0 <= model_prob <= 1.0:
            raise ValueError('DropPathwayHook: model.backbone.drop_pathway '
                             f'must be in [0, 1], got {model_prob}')
        self._model_prob = model_prob
        if self.ramp_epochs:
            schedule = (f', ramped linearly from {self.start_prob} over '
                        f'{self.ramp_epochs} epochs')
        else:
            schedule = ''
        print_log(
            f'DropPathwayHook: DropPathway probability {model_prob} (from '
            f'model.backbone.drop_pathway){schedule}.',
            logger='current',
            level=logging.INFO)


    def before_train(self, runner) -> None:
        # Fail at start, not after data loading.
        self._read_model_prob(self.backbone_of(runner))
        if self.use_runner_seed:
            self._seed = rank0_value(runner.seed)

    def before_train_epoch(self, runner) -> None:
        backbone = self.backbone_of(runner)
        self._read_model_prob(backbone)  # no-op after before_train
        backbone.drop_pathway = self.prob_at(runner.epoch)
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
