"""configs/avslowfast_r50_charades.py: the recipe loads and builds; then a
short `mim train` + `mim test` of tests/configs/charades_small.py (the real
config with the small CPU model and pipelines) on the synthetic Charades
fixture, with only ann_file / data_prefix.video overridden, printing every
metric."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import os.path as osp
import pickle
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mim_helpers import REPO, call_mim_ok, find_mim

from mmaction.registry import MODELS
from mmaction_avslowfast.testing.synthetic_charades import \
    write_charades_fixture

CONFIG = osp.join(REPO, 'configs', 'avslowfast_r50_charades.py')
SMALL = osp.join(REPO, 'tests', 'configs', 'charades_small.py')
METRIC_KEYS = ('charades/mAP', 'charades/mmit_mAP', 'charades/num_samples',
               'charades/classes_scored',
               'charades/classes_without_positives',
               'charades/samples_without_positives')


def steps(pipeline, name):
    return [s for s in pipeline if s['type'] == name]


def test_charades_config_recipe_loads_and_builds():
    cfg = Config.fromfile(CONFIG)
    assert cfg.model.backbone.pretrained == \
        'checkpoints/avslowfast_r50_4x16x1_kinetics400.pth'
    head = cfg.model.cls_head
    assert (head.num_classes, head.multi_class, head.average_clips,
            head.loss_cls.type) == (157, True, 'max', 'BCELossWithLogits')
    assert cfg.optim_wrapper.optimizer.lr == 0.0375
    assert cfg.train_cfg.max_epochs == 57
    assert cfg.param_scheduler[1].milestones == [41, 49]
    assert cfg.sync_bn == 'torch'
    test = cfg.test_dataloader.dataset.pipeline
    assert steps(test, 'SampleFrames')[0].num_clips == 10
    assert steps(test, 'ThreeCrop')[0].crop_size == 256
    train = [s['type'] for s in cfg.train_dataloader.dataset.pipeline]
    assert train.index('CharadesClipLabel') > train.index('SampleFrames')
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        assert loader.persistent_workers and loader.pin_memory
        assert loader.dataset.type == 'CharadesDataset'
    assert cfg.val_dataloader.dataset.on_unreadable == 'miss'
    assert cfg.test_dataloader.dataset.on_unreadable == 'error'
    assert [h['type'] for h in cfg.custom_hooks] == [
        'DropPathwayHook', 'AVSCurriculumHook', 'MediaIssuesHook',
        'CheckpointMatchHook'
    ]
    assert cfg.val_evaluator.type == 'CharadesMetric'
    init_default_scope('mmaction')
    cfg.model.backbone.pretrained = None  # the checkpoint is a local file
    model = MODELS.build(cfg.model)
    assert model.cls_head.fc_cls.out_features == 157
    scores = model.cls_head.average_clip(torch.zeros(30, 157), num_segs=30)
    assert scores.shape == (1, 157)


def data_options(split, ann, videos):
    return [f'{split}_dataloader.dataset.ann_file={ann}',
            f'{split}_dataloader.dataset.data_prefix.video={videos}']


@pytest.mark.skipif(find_mim() is None, reason='openmim is not installed')
def test_mim_train_and_test_on_the_charades_fixture(tmp_path):
    fx = write_charades_fixture(str(tmp_path / 'charades'))
    work = str(tmp_path / 'work')
    log = call_mim_ok(
        ['train', 'mmaction', SMALL, '--gpus', '0', '--work-dir', work,
         '--cfg-options',
         *data_options('train', fx['train_csv'], fx['video_dir']),
         *data_options('val', fx['test_csv'], fx['video_dir'])],
        cwd=str(tmp_path))
    assert re.search(r'Epoch\(train\).*loss_cls: [0-9.]+.*loss_avs_res5', log)
    assert re.search(r'Epoch\(val\).*charades/mAP: [0-9.]+', log)
    assert 'no CharadesClipLabel' not in log

    dump = str(tmp_path / 'test.pkl')
    log = call_mim_ok(
        ['test', 'mmaction', SMALL, '--checkpoint',
         osp.join(work, 'epoch_2.pth'), '--work-dir', work, '--dump', dump,
         '--cfg-options',
         *data_options('test', fx['test_csv'], fx['video_dir'])],
        cwd=str(tmp_path))
    line = [ln for ln in log.splitlines() if 'Epoch(test)' in ln and
            'charades/mAP' in ln][-1]
    print('\n' + line)
    values = {}
    for key in METRIC_KEYS:
        found = re.search(rf'{re.escape(key)}: ([-0-9.na]+)', line)
        assert found, f'{key} is not printed: {line}'
        values[key] = float(found.group(1))
    assert all(np.isfinite(v) for v in values.values()), line
    assert values['charades/num_samples'] == 4
    assert values['charades/classes_scored'] == 3
    assert values['charades/classes_without_positives'] == 154
    assert values['charades/samples_without_positives'] == 1  # TST03
    # the dump: float multi-hot targets, max-of-sigmoid scores in [0, 1]
    results = pickle.load(open(dump, 'rb'))
    assert len(results) == 4
    assert all(r['gt_label'].dtype == torch.float32 for r in results)
    scores = torch.stack([r['pred_score'] for r in results])
    assert scores.shape == (4, 157) and 0 <= scores.min() <= scores.max() <= 1
