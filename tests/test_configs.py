"""Every shipped config loads with ``Config.fromfile`` and builds its model."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import os.path as osp

import mmaction
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import save_checkpoint

from mmaction.registry import MODELS

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(__file__)), 'configs')
KINETICS = [
    'avslowfast_r50_kinetics.py', 'avslowfast_r50_8x8_kinetics.py',
    'avslowfast_r101_8x8_kinetics.py',
    'avslowfast_r50_kinetics_from_slowfast.py'
]
MMACTION_NAMES = ('data_root', 'data_root_val', 'ann_file_train',
                  'ann_file_val', 'ann_file_test', 'train_pipeline',
                  'val_pipeline', 'test_pipeline')


def load(name, **options):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    cfg.merge_from_dict(options)
    return cfg


def build_model(cfg):
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    return MODELS.build(cfg.model)


def pipeline_types(pipeline):
    return [step['type'] for step in pipeline]


@pytest.mark.parametrize('name', KINETICS + ['avslowfast_demo.py'])
def test_config_loads_with_mmaction_layout(name):
    cfg = load(name)
    assert cfg.default_scope == 'mmaction'
    assert cfg.custom_imports['imports'] == ['mmaction_avslowfast']
    for key in MMACTION_NAMES:
        assert key in cfg, f'{name} lacks the MMAction2 variable {key}'
    assert cfg.train_dataloader.dataset.ann_file == cfg.ann_file_train
    assert cfg.test_dataloader.dataset.ann_file == cfg.ann_file_test
    # The demo is a CPU job; the GPU recipes ask for nccl (gloo on CPU, see compat).
    expected_backend = 'gloo' if name == 'avslowfast_demo.py' else 'nccl'
    assert cfg.env_cfg.dist_cfg.backend == expected_backend
    assert cfg.model.type == 'AVRecognizer3D'
    assert cfg.custom_hooks[0]['type'] == 'DropPathwayHook'
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        steps = pipeline_types(dataset.pipeline)
        assert steps[-1] == 'PackAVInputs'
        assert steps.index('AlignAudioViews') > steps.index('FormatShape')
        assert 'LoadAudioFromVideo' in steps
        # Checked loaders: an unreadable file is named, never a dead run.
        assert steps[0] == 'CheckedDecordInit'
        assert 'CheckedDecordDecode' in steps
        assert dataset.type == 'AVVideoDataset'
    assert cfg.val_dataloader.dataset.on_unreadable == 'miss'
    assert cfg.test_dataloader.dataset.on_unreadable == 'error'
    assert cfg.val_evaluator.type == 'AVAccMetric'
    assert [h['type'] for h in cfg.custom_hooks] == [
        'DropPathwayHook', 'AVSCurriculumHook', 'MediaIssuesHook',
        'CheckpointMatchHook']
    if name != 'avslowfast_demo.py':
        assert cfg.data_root == 'data/kinetics400/videos_train'
        assert cfg.ann_file_train == \
            'data/kinetics400/kinetics400_train_list_videos.txt'
        test_steps = cfg.test_dataloader.dataset.pipeline
        sample = next(s for s in test_steps if s['type'] == 'SampleFrames')
        assert sample['num_clips'] == 10 and 'ThreeCrop' in pipeline_types(
            test_steps)


def test_r50_kinetics_is_the_reference_recipe():
    cfg = load('avslowfast_r50_kinetics.py')
    assert cfg.train_dataloader.batch_size == 8  # x 8 GPUs = 64
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.end == 34
    assert warmup.start_factor == pytest.approx(0.1)
    assert cosine.type == 'CosineAnnealingLR' and cosine.end == 196
    assert cfg.train_cfg.max_epochs == 196
    assert cfg.custom_hooks[0] == dict(type='DropPathwayHook')
    assert cfg.model.backbone.drop_pathway == 0.8
    backbone = cfg.model.backbone
    assert (backbone.resample_rate, backbone.speed_ratio) == (8, 8)
    assert tuple(backbone.avs_stages) == (False, False, True, True, True)
    train_steps = cfg.train_dataloader.dataset.pipeline
    audio = next(s for s in train_steps if s['type'] == 'AudioLogMelClips')
    assert audio['with_negative'] and audio['num_frames'] == 128
    assert cfg.model.cls_head.in_channels == 3328
    assert cfg.model.cls_head.dropout_ratio == 0.5


def test_r50_kinetics_builds_with_reference_shapes():
    model = build_model(load('avslowfast_r50_kinetics.py'))
    assert model.backbone.out_channels == (2048, 256, 1024)
    assert model.cls_head.fc_cls.in_features == sum(
        model.backbone.out_channels)


@pytest.mark.parametrize('name,reference_params', [
    ('avslowfast_r50_kinetics.py', 44.20e6),
    ('avslowfast_r50_8x8_kinetics.py', 44.55e6),
    ('avslowfast_r101_8x8_kinetics.py', 68.60e6),
])
def test_reference_configs_have_the_reference_size(name, reference_params):
    """Parameters of the whole recognizer (400 classes) within 0.5 % of the
    author's released model (avslowfast.md section 7)."""
    model = build_model(load(name))
    params = sum(p.numel() for p in model.parameters())
    assert abs(params / reference_params - 1) < 0.005, params


@pytest.mark.parametrize('name,depth,tau', [
    ('avslowfast_r50_8x8_kinetics.py', 50, 4),
    ('avslowfast_r101_8x8_kinetics.py', 101, 4),
])
def test_8x8_variants_build(name, depth, tau):
    cfg = load(name)
    assert cfg.train_dataloader.batch_size == 4  # x 8 GPUs = 32
    model = build_model(cfg)
    assert model.backbone.slow_path.depth == depth
    assert model.backbone.resample_rate == tau
    assert model.backbone.slow_path.fusion_kernel == 7
    assert model.cls_head.fc_cls.in_features == sum(
        model.backbone.out_channels)


def test_demo_config_builds_small_model_and_visual_only_switch():
    cfg = load('avslowfast_demo.py')
    assert 'Flip' not in pipeline_types(
        cfg.train_dataloader.dataset.pipeline)  # flips swap left/right
    model = build_model(cfg)
    assert sum(p.numel() for p in model.parameters()) < 5e6
    assert model.cls_head.fc_cls.in_features == sum(
        model.backbone.out_channels)
    visual = build_model(load('avslowfast_demo.py',
                              **{'model.blank_modalities': 'audios'}))
    assert visual.blank_modalities == ('audios', )


def test_from_slowfast_loads_every_visual_tensor_of_a_zoo_checkpoint(
        tmp_path):
    # A checkpoint of MMAction2's own SlowFast (random weights; the real
    # model-zoo file has the same keys and shapes).
    stock = Config.fromfile(
        osp.join(osp.dirname(mmaction.__file__), '.mim', 'configs',
                 'recognition', 'slowfast',
                 'slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py'))
    slowfast = build_model(stock)
    ckpt = str(tmp_path / 'slowfast_r50.pth')
    save_checkpoint({'state_dict': slowfast.state_dict(), 'meta': {}}, ckpt)

    cfg = load('avslowfast_r50_kinetics_from_slowfast.py',
               **{'model.backbone.pretrained': ckpt})
    assert cfg.optim_wrapper.optimizer.lr == 0.1  # inherited stock recipe
    model = build_model(cfg)
    log_file = tmp_path / 'init.log'
    MMLogger.get_instance('test_from_slowfast', log_file=str(log_file))
    model.init_weights()
    report = model.backbone.pretrained_report
    visual = {
        k[len('backbone.'):]: v
        for k, v in slowfast.state_dict().items() if k.startswith('backbone.')
    }
    assert sorted(report['loaded']) == sorted(visual)
    assert not report['mismatched'] and not report['unexpected']
    assert all(k.startswith(('audio_', 'avs_')) for k in report['missing'])
    log = log_file.read_text()
    assert f'AVRecognizer3D: pretrained backbone from {ckpt}' in log
    assert 'missing: ' in log and 'audio_path.layer1' in log
    own = model.backbone.state_dict()
    for key in ('slow_path.layer3_lateral.conv.weight',
                'slow_path.layer4.0.conv1.conv.weight',
                'fast_path.conv1.conv.weight'):
        torch.testing.assert_close(own[key], visual[key])


@pytest.mark.parametrize('name', KINETICS + [
    'avslowfast_r50_ava22.py', 'avslowfast_r50_ava21.py'])
def test_gpu_configs_keep_workers_and_pin_memory(name):
    """Loader workers persist across epochs and batches are pinned for the
    host-to-GPU copy; the audio work is shared across a clip's test crops."""
    cfg = load(name)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        assert loader.get('persistent_workers') is True, (name, split)
        assert loader.get('pin_memory') is True, (name, split)
    backbone = cfg.model.backbone
    assert backbone.get('share_eval_audio', True) is True
    assert backbone.get('skip_gated_avs', True) is True


def test_avs_pretrain_kinetics_config():
    """Kinetics videos, labels ignored, AVS losses only with fusion off, and
    index-fixed negatives at evaluation."""
    cfg = load('avslowfast_r50_avs_pretrain_kinetics.py')
    model = build_model(cfg)
    assert type(model).__name__ == 'AVSPretrainer'
    assert model.backbone.drop_pathway == 1.0
    assert not hasattr(model, 'cls_head')
    assert model.backbone.avs_stages == (False, False, True, True, True)
    train = cfg.train_dataloader.dataset
    assert train.type == 'UnlabeledAVDataset'
    assert train.ann_file.endswith('kinetics400_train_list_videos.txt')
    assert {'type': 'AudioLogMelClips', 'num_frames': 128,
            'with_negative': True} in train.pipeline
    # the audio-stream probe is cached in the config's default work dir
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.probe_cache == (
            'work_dirs/avslowfast_r50_avs_pretrain_kinetics/'
            'audio_probe_cache.json')
    for split in ('val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        assert dataset.type == 'UnlabeledAVDataset'
        assert dataset.easy_negative_offset == 1
        assert 'AVSyncEvalAudio' in pipeline_types(dataset.pipeline)
        assert 'LoadAudioFromVideo' not in pipeline_types(dataset.pipeline)
    assert cfg.val_evaluator == dict(type='AVSyncMetric')
    assert cfg.default_hooks.checkpoint.save_best == 'avs/sync_acc'
