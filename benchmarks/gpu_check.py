"""GPU readiness in one command (under 8 minutes on one GPU).

With CUDA, in order, each step with its own time limit inside an overall
budget (``--budget``, default 470 s; a step that no longer fits is
reported as skipped):

1. ``benchmarks/speed.py --device cuda`` in fp32, fp16 and bf16 (autocast)
   and once more in fp16 with ``--channels-last``: step-time ratios to
   stock SlowFast and peak memory;
2. the demo data set (``tools/make_demo_dataset.py``, small);
3. ``mim train --amp`` of ``configs/avslowfast_demo.py`` (one epoch);
4. a 1-process NCCL start: ``mim train --launcher pytorch --gpus 1`` with
   ``env_cfg.dist_cfg.backend=nccl`` (the demo config asks for gloo);
5. the device log-mel path: a batch of demo clips through the worker path
   (``AudioLogMelClips`` computing the log-mel) and through
   ``logmel='device'`` + ``AudioLogMelPreprocessor`` on the GPU: largest
   difference and time per sample of each.

It writes one JSON (``--out``, default
``benchmarks/results/gpu_check.json``) and prints one table. Without CUDA
it says so and exits with status 0 having run nothing; ``--dry-run``
prints the steps' commands instead of running them.

Usage::

    python benchmarks/gpu_check.py [--budget 470] [--dry-run]
        [--work-dir DIR] [--out benchmarks/results/gpu_check.json]
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO, 'configs', 'avslowfast_demo.py')
NO_CUDA = ('gpu_check: CUDA is not available here (torch {torch}, '
           'torch.cuda.is_available() is False): nothing was run. Run it on '
           'a machine with an NVIDIA GPU; --dry-run lists the steps.')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--budget', type=float, default=470.0,
                        help='seconds for all steps (default: 470)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the steps, run nothing')
    parser.add_argument('--work-dir', default=None,
                        help='data and logs (default: a temporary folder)')
    parser.add_argument('--out', default=osp.join(REPO, 'benchmarks',
                                                  'results',
                                                  'gpu_check.json'))
    return parser.parse_args(argv)


def train_options(data, work_dir):
    """``mim train`` arguments of a one-epoch demo run on ``data``."""
    loaders = []
    for split in ('train', 'val'):
        loaders += [
            f'{split}_dataloader.dataset.ann_file={data}/'
            f'{split}_list_videos.txt',
            f'{split}_dataloader.dataset.data_prefix.video={data}/'
            f'videos_{split}', f'{split}_dataloader.num_workers=2',
            f'{split}_dataloader.persistent_workers=False'
        ]
    return ['--work-dir', work_dir, '--cfg-options', *loaders,
            'train_cfg.max_epochs=1', 'default_hooks.checkpoint.interval=1']


def plan(work):
    """The steps: ``(name, argv or None for in-process, limit s)``."""
    python, mim = sys.executable, shutil.which('mim') or osp.join(
        osp.dirname(sys.executable), 'mim')
    speed = [python, osp.join(REPO, 'benchmarks', 'speed.py'), '--device',
             'cuda', '--rounds', '3']
    data = osp.join(work, 'avdemo')
    train = [mim, 'train', 'mmaction', DEMO_CONFIG, '--gpus', '1']
    return [
        ('speed fp32/fp16/bf16', speed + [
            '--dtypes', 'fp32', 'fp16', 'bf16', '--out',
            osp.join(work, 'speed_cuda.json')], 180),
        ('speed fp16 channels-last', speed + [
            '--dtypes', 'fp16', '--channels-last', '--no-flops', '--out',
            osp.join(work, 'speed_cuda_channels_last.json')], 90),
        ('demo data', [python, osp.join(REPO, 'tools',
                                        'make_demo_dataset.py'), '--out',
                       data, '--train-per-class', '4', '--val-per-class',
                       '1', '--test-per-class', '0'], 60),
        ('mim train --amp', train + ['--amp'] + train_options(
            data, osp.join(work, 'amp')), 120),
        ('NCCL, --launcher pytorch', train + [
            '--launcher', 'pytorch'
        ] + train_options(data, osp.join(work, 'nccl')) + [
            'env_cfg.dist_cfg.backend=nccl'], 120),
        ('device log-mel', None, 60),
    ]


def run_step(argv, limit, log_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO, os.environ.get('PYTHONPATH', '')]))
    with open(log_path, 'w') as log:
        proc = subprocess.run(argv, cwd=REPO, env=env, stdout=log,
                              stderr=subprocess.STDOUT, timeout=limit)
    return proc.returncode


def speed_figures(path):
    """Ratios to SlowFast and peak memory from a ``speed.py`` JSON."""
    with open(path) as f:
        rows = json.load(f)['rows']
    return [{k: row.get(k) for k in ('case', 'model', 'dtype', 'seconds',
                                      'ratio', 'peak_gib')} for row in rows]


def device_logmel(work):
    """The device log-mel check (module doc, step 5)."""
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmaction_avslowfast  # noqa: F401
    from mmaction.registry import MODELS, TRANSFORMS
    from mmaction_avslowfast.models import use_device_logmel
    init_default_scope('mmaction')
    folder = osp.join(work, 'avdemo', 'videos_val')
    videos = sorted(osp.join(root, name) for root, _, names in
                    os.walk(folder) for name in names)[:8]
    cfgs = [Config.fromfile(DEMO_CONFIG) for _ in range(2)]
    use_device_logmel(cfgs[1])
    out, batches = {}, []
    for name, cfg in zip(('worker', 'device'), cfgs):
        steps = [TRANSFORMS.build(s) for s in cfg.val_dataloader.dataset.
                 pipeline]
        audios, seconds = [], 0.0
        for i, path in enumerate(videos):
            np.random.seed(i)
            results = dict(filename=path, label=0, start_index=0,
                           modality='RGB')
            for step in steps:
                start = time.process_time()
                results = step(results)
                if type(step).__name__ in ('LoadAudioFromVideo',
                                           'AudioLogMelClips'):
                    seconds += time.process_time() - start
            audios.append(results['inputs']['audios'])
        pre = MODELS.build(cfg.model.data_preprocessor.preprocessors.audios)
        pre = pre.to('cuda')
        batch = [a.to('cuda') for a in audios]
        pre.preprocess(batch, None)  # warm-up
        torch.cuda.synchronize()
        start = time.perf_counter()
        result, _ = pre.preprocess(batch, None)
        torch.cuda.synchronize()
        out[f'{name}_worker_ms_per_sample'] = 1e3 * seconds / len(videos)
        out[f'{name}_preprocessor_ms_per_batch'] = 1e3 * (
            time.perf_counter() - start)
        batches.append(result.float().cpu())
    out['max_abs_diff'] = float((batches[0] - batches[1]).abs().max())
    out['samples'] = len(videos)
    out['ok'] = out['max_abs_diff'] < 1e-3
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.dry_run:
        for name, argv_, limit in plan(args.work_dir or 'WORK_DIR'):
            print(f'[{name}] (<= {limit} s) ' +
                  (' '.join(argv_) if argv_ else 'in-process check'))
        return 0
    import torch
    if not torch.cuda.is_available():
        print(NO_CUDA.format(torch=torch.__version__))
        return 0
    work = args.work_dir or tempfile.mkdtemp(prefix='gpu_check_')
    os.makedirs(work, exist_ok=True)
    steps = plan(work)
    deadline = time.perf_counter() + args.budget
    report = dict(gpu=torch.cuda.get_device_name(0), torch=torch.__version__,
                  cuda=torch.version.cuda, work_dir=work, steps=[])
    for name, argv_, limit in steps:
        left = deadline - time.perf_counter()
        entry = dict(step=name, limit_s=limit)
        if left < min(limit, 30):
            entry.update(status='skipped (time budget)')
            report['steps'].append(entry)
            continue
        log = osp.join(work, name.split()[0].lower() + '.log')
        start = time.perf_counter()
        try:
            if argv_ is None:
                entry['figures'] = device_logmel(work)
                status = 'ok' if entry['figures']['ok'] else 'failed'
            else:
                code = run_step(argv_, min(limit, left), log)
                status = 'ok' if code == 0 else f'failed (exit {code})'
                entry['log'] = log
        except subprocess.TimeoutExpired:
            status = 'failed (time limit)'
        except Exception as err:  # noqa: BLE001 - report, go on
            status = f'failed ({type(err).__name__}: {err})'
        entry.update(status=status, seconds=time.perf_counter() - start)
        if name.startswith('speed') and status == 'ok':
            entry['figures'] = speed_figures(argv_[-1])
        report['steps'].append(entry)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=2)
    print_table(report, args.out)
    return 0 if all(s['status'] == 'ok' for s in report['steps']) else 1


def describe(figures):
    """One line of a step's figures for the table."""
    if isinstance(figures, dict):
        return ', '.join(f'{k} {v:.3g}' if isinstance(v, float) else
                         f'{k} {v}' for k, v in figures.items())
    parts = []
    for row in figures or ():
        if row['model'] == 'sf':
            continue
        peak = '' if row['peak_gib'] is None else f', {row["peak_gib"]} GiB'
        parts.append(f'{row["case"]} {row["model"]} {row["dtype"]} '
                     f'x{row["ratio"]} ({row["seconds"]} s{peak})')
    return '; '.join(parts)


def print_table(report, out):
    print(f'\n{report["gpu"]}, torch {report["torch"]}, CUDA '
          f'{report["cuda"]}')
    print(f'{"step":<28}{"status":<24}{"s":>7}  figures')
    for step in report['steps']:
        print(f'{step["step"]:<28}{step["status"]:<24}'
              f'{step.get("seconds", 0):>7.0f}  '
              f'{describe(step.get("figures"))}')
    print(f'(written to {out})')


if __name__ == '__main__':
    sys.exit(main())
