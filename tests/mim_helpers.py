"""Shared by the tests that run ``mim train`` / ``mim test`` in a subprocess
(the way users run the configs): where the repository and ``mim`` are, the
tiny demo data set, and the subprocess call."""
import os
import os.path as osp
import shutil
import subprocess
import sys

from tool_helpers import REPO, load_tool


def find_mim():
    """``mim`` of this interpreter's environment (else the one on PATH)."""
    candidate = osp.join(osp.dirname(sys.executable), 'mim')
    return candidate if osp.exists(candidate) else shutil.which('mim')


def make_data(out):
    """The demo data set (tools/make_demo_dataset.py) at its smallest: 12
    train and 6 val clips."""
    load_tool('make_demo_dataset.py').main(
        ['--out', str(out), '--train-per-class', '2', '--val-per-class', '1',
         '--test-per-class', '0'])


def mim_env(*paths):
    """Environment of a CPU ``mim`` run: one OpenMP thread, no CUDA, this
    checkout (and ``paths``) importable, this environment's tools first."""
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='',
               PYTHONPATH=os.pathsep.join(
                   [REPO, *map(str, paths),
                    os.environ.get('PYTHONPATH', '')]))
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    return env


def call_mim(args, cwd=REPO, timeout=300, env=None):
    """Run ``mim *args``; returns ``(returncode, stdout and stderr)``."""
    proc = subprocess.run([find_mim(), *map(str, args)], cwd=cwd,
                          env=env or mim_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout)
    return proc.returncode, proc.stdout


def call_mim_ok(args, cwd=REPO, timeout=300, env=None):
    """:func:`call_mim` that must succeed; returns its output."""
    rc, log = call_mim(args, cwd, timeout, env)
    assert rc == 0, log[-4000:]
    return log


def loader_options(split, data, list_file, videos, batch_size=4):
    """``--cfg-options`` that point ``<split>_dataloader`` (one worker) at
    the ``path label`` list ``data/list_file`` of the videos in
    ``data/videos``."""
    loader = f'{split}_dataloader'
    return [
        f'{loader}.dataset.ann_file={data}/{list_file}',
        f'{loader}.dataset.data_prefix.video={data}/{videos}',
        f'{loader}.num_workers=1', f'{loader}.batch_size={batch_size}'
    ]


def train_on_demo_data(data, list_file='train_list_videos.txt'):
    """:func:`loader_options` of the training split on :func:`make_data`'s
    train clips (or another list of ``data/videos_train``)."""
    return loader_options('train', data, list_file, 'videos_train')


def mim_on_demo_data(config, verb, data, work_dir, *options, extra=(),
                     eval_batch_size=4, eval_list='val_list_videos.txt',
                     timeout=300):
    """``mim train|test`` of ``config`` with the eval split on
    :func:`make_data`'s val clips (they serve as test split too; or another
    list ``eval_list`` of ``data/videos_val``); more ``--cfg-options`` in
    ``options``, more arguments in ``extra``. Returns
    ``(returncode, log)``."""
    split = 'val' if verb == 'train' else 'test'
    options = [
        *loader_options(split, data, eval_list, 'videos_val',
                        eval_batch_size), *options
    ]
    return call_mim([verb, 'mmaction', config, '--gpus', '0', '--work-dir',
                     work_dir, *extra, '--cfg-options', *options],
                    timeout=timeout)
