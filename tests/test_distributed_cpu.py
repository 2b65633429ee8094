"""Two-process CPU training (gloo) of the demo config through ``mim train
--launcher pytorch``: both ranks must finish with identical weights."""
import os.path as osp
import socket
import textwrap

import pytest
import torch
from mim_helpers import REPO, call_mim_ok, find_mim, make_data, mim_env


PROBE = '''
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS
from mmaction_avslowfast.engine.hooks.media_issues_hook import batch_events


@HOOKS.register_module()
class RankStateProbeHook(Hook):
    """Saves every rank's final state dict, iteration counter, the
    DropPathway decision of every iteration, the unreadable-sample events of
    its own batches and the count MediaIssuesHook logged."""

    drops = []
    events = []
    logged = None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.drops.append(bool(model.backbone.last_drop))
        self.events += [e['path'] for e in batch_events(data_batch)]
        self.logged = float(runner.message_hub.get_scalar(
            'train/data/unreadable').current())

    def after_run(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        rank = dist.get_rank() if dist.is_initialized() else 0
        torch.save(
            dict(state_dict=model.state_dict(), iter=runner.iter,
                 drops=self.drops, events=self.events,
                 logged=self.logged,
                 world_size=dist.get_world_size(),
                 backend=dist.get_backend(),
                 wrapper=type(runner.model).__name__),
            osp.join(runner.work_dir, f'rank{rank}.pth'))
'''


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(find_mim() is None, reason='openmim is not installed')
def test_two_cpu_processes_end_with_identical_weights(tmp_path):
    data = tmp_path / 'data'
    make_data(data)
    # Two unreadable files: redrawn on whichever rank draws them, from a
    # dataloader worker process; the logged count is summed over the ranks.
    (data / 'videos_train' / 'zero.mp4').write_bytes(b'')
    with open(data / 'train_list_videos.txt', 'a') as f:
        f.write('zero.mp4 0\nmissing.mp4 1\n')
    (tmp_path / 'rank_state_probe.py').write_text(PROBE)
    config = tmp_path / 'dist_demo.py'
    config.write_text(textwrap.dedent(f'''
        _base_ = [{osp.join(REPO, 'configs', 'avslowfast_demo.py')!r}]
        custom_imports = dict(
            imports=['mmaction_avslowfast', 'rank_state_probe'],
            allow_failed_imports=False)
        train_dataloader = dict(
            batch_size=1, num_workers=1, persistent_workers=False,
            dataset=dict(
                ann_file={str(data / 'train_list_videos.txt')!r},
                data_prefix=dict(video={str(data / 'videos_train')!r})))
        val_dataloader = None
        val_cfg = None
        val_evaluator = None
        train_cfg = dict(max_epochs=1, val_interval=100)
        # Different seeds per rank: the DropPathway draws must still agree.
        randomness = dict(seed=0, diff_rank_seed=True)
        model = dict(backbone=dict(drop_pathway=0.5))
        custom_hooks = [dict(type='DropPathwayHook'),
                        dict(type='AVSCurriculumHook'),
                        dict(type='MediaIssuesHook'),
                        dict(type='RankStateProbeHook')]
        default_hooks = dict(
            checkpoint=dict(interval=1, save_best=None),
            logger=dict(interval=1))
        '''))
    work_dir = tmp_path / 'work'
    call_mim_ok(['train', 'mmaction', config, '--gpus', '2', '--launcher',
                 'pytorch', '--port', free_port(), '--work-dir', work_dir],
                env=mim_env(tmp_path))

    ranks = [torch.load(str(work_dir / f'rank{r}.pth'), weights_only=True)
             for r in (0, 1)]
    for state in ranks:
        # 14 clips / (2 ranks x 1 per batch) = 7 iterations on each rank.
        assert state['iter'] == 7 and state['world_size'] == 2
        assert state['backend'] == 'gloo'
        assert state['wrapper'] == 'MMDistributedDataParallel'
    assert len(ranks[0]['drops']) == 7
    events = ranks[0]['events'] + ranks[1]['events']
    assert {osp.basename(p) for p in events} == {'zero.mp4', 'missing.mp4'}
    assert ranks[0]['logged'] == ranks[1]['logged'] == len(events)
    listed = (work_dir / 'unreadable_files.txt').read_text()
    assert 'zero.mp4' in listed and 'missing.mp4' in listed
    assert ranks[0]['drops'] == ranks[1]['drops']
    # Both outcomes occurred: in the fused iterations the gated res4/res5
    # AVS branches are skipped (skip_gated_avs) and DDP with
    # find_unused_parameters=False still finds a gradient for every weight.
    assert set(ranks[0]['drops']) == {True, False}
    weights0, weights1 = ranks[0]['state_dict'], ranks[1]['state_dict']
    assert weights0.keys() == weights1.keys()
    for key in weights0:
        torch.testing.assert_close(weights0[key], weights1[key], msg=key)
    assert (work_dir / 'epoch_1.pth').exists()
