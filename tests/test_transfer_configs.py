"""The transfer configs (linear probe / fine-tuning on UCF101 and HMDB51,
demo linear probe) load and build; the linear ones train only the head; all
are visual-only (the audio is neither decoded nor used)."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import copy
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmaction_avslowfast.audio import silence_value
from mmaction_avslowfast.models.recognizers.modality_blanking import \
    parse_blank_spec
from mmaction_avslowfast.testing.synthetic_media import write_av_video

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
R50 = {
    'linear_ucf101': ('ucf101', 101),
    'finetune_ucf101': ('ucf101', 101),
    'linear_hmdb51': ('hmdb51', 51),
    'finetune_hmdb51': ('hmdb51', 51),
}
DEMO = 'configs/avslowfast_demo_avs_linear.py'
# Backbone keys the transfer configs set on purpose (visual-only, frozen),
# and those of the AVS heads, which they do not build.
TRANSFER_KEYS = ('pretrained', 'frozen', 'afs_fusion', 'avs_stages',
                 'drop_pathway', 'init_cfg', 'avs_proj_dim', 'avs_margin',
                 'easy_neg_ratio', 'mix_neg_epoch')


def r50_path(name):
    return osp.join(REPO, 'configs', f'avslowfast_r50_avs_{name}.py')


def load(path):
    return Config.fromfile(path if osp.isabs(path) else osp.join(REPO, path))


def build_model(cfg):
    init_default_scope('mmaction')
    return MODELS.build(copy.deepcopy(cfg.model))


def structure(backbone_cfg):
    return {k: v for k, v in backbone_cfg.items() if k not in TRANSFER_KEYS}


@pytest.fixture(scope='module')
def r50_models():
    """name -> built model (built once: R50 takes a moment)."""
    return {name: build_model(load(r50_path(name))) for name in R50}


@pytest.mark.parametrize('name', sorted(R50))
def test_r50_config_layout(name):
    cfg = load(r50_path(name))
    data, classes = R50[name]
    for split, subset in (('train', 'train'), ('val', 'val'),
                          ('test', 'val')):
        ds = cfg[f'{split}_dataloader'].dataset
        assert ds.type == 'AVVideoDataset'
        assert ds.ann_file == \
            f'data/{data}/{data}_{subset}_split_1_videos.txt'
        assert ds.data_prefix.video == f'data/{data}/videos'
        loader = cfg[f'{split}_dataloader']
        assert loader.persistent_workers and loader.pin_memory
    assert cfg.val_dataloader.dataset.on_unreadable == 'miss'
    assert cfg.test_dataloader.dataset.on_unreadable == 'error'
    assert cfg.model.cls_head.num_classes == classes
    assert cfg.model.backbone.pretrained == \
        'work_dirs/avslowfast_r50_avs_pretrain_kinetics/epoch_XX.pth'
    hooks = [h.type for h in cfg.custom_hooks]
    assert 'MediaIssuesHook' in hooks
    # Same architecture as the R50 pre-training / Kinetics recipe.
    kinetics = load('configs/avslowfast_r50_kinetics.py')
    assert structure(cfg.model.backbone) == structure(kinetics.model.backbone)
    if name.startswith('linear'):
        assert cfg.model.backbone.frozen
        assert cfg.model.cls_head.dropout_ratio == 0
        assert cfg.optim_wrapper.optimizer.lr == 0.5
        assert cfg.train_cfg.max_epochs == 60
        bn = [h for h in cfg.custom_hooks
              if h.type == 'RecomputeBNStatsHook']
        assert bn and bn[0].before_train
    else:
        assert not cfg.model.backbone.frozen
        assert cfg.optim_wrapper.optimizer.lr == 0.005
        assert cfg.train_cfg.max_epochs == 200
        # The discarded audio pathway gets no gradient under DDP.
        assert cfg.model_wrapper_cfg.find_unused_parameters


@pytest.mark.parametrize(
    'name', ['linear_ucf101', 'linear_hmdb51', 'finetune_hmdb51'])
def test_split_variable_selects_every_split_file(name, tmp_path):
    """Editing ``split`` at the top changes all three datasets' lists
    (finetune_ucf101 takes its data from linear_ucf101, see below)."""
    text = open(r50_path(name)).read()
    assert re.search(r'^split = 1 ', text, re.M)
    text = re.sub(r'^split = 1 ', 'split = 3 ', text, flags=re.M)
    text = text.replace("'./", f"'{REPO}/configs/").replace(
        "'_base_/", f"'{REPO}/configs/_base_/")
    path = tmp_path / osp.basename(r50_path(name))
    path.write_text(text)
    cfg = Config.fromfile(str(path))
    for split in ('train', 'val', 'test'):
        assert '_split_3_' in cfg[f'{split}_dataloader'].dataset.ann_file


def test_ucf101_finetuning_reads_the_linear_configs_data():
    linear = load(r50_path('linear_ucf101'))
    finetune = load(r50_path('finetune_ucf101'))
    for split in ('train', 'val', 'test'):
        dataset = finetune[f'{split}_dataloader'].dataset
        assert dataset.ann_file == linear[f'{split}_dataloader'].dataset.ann_file
        assert dataset.data_prefix == linear[
            f'{split}_dataloader'].dataset.data_prefix


@pytest.mark.parametrize('name', sorted(R50))
def test_r50_models_build_with_trainable_parts(name, r50_models):
    model = r50_models[name]
    model.train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    if name.startswith('linear'):
        assert trainable == {'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'}
        assert not model.backbone.training
        assert not any(m.training for m in model.backbone.modules())
    else:
        assert any(n.startswith('backbone.slow_path') for n in trainable)
        assert model.backbone.training
    assert model.cls_head.fc_cls.in_features == 2048 + 256
    assert model.cls_head.pathways == (0, 1)
    assert not model.backbone.audio_laterals  # A->FS laterals not built


def visual_only_cfg(cfg):
    model = cfg.model
    # the model's audio input: zeros of the normalised input
    assert parse_blank_spec(model.blank_modalities) == {'audios': 'mean'}
    assert not any(model.backbone.afs_fusion)
    assert tuple(model.cls_head.pathways) == (0, 1)
    for split in ('train', 'val', 'test'):
        types = [t.type for t in cfg[f'{split}_dataloader'].dataset.pipeline]
        assert 'BlankAudio' in types
        assert not {'LoadAudioFromVideo', 'AudioLogMelClips'} & set(types)
    return True


@pytest.mark.parametrize('path',
                         [r50_path(name) for name in sorted(R50)] + [DEMO])
def test_configs_are_visual_only(path):
    assert visual_only_cfg(load(path))


def demo_inputs(audios, n=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    imgs = torch.randint(0, 256, (n, 1, 3, 16, 32, 32), generator=gen)
    samples = [ActionDataSample().set_gt_label(i) for i in range(n)]
    return dict(inputs=dict(imgs=list(imgs.float()), audios=list(audios)),
                data_samples=samples)


@pytest.mark.parametrize('blank', [True, False])
def test_demo_prediction_ignores_the_audio_input(blank):
    """Visual-only: the scores do not change when the audio input changes,
    even without blank_modalities (A->FS off, head on Slow + Fast)."""
    cfg = load(DEMO)
    if not blank:
        cfg.model.blank_modalities = ()
    model = build_model(cfg)
    model.init_weights()
    model.eval()
    gen = torch.Generator().manual_seed(1)
    scores = []
    for audio in (torch.zeros(2, 1, 1, 64, 80),
                  torch.randn(2, 1, 1, 64, 80, generator=gen) * 3):
        with torch.no_grad():
            data = model.data_preprocessor(demo_inputs(audio), False)
            out = model(**data, mode='predict')
        scores.append(torch.stack([s.pred_score for s in out]))
    assert scores[0].std() > 0  # not a constant output
    torch.testing.assert_close(scores[0], scores[1], rtol=0, atol=0)


def test_demo_linear_trains_only_the_head():
    cfg = load(DEMO)
    model = build_model(cfg)
    model.init_weights()
    model.train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'}
    assert not any(m.training for m in model.backbone.modules())
    data = model.data_preprocessor(
        demo_inputs(torch.zeros(2, 1, 1, 64, 80)), True)
    losses = model(**data, mode='loss')
    losses['loss_cls'].backward()
    assert model.cls_head.fc_cls.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.backbone.parameters())


def test_demo_backbone_matches_demo_and_pretrain_configs():
    """The probe's backbone is the one the demo pre-training trains, so its
    checkpoint loads."""
    probe = structure(load(DEMO).model.backbone)
    for other in ('configs/avslowfast_demo.py',
                  'configs/avslowfast_demo_avs_pretrain.py'):
        ref = structure(load(other).model.backbone)
        assert {k: probe[k] for k in ref} == ref, other
    cfg = load(DEMO)
    assert cfg.model.backbone.pretrained is None
    assert [h.type for h in cfg.custom_hooks][0] == 'RecomputeBNStatsHook'
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].num_workers <= 2


@pytest.fixture(scope='module')
def avi_pair(tmp_path_factory):
    """A UCF101-like AVI with an audio track and one without."""
    root = tmp_path_factory.mktemp('avi')
    paths = {}
    for with_audio in (True, False):
        path = str(root / f'v_{int(with_audio)}.avi')
        write_av_video(path, duration=3.0, fps=25, size=(80, 60),
                       with_audio=with_audio, tone_schedule=((0.0, 880.0), ))
        paths[with_audio] = path
    return paths


@pytest.mark.parametrize('name', ['linear_ucf101', 'finetune_hmdb51'])
@pytest.mark.parametrize('split', ['train', 'val'])
def test_r50_pipelines_give_identical_audio_with_or_without_track(
        name, split, avi_pair):
    cfg = load(r50_path(name))
    init_default_scope('mmaction')
    pipeline = Compose(cfg[f'{split}_dataloader'].dataset.pipeline)
    packed = {}
    for with_audio, path in avi_pair.items():
        packed[with_audio] = pipeline(
            dict(filename=path, label=3, start_index=0, modality='RGB'))
    audios = [packed[k]['inputs']['audios'] for k in (True, False)]
    assert audios[0].shape == (1, 1, 128, 80)
    assert torch.equal(audios[0], audios[1])
    assert torch.all(audios[0] == torch.tensor(silence_value()))
    assert packed[True]['inputs']['imgs'].shape == (1, 3, 32, 224, 224)
    meta = packed[False]['data_samples'].metainfo
    assert 'audio_valid' not in meta  # not counted as missing audio


def test_r50_test_pipeline_tiles_blank_audio_over_views(avi_pair):
    cfg = load(r50_path('linear_hmdb51'))
    init_default_scope('mmaction')
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    packed = pipeline(
        dict(filename=avi_pair[False], label=0, start_index=0,
             modality='RGB'))
    assert packed['inputs']['imgs'].shape == (30, 3, 32, 256, 256)
    assert packed['inputs']['audios'].shape == (30, 1, 128, 80)


def test_blank_audio_transform():
    init_default_scope('mmaction')
    from mmaction.registry import TRANSFORMS
    t = TRANSFORMS.build(dict(type='BlankAudio', num_frames=64, n_mels=40))
    out = t(dict(num_clips=3, filename='does/not/exist.avi'))
    assert out['audios'].shape == (3, 1, 64, 40)
    assert out['audios'].dtype == np.float32
    assert np.all(out['audios'] == np.float32(silence_value()))
    t = TRANSFORMS.build(dict(type='BlankAudio', value=0.0))
    assert np.all(t(dict(num_clips=1))['audios'] == 0)
    t = TRANSFORMS.build(dict(type='BlankAudio', fill='mean'))
    assert np.all(t(dict(num_clips=1))['audios'] == 0)
    t = TRANSFORMS.build(dict(type='BlankAudio', fill=-1.5))
    assert np.all(t(dict(num_clips=1))['audios'] == -1.5)
    with pytest.raises(ValueError, match='unknown fill'):
        TRANSFORMS.build(dict(type='BlankAudio', fill='grey'))
    with pytest.raises(ValueError, match='positive'):
        TRANSFORMS.build(dict(type='BlankAudio', num_frames=0))


def test_random_init_baseline_through_cfg_options():
    """``--cfg-options model.backbone.pretrained=None`` gives the random-init
    baseline of the same config (no checkpoint loaded)."""
    import argparse

    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(
        ['--cfg-options', 'model.backbone.pretrained=None']).cfg_options
    for path in (r50_path('linear_hmdb51'), DEMO):
        cfg = load(path)
        cfg.model.backbone.pretrained = 'some/checkpoint.pth'
        cfg.merge_from_dict(options)
        assert cfg.model.backbone.pretrained is None
    model = build_model(cfg)
    model.init_weights()
    assert model.backbone.pretrained_report is None
