import mmaction_avslowfast  # noqa: F401, isort: skip

import logging
import os.path as osp
from itertools import count
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from torch import nn

from mmaction.registry import HOOKS, MODELS
from mmaction_avslowfast.models.backbones import drop_pathway_draw

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs')
_logger_ids = count()


class ToyBackbone(nn.Module):
    """Implements the DropPathway API of AVSlowFast with a fixed pattern
    (and nothing of the AVS curriculum: not this hook's business)."""

    def __init__(self, drop_pathway=0.8):  # AVSlowFast's default
        super().__init__()
        self.drop_pathway = drop_pathway
        self.iteration = None
        self.seed = None
        self.last_drop = False

    def set_drop_iteration(self, iteration, seed=None):
        self.iteration = iteration
        self.seed = seed

    def fake_forward(self):
        self.last_drop = self.iteration % 4 != 0  # drops 3 of every 4


class DrawingBackbone(ToyBackbone):
    """Draws like AVSlowFast: ``drop_pathway_draw`` of its probability."""

    def fake_forward(self):
        self.last_drop = drop_pathway_draw(self.drop_pathway, self.seed,
                                           self.iteration)


class Wrapped(nn.Module):
    def __init__(self, backbone=None):
        super().__init__()
        self.backbone = ToyBackbone() if backbone is None else backbone


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
    hook = build_hook()
    runner = make_runner(Wrapped(), 'dp_const')
    hook.before_train(runner)
    run_epoch(hook, runner, 8)
    backbone = runner.model.backbone
    assert backbone.drop_pathway == 0.8
    assert backbone.iteration == 7
    assert backbone.seed == 1234
    scalars = runner.message_hub.log_scalars
    assert scalars['train/drop_pathway'].current() == pytest.approx(0.8)
    assert scalars['train/drop_pathway_share'].current() == pytest.approx(
        6 / 8)
    run_epoch(hook, runner, 2)  # iterations 8 (kept) and 9 (dropped)
    assert backbone.iteration == 9
    assert scalars['train/drop_pathway_share'].current() == pytest.approx(
        1 / 2)


def test_backbone_seed_kept_without_runner_seed():
    hook = build_hook(use_runner_seed=False)
    runner = make_runner(Wrapped(), 'dp_seed')
    run_epoch(hook, runner, 1)
    assert runner.model.backbone.seed is None


def test_linear_ramp_by_epoch():
    hook = build_hook(start_prob=0.2, ramp_epochs=3)
    hook.before_train(make_runner(Wrapped(ToyBackbone(0.8)), 'dp_ramp'))
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
    with pytest.raises(ValueError, match='start_prob'):
        build_hook(start_prob=1.5)
    with pytest.raises(ValueError, match='ramp_epochs'):
        build_hook(ramp_epochs=-1)
    # the probability has one setting, model.backbone.drop_pathway
    with pytest.raises(TypeError, match='drop_prob'):
        build_hook(drop_prob=0.5)
    runner.model.backbone = ToyBackbone(1.5)
    with pytest.raises(ValueError, match='drop_pathway must be in'):
        hook.before_train(runner)


@pytest.mark.parametrize('model_prob', [0.0, 0.8])
def test_default_uses_model_drop_pathway(model_prob, log_records):
    hook = build_hook()
    runner = make_runner(Wrapped(DrawingBackbone(model_prob)),
                         f'dp_model_{model_prob}')
    hook.before_train(runner)
    backbone = runner.model.backbone
    drops = []
    for _ in range(2):
        hook.before_train_epoch(runner)
        assert backbone.drop_pathway == model_prob
        for i in range(20):
            hook.before_train_iter(runner, i)
            backbone.fake_forward()
            drops.append(backbone.last_drop)
            hook.after_train_iter(runner, i)
            runner.iter += 1
        runner.epoch += 1
    share = runner.message_hub.log_scalars['train/drop_pathway_share']
    if model_prob == 0.0:
        assert not any(drops) and share.current() == 0.0
    else:  # the same draws do drop when the model asks for it
        assert 20 < sum(drops) < 40
    assert log_records.messages(logging.WARNING) == []
    info = log_records.messages(logging.INFO)
    assert len(info) == 1  # once, not per epoch
    assert f'{model_prob}' in info[0]
    assert 'model.backbone.drop_pathway' in info[0]


def test_ramp_targets_model_value_read_once():
    hook = build_hook(start_prob=0.0, ramp_epochs=3)
    with pytest.raises(RuntimeError, match='before_train'):
        hook.prob_at(0)
    runner = make_runner(Wrapped(ToyBackbone(0.6)), 'dp_ramp_model')
    hook.before_train(runner)
    seen = []
    for _ in range(4):
        run_epoch(hook, runner, 1)
        seen.append(runner.model.backbone.drop_pathway)
        # A later before_train (e.g. a second runner.train()) must not
        # take the ramp's current value as the model's.
        hook.before_train(runner)
    assert seen == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_reads_model_value_through_wrapper():
    from mmengine.model import MMDistributedDataParallel
    hook = build_hook()
    wrapped = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(wrapped)
    wrapped.module = Wrapped(ToyBackbone(0.3))
    runner = make_runner(wrapped, 'dp_ddp_model')
    hook.before_train(runner)
    run_epoch(hook, runner, 1)
    assert hook.target_prob == pytest.approx(0.3)
    assert wrapped.module.backbone.drop_pathway == pytest.approx(0.3)


def test_demo_config_cfg_option_drop_pathway_zero_is_used():
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'avslowfast_demo.py'))
    cfg.merge_from_dict({'model.backbone.drop_pathway': 0.0})
    init_default_scope('mmaction')
    hooks = [HOOKS.build(c) for c in cfg.custom_hooks
             if c['type'] == 'DropPathwayHook']
    assert len(hooks) == 1
    hook = hooks[0]
    model = nn.Module()
    model.backbone = MODELS.build(cfg.model.backbone)
    runner = make_runner(model, 'dp_demo_cfg')
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    assert hook.prob_at(0) == 0.0
    assert model.backbone.drop_pathway == 0.0
    model.backbone.train()
    imgs = torch.randn(2, 3, cfg.model.backbone.clip_len, 32, 32)
    audios = torch.randn(2, 2, cfg.model.backbone.audio_frames, 80)
    for i in range(3):
        hook.before_train_iter(runner, i)
        with torch.no_grad():
            model.backbone(imgs, audios)
        hook.after_train_iter(runner, i)
        runner.iter += 1
        assert model.backbone.last_drop is False
    share = runner.message_hub.log_scalars['train/drop_pathway_share']
    assert share.current() == 0.0
    # the AVS curriculum is AVSCurriculumHook's: this hook leaves it alone
    assert model.backbone.avs_curriculum.epoch is None
