"""Smoke test of ``mim train`` on the demo config plus ``--resume`` after a
simulated kill: counters and optimizer state continue from the checkpoint."""
import os

import pytest
from mim_helpers import call_mim_ok, find_mim, make_data

import mmaction_avslowfast  # noqa: F401  (safe checkpoint loading)
from mmengine.runner.checkpoint import _load_checkpoint


def mim_train(data, work_dir, *extra):
    options = [
        f'train_dataloader.dataset.ann_file={data}/train_list_videos.txt',
        f'train_dataloader.dataset.data_prefix.video={data}/videos_train',
        f'val_dataloader.dataset.ann_file={data}/val_list_videos.txt',
        f'val_dataloader.dataset.data_prefix.video={data}/videos_val',
        'train_dataloader.batch_size=6', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'train_cfg.max_epochs=2',
        'default_hooks.checkpoint.max_keep_ckpts=3'
    ]
    return call_mim_ok(['train', 'mmaction', 'configs/avslowfast_demo.py',
                        '--gpus', '0', '--work-dir', work_dir, *extra,
                        '--cfg-options', *options])


def adamw_steps(checkpoint):
    states = checkpoint['optimizer']['state'].values()
    return {int(state['step']) for state in states}


@pytest.mark.skipif(find_mim() is None, reason='openmim is not installed')
def test_mim_train_then_resume_after_kill(tmp_path):
    data, work_dir = tmp_path / 'data', tmp_path / 'work'
    make_data(data)
    log = mim_train(data, work_dir)
    assert 'loss_avs_res3' in log and 'drop_pathway_share' in log
    assert 'avs_pair_acc_res3' in log and 'avs_easy_neg_share' in log
    assert 'AVSCurriculumHook: epoch 2:' in log
    assert 'curriculum epoch was never set' not in log
    full = _load_checkpoint(str(work_dir / 'epoch_2.pth'))
    assert (full['meta']['epoch'], full['meta']['iter']) == (2, 4)

    # "Kill" the run after epoch 1: its last checkpoint is epoch_1.pth.
    os.remove(work_dir / 'epoch_2.pth')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    epoch1 = _load_checkpoint(str(work_dir / 'epoch_1.pth'))
    assert adamw_steps(epoch1) == {2}

    log = mim_train(data, work_dir, '--resume')
    assert 'resumed epoch: 1, iter: 2' in log
    # the curriculum goes on at the resumed epoch
    assert 'AVSCurriculumHook: epoch 2:' in log
    assert 'AVSCurriculumHook: epoch 1:' not in log
    resumed = _load_checkpoint(str(work_dir / 'epoch_2.pth'))
    assert (resumed['meta']['epoch'], resumed['meta']['iter']) == (2, 4)
    # AdamW's per-parameter step count went on from 2: the optimizer state
    # was restored, not rebuilt.
    assert adamw_steps(resumed) == {4}
    # The LR schedule went on where it stopped, too.
    for after_resume, uninterrupted in zip(resumed['param_schedulers'],
                                           full['param_schedulers']):
        assert after_resume['last_step'] == uninterrupted['last_step']
        assert after_resume['_last_value'] == pytest.approx(
            uninterrupted['_last_value'])
