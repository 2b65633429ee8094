import mmaction_avslowfast  # noqa: F401, isort: skip

from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from torch import nn

from mmaction.registry import HOOKS


class ToyBackbone(nn.Module):
    """Implements the DropPathway API of AVSlowFast with a fixed pattern."""

    def __init__(self):
        super().__init__()
        self.drop_pathway = 0.0
        self.epoch = None
        self.iteration = None
        self.seed = None
        self.last_drop = False

    def set_epoch(self, epoch):
        self.epoch = epoch

    def set_drop_iteration(self, iteration, seed=None):
        self.iteration = iteration
        self.seed = seed

    def fake_forward(self):
        self.last_drop = self.iteration % 4 != 0  # drops 3 of every 4


class Wrapped(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = ToyBackbone()


def make_runner(model, name):
    return SimpleNamespace(
        model=model, epoch=0, iter=0, seed=1234,
        message_hub=MessageHub.get_instance(name))


def build_hook(**kwargs):
    init_default_scope('mmaction')
    return HOOKS.build(dict(type='DropPathwayHook', **kwargs))


def run_epoch(hook, runner, iters):
    hook.before_train_epoch(runner)
    for i in range(iters):
        hook.before_train_iter(runner, i)
        backbone = hook.backbone_of(runner)
        backbone.fake_forward()
        hook.after_train_iter(runner, i)
        runner.iter += 1
    runner.epoch += 1


def test_constant_schedule_iteration_and_logging():
    hook = build_hook(drop_prob=0.8)
    runner = make_runner(Wrapped(), 'dp_const')
    hook.before_train(runner)
    run_epoch(hook, runner, 8)
    backbone = runner.model.backbone
    assert backbone.drop_pathway == 0.8
    assert backbone.epoch == 0 and backbone.iteration == 7
    assert backbone.seed == 1234
    scalars = runner.message_hub.log_scalars
    assert scalars['train/drop_pathway'].current() == pytest.approx(0.8)
    assert scalars['train/drop_pathway_share'].current() == pytest.approx(
        6 / 8)
    run_epoch(hook, runner, 2)  # iterations 8 (kept) and 9 (dropped)
    assert backbone.epoch == 1 and backbone.iteration == 9
    assert scalars['train/drop_pathway_share'].current() == pytest.approx(
        1 / 2)


def test_backbone_seed_kept_without_runner_seed():
    hook = build_hook(use_runner_seed=False)
    runner = make_runner(Wrapped(), 'dp_seed')
    run_epoch(hook, runner, 1)
    assert runner.model.backbone.seed is None


def test_linear_ramp_by_epoch():
    hook = build_hook(drop_prob=0.8, start_prob=0.2, ramp_epochs=3)
    assert [hook.prob_at(e) for e in range(5)] == pytest.approx(
        [0.2, 0.4, 0.6, 0.8, 0.8])


def test_unwraps_model_wrappers():
    from mmengine.model import MMDistributedDataParallel
    hook = build_hook()
    inner = Wrapped()
    # is_model_wrapper checks the wrapper registry, so use a registered type
    # without setting up a process group.
    wrapped = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(wrapped)
    wrapped.module = inner
    runner = make_runner(wrapped, 'dp_ddp')
    run_epoch(hook, runner, 1)
    assert inner.backbone.drop_pathway == 0.8
    assert inner.backbone.iteration == 0


def test_rejects_backbone_without_api_and_bad_args():
    hook = build_hook()
    runner = make_runner(nn.Module(), 'dp_bad')
    runner.model.backbone = nn.Conv2d(1, 1, 1)
    with pytest.raises(TypeError, match='lacks'):
        hook.before_train(runner)
    with pytest.raises(ValueError, match='drop_prob'):
        build_hook(drop_prob=1.5)
