"""``mim train`` (3 iterations) then ``mim test`` of the demo linear probe,
its backbone loaded from a saved checkpoint: the loading report is logged,
the BN statistics are recomputed (and saved), the backbone's weights are
unchanged by training while the head's are not."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mim_helpers import (REPO, find_mim, make_data, mim_on_demo_data,
                         train_on_demo_data)

import mmaction_avslowfast  # noqa: F401
from mmaction.registry import MODELS
from mmengine.runner.checkpoint import _load_checkpoint

CONFIG = 'configs/avslowfast_demo_avs_linear.py'


def run_mim(verb, data, work_dir, *options, extra=()):
    return mim_on_demo_data(CONFIG, verb, data, work_dir, *options,
                            extra=extra, eval_batch_size=6)


def save_pretrained(path):
    """A recognizer checkpoint of configs/avslowfast_demo.py (same backbone
    plus AVS heads / A->FS laterals, and a classifier), with non-default
    BN statistics."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(REPO, 'configs/avslowfast_demo.py'))
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.manual_seed(0)
    for name, buf in model.named_buffers():
        if name.endswith('running_mean'):
            buf.normal_()
        elif name.endswith('running_var'):
            buf.uniform_(0.5, 2.0)
    state = model.state_dict()
    torch.save(dict(state_dict=state, meta=dict(epoch=3)), path)
    return state


@pytest.mark.skipif(find_mim() is None, reason='openmim is not installed')
def test_mim_linear_probe_from_checkpoint(tmp_path):
    data = tmp_path / 'data'
    make_data(data)  # 12 train, 6 val demo clips
    ckpt = str(tmp_path / 'pretrained.pth')
    pre = save_pretrained(ckpt)
    work = tmp_path / 'work'
    rc, log = run_mim(
        'train', data, work, *train_on_demo_data(data),
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
        f'model.backbone.pretrained={ckpt}')
    assert rc == 0, log[-4000:]
    # The checkpoint loading report of AVRecognizer3D.
    assert f'AVRecognizer3D: pretrained backbone from {ckpt}' in log
    loaded = re.search(r'  loaded: (\d+) tensors', log)
    assert loaded and int(loaded.group(1)) > 100, log[-3000:]
    assert re.search(r'  missing: none', log), log[-3000:]
    assert re.search(r'  unexpected: \d+ tensors: audio_laterals\.', log)
    # BN statistics recomputed from all 3 training batches.
    assert ('RecomputeBNStatsHook (before training): recomputed the running '
            'mean/var of') in log
    assert 'from 3 batches (12 samples) of the train dataloader' in log
    assert 'Epoch(val) [1][1/1]' in log
    assert 'data/no_audio: 0' in log

    trained = _load_checkpoint(str(work / 'epoch_1.pth'))['state_dict']
    bn_buffers = 0
    for key, value in trained.items():
        if not key.startswith('backbone.'):
            continue
        ref = pre[key]
        if key.endswith(('running_mean', 'running_var')):
            # Recomputed on the probe's data (and saved).
            bn_buffers += 1
            assert not torch.allclose(value, ref), key
        elif not key.endswith('num_batches_tracked'):
            assert torch.equal(value, ref), key  # frozen: unchanged
    assert bn_buffers > 50
    bias = trained['cls_head.fc_cls.bias']
    assert bias.shape == (6, ) and bias.abs().sum() > 0  # init: zeros
    assert trained['cls_head.fc_cls.weight'].shape == (6, 128 + 32)

    rc, log = run_mim('test', data, tmp_path / 'test',
                      extra=['--checkpoint', str(work / 'epoch_1.pth')])
    assert rc == 0, log[-4000:]
    line = [ln for ln in log.splitlines() if 'Epoch(test)' in ln][-1]
    top1 = float(re.search(r'acc/top1: ([0-9.]+)', line).group(1))
    assert 0.0 <= top1 <= 1.0
