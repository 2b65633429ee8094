"""Routes to pretrained weights: a missing checkpoint stops training with
the routes to make it, shape mismatches are refused (or loaded only when
asked, naming each tensor), and the ``*_from_slowfast`` configs load
MMAction2's SlowFast model-zoo checkpoints with zero mismatches."""
import os.path as osp
import re

import pytest
import torch
from config_helpers import base_model
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import save_checkpoint
from tool_helpers import REPO

import mmaction_avslowfast  # noqa: F401, isort: skip
import mmaction
from mmaction.registry import MODELS

FINE_TUNING = {
    'configs/avslowfast_r50_epic100.py': 'R50 8x8',
    'configs/avslowfast_r50_charades.py': 'R50 4x16',
    'configs/avslowfast_r50_ava22.py': 'R50 4x16',
}


def build(cfg):
    init_default_scope('mmaction')
    return MODELS.build(cfg)


@pytest.mark.parametrize('config', sorted(FINE_TUNING))
def test_missing_checkpoint_names_the_routes(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    model = build(cfg.model)  # building (test, inference) needs no file
    with pytest.raises(FileNotFoundError) as error:
        model.init_weights()  # training start
    message = str(error.value)
    path = cfg.model.backbone.pretrained
    assert f'checkpoint {path} (model.backbone.pretrained)' in message
    assert f'AVSlowFast {FINE_TUNING[config]} checkpoint' in message
    assert 'mim train mmaction configs/avslowfast_r50_' in message
    assert ('--cfg-options model.backbone.pretrained=work_dirs/'
            in message)
    assert 'tools/convert/convert_pyslowfast_checkpoint.py' in message
    assert 'download.openmmlab.com/mmaction/v1.0/recognition/slowfast/' \
        in message
    # every config the message names exists, and its variant is listed
    named = set(re.findall(r'configs/[\w/]+\.py', message))
    assert config.replace('.py', '_from_slowfast.py') in named
    for name in named:
        assert osp.exists(osp.join(REPO, name)), name


def small_backbone(**kwargs):
    cfg = base_model('avslowfast_demo')['backbone']
    cfg.update(kwargs)
    return cfg


def test_shape_mismatch_is_refused_unless_allowed(tmp_path):
    # F->S at all four junctions widens every Slow stage's input
    zoo = build(small_backbone(fs_fusion=(True, ) * 4))
    path = str(tmp_path / 'zoo_layout.pth')
    torch.save({'state_dict': zoo.state_dict()}, path)

    model = build(small_backbone(pretrained=path))
    with pytest.raises(ValueError) as error:
        model.init_weights()
    message = str(error.value)
    assert 'slow_path.layer1.0.conv1.conv.weight: checkpoint [16, 24, 1, ' \
        '3, 3], model [16, 16, 1, 3, 3]' in message
    assert 'allow_mismatched_pretrained=True' in message

    allowed = build(
        small_backbone(pretrained=path, allow_mismatched_pretrained=True))
    log = tmp_path / 'load.log'
    MMLogger.get_instance('test_mismatch', log_file=str(log))
    allowed.init_weights()
    report = allowed.pretrained_report
    assert 'slow_path.layer1.0.conv1.conv.weight' in report['mismatched']
    assert 'slow_path.layer1.0.conv1.conv.weight: checkpoint' in \
        log.read_text()
    key = 'fast_path.conv1.conv.weight'
    assert key in report['loaded']
    torch.testing.assert_close(allowed.state_dict()[key],
                               zoo.state_dict()[key])


def zoo_checkpoint(path, resample_rate, speed_ratio, fusion_kernel):
    """A checkpoint in the layout of MMAction2's SlowFast model zoo (a
    Recognizer3D with ResNet3dSlowFast + SlowFastHead, 400 classes)."""
    stock = Config.fromfile(
        osp.join(osp.dirname(mmaction.__file__), '.mim', 'configs', '_base_',
                 'models', 'slowfast_r50.py')).model
    stock.backbone.update(resample_rate=resample_rate,
                          speed_ratio=speed_ratio)
    stock.backbone.slow_pathway['fusion_kernel'] = fusion_kernel
    model = build(stock)
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, path)
    return {
        k[len('backbone.'):]
        for k in model.state_dict() if k.startswith('backbone.')
    }


@pytest.fixture(scope='module')
def zoo(tmp_path_factory):
    """geometry -> ``(path, visual keys)`` of :func:`zoo_checkpoint`, each
    geometry built and saved once (a full R50, ~140 MB)."""
    folder, made = tmp_path_factory.mktemp('zoo'), {}

    def get(geometry):
        if geometry not in made:
            path = str(folder / ('slowfast_zoo_%d_%d_%d.pth' % geometry))
            made[geometry] = path, zoo_checkpoint(path, *geometry)
        return made[geometry]

    return get


@pytest.mark.parametrize('config,geometry', [
    ('configs/avslowfast_r50_epic100_from_slowfast.py', (4, 4, 7)),
    ('configs/avslowfast_r50_charades_from_slowfast.py', (8, 8, 5)),
    ('configs/avslowfast_r50_ava22_from_slowfast.py', (8, 8, 5)),
])
def test_from_slowfast_configs_load_the_zoo_without_mismatch(
        config, geometry, zoo):
    path, visual = zoo(geometry)
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.model.backbone.pretrained.startswith(
        'checkpoints/slowfast_r50_8xb8-')  # the zoo file's own name
    cfg.model.backbone.pretrained = path
    model = build(cfg.model)
    model.init_weights()
    report = model.backbone.pretrained_report
    assert report['mismatched'] == [] and report['unexpected'] == []
    assert set(report['loaded']) == visual
    # only the audio pathway, the A->FS laterals and AVS modules start new
    assert all(k.startswith(('audio_', 'avs_')) for k in report['missing'])
