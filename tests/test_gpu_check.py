"""``benchmarks/gpu_check.py`` on a machine without CUDA: it says so, runs
and writes nothing and exits with status 0; the steps it would run on a
GPU name scripts, options and config keys that exist, within 8 minutes."""
import os
import os.path as osp
import subprocess
import sys

from mmengine.config import Config
from tool_helpers import REPO

SCRIPT = osp.join(REPO, 'benchmarks', 'gpu_check.py')
MIM_TRAIN = {'--gpus', '--amp', '--launcher', '--work-dir', '--cfg-options'}


def gpu_check(*args, **env):
    return subprocess.run(
        [sys.executable, SCRIPT, *args], cwd=REPO, text=True,
        env=dict(os.environ, **env), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=120)


def test_without_cuda_says_so_and_runs_nothing(tmp_path):
    out, work = tmp_path / 'gpu_check.json', tmp_path / 'work'
    proc = gpu_check('--out', str(out), '--work-dir', str(work),
                     CUDA_VISIBLE_DEVICES='')
    assert proc.returncode == 0, proc.stdout
    assert 'CUDA is not available' in proc.stdout
    assert 'nothing was run' in proc.stdout
    assert not out.exists() and not work.exists()


def test_gpu_steps_name_what_exists(tmp_path):
    sys.path.insert(0, osp.dirname(SCRIPT))
    try:
        import gpu_check
    finally:
        sys.path.pop(0)
    steps = gpu_check.plan(str(tmp_path))
    budget = gpu_check.parse_args([]).budget  # every step fits in it
    assert budget < 8 * 60 and all(limit <= budget for *_, limit in steps)
    names = ' '.join(name for name, _, _ in steps)
    for part in ('fp32/fp16/bf16', 'channels-last', '--amp', 'NCCL',
                 'log-mel'):
        assert part in names
    helps = {}
    for name, argv, _ in steps:
        if argv is None:
            continue
        options = {a for a in argv if a.startswith('--')}
        if argv[1] == 'train':  # mim train CONFIG
            assert options <= MIM_TRAIN, name
            cfg = Config.fromfile(argv[3])
            for item in argv[argv.index('--cfg-options') + 1:]:
                node = cfg
                for key in item.split('=')[0].split('.'):
                    assert key in node, (name, item)
                    node = node[key]
            continue
        script = argv[1]
        if script not in helps:
            helps[script] = subprocess.run(
                [sys.executable, script, '--help'], cwd=REPO, text=True,
                stdout=subprocess.PIPE, timeout=120).stdout
        assert options <= {o for o in options if o in helps[script]}, name
    assert any('env_cfg.dist_cfg.backend=nccl' in argv
               for _, argv, _ in steps if argv)
