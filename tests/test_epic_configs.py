"""configs/avslowfast_r50_epic100.py loads, states its recipe and builds
(R50, no checkpoint); its pretrained path loads a local checkpoint."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'avslowfast_r50_epic100.py')


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(CONFIG)


def steps(pipeline):
    return {step['type']: step for step in pipeline}


def test_recipe_and_data(cfg):
    assert cfg.custom_imports['imports'] == ['mmaction_avslowfast']
    backbone = cfg.model.backbone
    # A local Kinetics-400 AVSlowFast R50 8x8 checkpoint.
    assert backbone.pretrained == \
        'checkpoints/avslowfast_r50_8x8_kinetics400.pth'
    assert backbone.norm_eval is True  # frozen BN
    assert backbone.drop_pathway == 0.8  # DropPathway on
    assert not any(backbone.avs_stages)  # AVS off
    sampler = steps(cfg.train_pipeline)['SegmentSampleFrames']
    assert (backbone.resample_rate, backbone.speed_ratio, backbone.clip_len,
            sampler['clip_len'], sampler['frame_interval']) == (4, 4, 32, 32,
                                                                2)  # 8x8
    head = cfg.model.cls_head
    assert head.type == 'EpicKitchensHead'
    assert tuple(head.num_classes) == (97, 300)
    assert tuple(head.loss_weights) == (0.5, 0.5)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.01, 0.9, 1e-4)
    assert cfg.train_cfg.max_epochs == 30
    assert cfg.param_scheduler[1].milestones == [20, 25]
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        assert loader.persistent_workers and loader.pin_memory
        assert loader.dataset.type == 'EpicKitchensDataset'
        pipeline = steps(loader.dataset.pipeline)
        assert 'SegmentSampleFrames' in pipeline
        assert 'SampleFrames' not in pipeline  # never outside the segment
        # No negative audio for AVS (AVS is off).
        assert not pipeline['AudioLogMelClips'].get('with_negative')
        assert list(pipeline)[-1] == 'PackAVInputs'
    assert cfg.val_dataloader.dataset.on_unreadable == 'miss'
    assert cfg.test_dataloader.dataset.on_unreadable == 'error'
    test_sampler = steps(cfg.test_pipeline)['SegmentSampleFrames']
    assert test_sampler['num_clips'] == 10 and test_sampler['test_mode']
    assert cfg.val_evaluator.type == 'EpicKitchensMetric'
    assert [h['type'] for h in cfg.custom_hooks] == [
        'DropPathwayHook', 'AVSCurriculumHook', 'MediaIssuesHook',
        'CheckpointMatchHook'
    ]
    assert cfg.default_hooks.checkpoint.save_best == 'epic/action_top1'


def test_builds_and_scores_both_tasks_without_a_checkpoint(cfg, tmp_path):
    init_default_scope('mmaction')
    model_cfg = cfg.model.copy()
    model_cfg.backbone.pretrained = None
    model = MODELS.build(model_cfg)
    model.init_weights()
    backbone = model.backbone
    assert not backbone.avs_heads  # no AVS head is built
    model.train()
    bns = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)  # norm_eval
    assert model.cls_head.training
    with torch.no_grad():
        feats = backbone(
            imgs=torch.randn(1, 3, 32, 64, 64),
            audios=torch.randn(1, 1, 128, 80))
        verb, noun = model.cls_head(feats)  # in_channels 3328 checked
    assert verb.shape == (1, 97) and noun.shape == (1, 300)

    # The `pretrained` path: a local checkpoint, loaded non-strictly.
    key = 'slow_path.conv1.conv.weight'
    weight = torch.full_like(backbone.state_dict()[key], 0.5)
    path = str(tmp_path / 'kinetics.pth')
    torch.save(dict(state_dict={'backbone.' + key: weight}), path)
    backbone.init_weights(pretrained=path)
    torch.testing.assert_close(backbone.state_dict()[key], weight)
    assert backbone.pretrained_report['loaded'] == [key]
