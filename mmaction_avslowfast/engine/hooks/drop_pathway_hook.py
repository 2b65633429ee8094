import logging
import math
from typing import Optional

from mmaction.registry import HOOKS
from mmengine.dist import broadcast_object_list, is_distributed
from mmengine.hooks import Hook
from mmengine.logging import print_log
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

    Schedule: the target probability from the first epoch when
    ``ramp_epochs == 0`` (the paper's constant 0.8); otherwise a linear ramp
    from ``start_prob`` at epoch 0 to the target at epoch ``ramp_epochs``,
    constant afterwards.

    The target is ``model.backbone.drop_pathway`` (read once from the
    unwrapped model in ``before_train``) unless ``drop_prob`` is given. An
    explicit ``drop_prob`` wins, being the more specific setting; when it
    differs from the model's value a WARNING names both, so that e.g.
    ``--cfg-options model.backbone.drop_pathway=0.0`` is never overridden
    silently. The value used and its source are logged once at INFO.

    Args:
        drop_prob (float, optional): Drop probability (after the ramp);
            ``None`` takes the model's ``backbone.drop_pathway``.
            Default: None.
        start_prob (float): Probability at epoch 0 of the ramp. Default: 0.0.
        ramp_epochs (int): Length of the linear ramp in epochs; 0 means a
            constant target probability. Default: 0.
        use_runner_seed (bool): Seed the draws with ``runner.seed`` (the
            run's ``randomness.seed``) instead of the backbone's
            ``drop_seed``. Default: True.
    """

    priority = 'NORMAL'

    def __init__(self,
                 drop_prob: Optional[float] = None,
                 start_prob: float = 0.0,
                 ramp_epochs: int = 0,
                 use_runner_seed: bool = True) -> None:
        for name, value in (('drop_prob', drop_prob),
                            ('start_prob', start_prob)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f'DropPathwayHook: {name} must be in [0, 1], '
                                 f'got {value}')
        if ramp_epochs < 0:
            raise ValueError('DropPathwayHook: ramp_epochs must be >= 0, got '
                             f'{ramp_epochs}')
        self.drop_prob = None if drop_prob is None else float(drop_prob)
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
        """Probability after the ramp: ``drop_prob`` if given, else the
        model's ``backbone.drop_pathway`` (known after ``before_train``)."""
        if self.drop_prob is not None:
            return self.drop_prob
        if self._model_prob is None:
            raise RuntimeError(
                'DropPathwayHook: with drop_prob=None the probability is the '
                "model's backbone.drop_pathway, read in before_train (or "
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
        """Read the model's ``drop_pathway`` once, warn if an explicit
        ``drop_prob`` overrides a different value and log the choice."""
        if self._model_prob is not None:
            return
        model_prob = float(backbone.drop_pathway)
        if not 0.0 <= model_prob <= 1.0:
            raise ValueError('DropPathwayHook: model.backbone.drop_pathway '
                             f'must be in [0, 1], got {model_prob}')
        self._model_prob = model_prob
        if self.drop_prob is None:
            source = 'model.backbone.drop_pathway'
        else:
            source = 'DropPathwayHook drop_prob in custom_hooks'
            if not math.isclose(self.drop_prob, model_prob):
                print_log(
                    f'DropPathwayHook: drop_prob={self.drop_prob} differs '
                    f'from model.backbone.drop_pathway={model_prob}; the '
                    f"hook's explicit drop_prob={self.drop_prob} wins (it "
                    'sets backbone.drop_pathway before every epoch). To '
                    'change it use --cfg-options custom_hooks.0.drop_prob=... '
                    "(0 = the hook's index in custom_hooks), or remove "
                    "drop_prob from the hook to use the model's value.",
                    logger='current',
                    level=logging.WARNING)
        if self.ramp_epochs:
            schedule = (f', ramped linearly from {self.start_prob} over '
                        f'{self.ramp_epochs} epochs')
        else:
            schedule = ''
        print_log(
            f'DropPathwayHook: DropPathway probability {self.target_prob} '
            f'(from {source}){schedule}.',
            logger='current',
            level=logging.INFO)

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
        # Fail at start, not after data loading.
        self._read_model_prob(self.backbone_of(runner))
        if self.use_runner_seed:
            self._seed = rank0_value(runner.seed)

    def before_train_epoch(self, runner) -> None:
        backbone = self.backbone_of(runner)
        self._read_model_prob(backbone)  # no-op after before_train
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
