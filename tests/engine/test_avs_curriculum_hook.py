"""AVSCurriculumHook: the epoch of the AVS easy/hard negative curriculum is
set before every training epoch and its easy-negative share is logged."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import copy
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

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs')
_ids = count()


def demo_backbone(**kwargs):
    """The demo config's AVSlowFast backbone (AVS at res3-res5)."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'avslowfast_demo.py'))
    backbone = copy.deepcopy(cfg.model.backbone)
    backbone.update(kwargs)
    init_default_scope('mmaction')
    return MODELS.build(backbone), cfg


def make_runner(backbone):
    model = nn.Module()
    model.backbone = backbone
    return SimpleNamespace(
        model=model, epoch=0, iter=0,
        message_hub=MessageHub.get_instance(f'avs_cur_{next(_ids)}'))


def build_hook():
    init_default_scope('mmaction')
    return HOOKS.build(dict(type='AVSCurriculumHook'))


def test_epoch_set_before_every_epoch_and_share_logged(log_records):
    backbone, cfg = demo_backbone(mix_neg_epoch=2, easy_neg_ratio=0.75,
                                  drop_pathway=1.0)
    runner = make_runner(backbone)
    hook = build_hook()
    hook.before_train(runner)
    imgs = torch.randn(4, 3, cfg.model.backbone.clip_len, 32, 32)
    audios = torch.randn(4, 2, cfg.model.backbone.audio_frames, 80)
    backbone.train()
    shares = []
    for epoch in range(4):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        assert backbone.avs_curriculum.epoch == epoch
        shares.append(runner.message_hub.get_scalar(
            'train/avs_easy_neg_share').current())
        with torch.no_grad():
            _, avs = backbone(imgs, audios, return_avs=True)
        assert 'loss_avs_res3' in avs
    assert shares == [1.0, 1.0, 0.75, 0.75]
    info = [m for m in log_records.messages(logging.INFO)
            if m.startswith('AVSCurriculumHook')]
    assert len(info) == 4  # once per epoch
    assert info[0].startswith('AVSCurriculumHook: epoch 1: 100% easy')
    assert info[2].startswith('AVSCurriculumHook: epoch 3: 75% easy')
    assert 'from epoch 3 on' in info[0]
    # the epoch was set: the backbone does not warn about the curriculum
    assert not any('curriculum' in m
                   for m in log_records.messages(logging.WARNING))


def test_resumed_run_continues_the_curriculum():
    backbone, _ = demo_backbone(mix_neg_epoch=5)
    runner = make_runner(backbone)
    runner.epoch = 7  # as restored by --resume
    hook = build_hook()
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    assert backbone.avs_curriculum.epoch == 7
    assert runner.message_hub.get_scalar(
        'train/avs_easy_neg_share').current() == pytest.approx(0.75)


def test_backbone_without_avs_is_left_alone(log_records):
    backbone, _ = demo_backbone(avs_stages=(False, ) * 5)
    runner = make_runner(backbone)
    hook = build_hook()
    hook.before_train(runner)
    for _ in range(2):
        hook.before_train_epoch(runner)
        runner.epoch += 1
    assert backbone.avs_curriculum.epoch is None
    assert 'train/avs_easy_neg_share' not in runner.message_hub.log_scalars
    info = log_records.messages(logging.INFO)
    assert len(info) == 1 and 'no AVS stage' in info[0]


def test_rejects_backbone_without_the_curriculum():
    runner = make_runner(nn.Conv2d(1, 1, 1))
    with pytest.raises(TypeError, match='AVSCurriculumHook.*lacks'):
        build_hook().before_train(runner)
