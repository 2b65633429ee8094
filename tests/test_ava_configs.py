"""The AVA configs parse, and the R50 detector they describe is consistent
(built without the Kinetics checkpoint, no forward pass)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmaction_avslowfast  # noqa: F401
from mmaction.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _config(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


@pytest.mark.parametrize('name,version', [
    ('avslowfast_r50_ava22.py', 'v2.2'),
    ('avslowfast_r50_ava21.py', 'v2.1'),
])
def test_config_files_and_evaluator(name, version):
    cfg = _config(name)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        assert dataset.type == 'AVAAudioDataset'
        assert version in dataset.ann_file
        assert version in dataset.exclude_file
        assert dataset.label_file.endswith('.pbtxt')
        assert dataset.proposal_file.endswith('recall_93.9.pkl')
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert evaluator.type == 'RobustAVAMetric'
        assert version in evaluator.ann_file
        assert evaluator.label_file == cfg.val_dataloader.dataset.label_file
    assert cfg.model.train_cfg.rcnn.assigner.pos_iou_thr == 0.9
    assert cfg.model.train_cfg.rcnn.sampler.add_gt_as_proposals
    assert cfg.train_cfg.max_epochs == 20


def test_r50_detector_channels_match():
    init_default_scope('mmaction')
    cfg = _config('avslowfast_r50_ava22.py')
    cfg.model.backbone.pretrained = None
    model = MODELS.build(cfg.model)
    slow, fast, audio = model.backbone.out_channels
    assert (slow, fast, audio) == (2048, 256, 1024)
    head = model.roi_head.bbox_head
    assert head.in_channels == slow + fast
    assert head.audio_channels == audio
    assert head.fc_cls.in_features == 3328
    for path in (model.backbone.slow_path, model.backbone.fast_path):
        assert tuple(path.spatial_strides) == (1, 2, 2, 1)
