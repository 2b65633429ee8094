"""The example of docs/mixing_configs.md runs as written: the config block
is taken from the page, loaded with MMEngine, its data set reads synthesized
videos and its model trains one step."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmaction_avslowfast  # noqa: F401
from mmaction.registry import DATASETS, MODELS
from mmaction_avslowfast.testing.synthetic_media import write_av_video

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def docs_example():
    with open(osp.join(REPO, 'docs', 'mixing_configs.md')) as f:
        text = f.read()
    match = re.search(r'```python\n(.*?)```', text, re.S)
    assert match, 'docs/mixing_configs.md lost its example'
    return match.group(1)


@pytest.fixture(scope='module')
def example_cfg(tmp_path_factory):
    root = tmp_path_factory.mktemp('docs_mixing')
    path = root / 'my_avslowfast.py'
    path.write_text(docs_example())
    cfg = Config.fromfile(str(path))
    for i in range(2):
        write_av_video(str(root / f'clip{i}.mp4'), duration=2.4, fps=30,
                       size=(128, 96), color_seed=i,
                       tone_schedule=[(0.0, 500.0 * (i + 1))],
                       sample_rate=44100, channels=2)
    (root / 'list.txt').write_text('clip0.mp4 3\nclip1.mp4 7\n')
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        dataset.ann_file = str(root / 'list.txt')
        dataset.data_prefix = dict(video=str(root))
    return cfg


def test_example_keeps_the_stock_recipe(example_cfg):
    cfg = example_cfg
    # inherited from the stock SlowFast config
    assert cfg.train_cfg.max_epochs == 256
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.train_dataloader.batch_size == 8
    # replaced by the example
    assert cfg.model.type == 'AVRecognizer3D'
    assert cfg.train_dataloader.dataset.type == 'AVVideoDataset'
    assert [h.type for h in cfg.custom_hooks] == [
        'DropPathwayHook', 'AVSCurriculumHook', 'MediaIssuesHook'
    ]


def test_example_loads_data_and_trains_one_step(example_cfg):
    cfg = example_cfg
    init_default_scope('mmaction')
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    sample = train_set[0]
    assert set(sample['inputs']) == {'imgs', 'audios'}
    assert tuple(sample['inputs']['imgs'].shape) == (1, 3, 32, 224, 224)
    # channel 1: the AVS negative
    assert tuple(sample['inputs']['audios'].shape) == (1, 2, 128, 80)
    assert sample['data_samples'].audio_valid
    val = DATASETS.build(cfg.val_dataloader.dataset)[1]
    assert tuple(val['inputs']['audios'].shape) == (1, 1, 128, 80)
    assert val['data_samples'].filename.endswith('clip1.mp4')

    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    losses = model.train_step(pseudo_collate([sample]), optim)
    assert {'loss_cls', 'loss_avs_res3', 'loss_avs_res4'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
