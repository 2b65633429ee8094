"""Build-time and eval-time audio I/O that does not grow per rank.

1. Data-set build (``UnlabeledAVDataset``'s audio-stream probe). Before,
   every rank opened every listed file; now each file is opened by one
   rank (the files are split over the ranks), and a cache keyed by path,
   size and mtime makes a later build ``stat`` the files instead.
   Measured on DISTINCT files (copies of a few 10-s Kinetics-like mp4s:
   H.264 30 fps + AAC 44.1 kHz stereo), each probed once per measurement
   so that no file's headers are re-read from a warm FFmpeg / dentry
   state (the page cache cannot be dropped here: the bytes come from
   memory, as on a warm local disk): per-file cost of probing every file
   (before: each rank), of a first build with the cache (probe + write)
   and of a cache hit, interleaved in rounds. The 240 k figures scale the
   per-file cost; the cache hit is also measured for real on a
   ``--list-size`` list of distinct empty files with a cache written for
   them. ``--ranks 2`` runs a first build in two gloo processes and
   reports each rank's wall and CPU time and the files it opened.
2. Eval audio: ``AVSyncEvalAudio`` ms per sample decoding both whole
   tracks (before, ``read_spans=False``) and only the spans read (after),
   on 10-s 44.1 kHz stereo AAC files, for the Kinetics val (1 clip) and
   test (10 clips) sampling, interleaved rounds, with the max difference.

Usage::

    python benchmarks/data_io.py [--files 300] [--rounds 5]
        [--list-size 240000] [--ranks 2] [--eval-files 8]
        [--out benchmarks/results/data_io.json]
"""
import argparse
import json
import os
import os.path as osp
import platform
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmaction_avslowfast  # noqa: E402,F401
from mmengine.registry import init_default_scope  # noqa: E402

from mmaction_avslowfast.datasets import UnlabeledAVDataset  # noqa: E402
from mmaction_avslowfast.datasets.audio_probe import (  # noqa: E402
    CACHE_FORMAT, CACHE_VERSION, AudioProbeCache, probe_audio_streams)
from mmaction_avslowfast.testing.synthetic_media import \
    write_av_video  # noqa: E402

KINETICS = 240_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--files', type=int, default=300,
                        help='distinct files per probe variant')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--list-size', type=int, default=KINETICS,
                        help='entries of the real cache-hit list (0: skip)')
    parser.add_argument('--ranks', type=int, default=2,
                        help='gloo processes of the shared build (0: skip)')
    parser.add_argument('--eval-files', type=int, default=8)
    parser.add_argument('--eval-rounds', type=int, default=7)
    parser.add_argument(
        '--out', default=osp.join(osp.dirname(osp.abspath(__file__)),
                                  'results', 'data_io.json'))
    return parser.parse_args()


def kinetics_like(path, seed, duration=10.0, **kwargs):
    return write_av_video(path, duration=duration, fps=30, size=(64, 48),
                          tone_schedule=[(0.0, 300.0 + 50 * seed),
                                         (duration / 2, 1500.0 + 50 * seed)],
                          sample_rate=44100, channels=2, color_seed=seed,
                          **kwargs)


def distinct_files(folder, templates, count, prefix):
    """``count`` copies of the templates under distinct names; returns the
    list file naming them."""
    os.makedirs(folder, exist_ok=True)
    names = []
    for i in range(count):
        name = f'{prefix}{i:05d}.mp4'
        shutil.copyfile(templates[i % len(templates)], osp.join(folder, name))
        names.append(name)
    listing = osp.join(folder, f'{prefix}list.txt')
    with open(listing, 'w') as f:
        f.write(''.join(n + '\n' for n in names))
    return listing


def timed_build(listing, root, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    ds = UnlabeledAVDataset(listing, data_prefix=dict(video=root),
                            pipeline=[], **kwargs)
    return (time.perf_counter() - wall, time.process_time() - cpu,
            ds.probe_counts)


def bench_probe(tmp, args):
    """Per-file cost of the probe variants on distinct files, by rounds
    (:func:`probe_audio_streams` as the data-set build calls it, 4 threads;
    the rest of the build is measured by :func:`bench_list`)."""
    templates = [kinetics_like(osp.join(tmp, 'tpl', f'{k}.mp4'), k)['path']
                 for k in range(6)]
    per_round = max(args.files // args.rounds, 1)
    rows = {k: dict(wall=[], cpu=[]) for k in
            ('probe every file', 'first build, cache written', 'cache hit')}
    for r in range(args.rounds):
        root = osp.join(tmp, 'probe', f'round{r}')
        paths = {}
        for k in ('a', 'b'):
            distinct_files(root, templates, per_round, f'{k}_')
            paths[k] = [osp.join(root, f'{k}_{i:05d}.mp4')
                        for i in range(per_round)]
        cache = osp.join(tmp, 'work_dir', f'probe{r}.json')
        runs = [('probe every file', paths['a'], None),
                ('first build, cache written', paths['b'], cache),
                ('cache hit', paths['b'], cache)]
        for name, files, cache_path in runs:
            wall, cpu = time.perf_counter(), time.process_time()
            answers, counts = probe_audio_streams(files, cache_path, 4)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert all(answers) and counts['probed'] == (
                0 if name == 'cache hit' else per_round), counts
            rows[name]['wall'].append(1e3 * wall / per_round)
            rows[name]['cpu'].append(1e3 * cpu / per_round)
    return dict(files_per_round=per_round, rounds=args.rounds,
                template=dict(duration_s=10, fps=30, audio='AAC 44.1 kHz '
                              'stereo', bytes=os.path.getsize(templates[0])),
                ms_per_file={k: {m: statistics.median(v[m]) for m in v}
                             for k, v in rows.items()},
                ms_per_file_all=rows)


def bench_list(tmp, size):
    """Build of a ``size``-entry list: no probe (the floor), and a cache hit
    (every file stat-ed, 0 opened) with a cache written for the files."""
    root = osp.join(tmp, 'big')
    names, entries = [], {}
    for i in range(size):
        folder = osp.join(root, f'd{i // 1000:03d}')
        if i % 1000 == 0:
            os.makedirs(folder)
        path = osp.join(folder, f'v{i:06d}.mp4')
        open(path, 'wb').close()
        st = os.stat(path)
        names.append(osp.relpath(path, root))
        entries[path] = [st.st_size, st.st_mtime_ns, '1']
    listing = osp.join(tmp, 'big_list.txt')
    with open(listing, 'w') as f:
        f.write(''.join(n + ' 0\n' for n in names))
    cache = AudioProbeCache(osp.join(tmp, 'big_cache.json'))
    cache.entries, cache.changed = entries, True
    start = time.perf_counter()
    cache.save()
    write_s = time.perf_counter() - start
    floor = timed_build(listing, root, filter_no_audio=False)
    hit = timed_build(listing, root, probe_cache=cache.path)
    assert hit[2]['probed'] == 0 and hit[2]['cached'] == size, hit[2]
    with open(cache.path) as f:
        assert json.load(f)['format'] == CACHE_FORMAT
    return dict(entries=size, cache_mb=os.path.getsize(cache.path) / 2**20,
                cache_version=CACHE_VERSION, cache_write_s=write_s,
                build_no_probe_s=dict(wall=floor[0], cpu=floor[1]),
                build_cache_hit_s=dict(wall=hit[0], cpu=hit[1]))


def _rank(rank, world, store, listing, root, cache, out):
    import av
    import torch.distributed as dist
    opened = []
    real_open = av.open

    def counting_open(path, *a, **k):
        opened.append(path)
        return real_open(path, *a, **k)

    av.open = counting_open
    dist.init_process_group('gloo', init_method=f'file://{store}',
                            rank=rank, world_size=world)
    init_default_scope('mmaction')
    dist.barrier()
    wall, cpu, counts = timed_build(listing, root, probe_cache=cache)
    with open(osp.join(out, f'rank{rank}.json'), 'w') as f:
        json.dump(dict(wall_s=wall, cpu_s=cpu, opened=len(opened),
                       counts=counts), f)
    dist.destroy_process_group()


def bench_ranks(tmp, args):
    import torch.multiprocessing as mp
    templates = [osp.join(tmp, 'tpl', f'{k}.mp4') for k in range(6)]
    root = osp.join(tmp, 'ranks')
    listing = distinct_files(root, templates, args.files, 'r_')
    ctx = mp.get_context('spawn')
    procs = [ctx.Process(target=_rank, args=(
        r, args.ranks, osp.join(tmp, 'store'), listing, root,
        osp.join(tmp, 'work_dir', 'ranks.json'), tmp))
        for r in range(args.ranks)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    per_rank = []
    for r in range(args.ranks):
        with open(osp.join(tmp, f'rank{r}.json')) as f:
            per_rank.append(json.load(f))
    return dict(files=args.files, per_rank=per_rank)


def bench_eval(tmp, args):
    from mmcv.transforms import Compose
    from mmaction_avslowfast.datasets.transforms import AVSyncEvalAudio
    # AAC without PNS, so that the max difference checks the spans: PNS
    # noise bands are random and differ with where decoding starts
    paths = [kinetics_like(osp.join(tmp, 'eval', f'e{k}.mp4'), k,
                           audio_options={'aac_pns': '0'})['path']
             for k in range(args.eval_files)]
    variants = {'whole tracks (before)': False, 'spans (after)': True}
    out = {}
    for split, num_clips in (('val, 1 clip', 1), ('test, 10 clips', 10)):
        sampler = Compose([dict(type='SampleFrames', clip_len=32,
                                frame_interval=2, num_clips=num_clips,
                                test_mode=True)])
        samples = []
        for i, path in enumerate(paths):
            info = sampler(dict(total_frames=300, start_index=0))
            samples.append(dict(
                filename=path, avs_partner_filename=paths[(i + 1) % len(
                    paths)], frame_inds=info['frame_inds'],
                num_clips=num_clips, avg_fps=30.0, start_index=0))
        transforms = {k: AVSyncEvalAudio(num_frames=128, min_shift=0.5,
                                         read_spans=v)
                      for k, v in variants.items()}
        first = {k: [t(dict(s))['audios'] for s in samples]
                 for k, t in transforms.items()}  # warm-up, equality
        diff = max(float(np.abs(a - b).max()) for a, b in zip(*first.values()))
        times = {k: [] for k in variants}
        rng = np.random.RandomState(0)
        for _ in range(args.eval_rounds):
            for k in rng.permutation(list(variants)):
                start = time.perf_counter()
                for s in samples:
                    transforms[k](dict(s))
                times[k].append(1e3 * (time.perf_counter() - start) /
                                len(samples))
        before, after = times.values()
        out[split] = dict(
            ms_per_sample={k: statistics.median(v) for k, v in times.items()},
            ms_per_sample_all=times,
            speedup=statistics.median(b / a for b, a in zip(before, after)),
            max_abs_diff=diff)
    return out


def main():
    args = parse_args()
    torch.set_num_threads(1)
    init_default_scope('mmaction')
    tmp = tempfile.mkdtemp(prefix='avsf_io_')
    load = os.getloadavg()
    start = time.perf_counter()
    try:
        probe = bench_probe(tmp, args)
        ranks = bench_ranks(tmp, args) if args.ranks > 1 else None
        big = bench_list(tmp, args.list_size) if args.list_size else None
        evals = bench_eval(tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per_file = probe['ms_per_file']
    scaled = {k: {m: v[m] * KINETICS / 1e3 for m in v}
              for k, v in per_file.items()}
    result = dict(
        setup=dict(machine=platform.processor() or platform.machine(),
                   cpus=os.cpu_count(), probe_threads=4, torch_threads=1,
                   load_avg_before=load, load_avg_after=os.getloadavg(),
                   wall_s=time.perf_counter() - start),
        probe=probe, scaled_to_240k_s=scaled, ranks=ranks, list=big,
        eval_audio=evals)
    os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    print_tables(result)
    print(f'(load average {load[0]:.2f} before, '
          f'{result["setup"]["load_avg_after"][0]:.2f} after; '
          f'{result["setup"]["wall_s"]:.0f} s; written to {args.out})')


def print_tables(res):
    probe, big = res['probe'], res['list']
    print(f'\nData-set build: audio-stream probe, {probe["files_per_round"]}'
          f' distinct files x {probe["rounds"]} rounds (medians)')
    print(f'{"variant":<30}{"wall ms/file":>13}{"CPU ms/file":>12}'
          f'{"240k wall s":>12}{"240k CPU s":>11}')
    for name, v in probe['ms_per_file'].items():
        s = res['scaled_to_240k_s'][name]
        print(f'{name:<30}{v["wall"]:>13.3f}{v["cpu"]:>12.3f}'
              f'{s["wall"]:>12.1f}{s["cpu"]:>11.1f}')
    if big:
        print(f'{big["entries"]}-entry list, measured: build without probe '
              f'{big["build_no_probe_s"]["wall"]:.1f} s, with a cache hit '
              f'{big["build_cache_hit_s"]["wall"]:.1f} s '
              f'(CPU {big["build_cache_hit_s"]["cpu"]:.1f} s); cache '
              f'{big["cache_mb"]:.1f} MB written in '
              f'{big["cache_write_s"]:.1f} s')
    if res['ranks']:
        print(f'first build on {len(res["ranks"]["per_rank"])} gloo ranks, '
              f'{res["ranks"]["files"]} files:')
        for r, v in enumerate(res['ranks']['per_rank']):
            print(f'  rank {r}: wall {v["wall_s"]:.2f} s, CPU '
                  f'{v["cpu_s"]:.2f} s, {v["counts"]["probed_here"]} files '
                  f'probed, {v["opened"]} av.open calls')
    print(f'\n{"eval audio (AVSyncEvalAudio)":<30}{"whole ms":>10}'
          f'{"spans ms":>10}{"speed-up":>10}{"max diff":>10}')
    for split, v in res['eval_audio'].items():
        before, after = v['ms_per_sample'].values()
        print(f'{split:<30}{before:>10.1f}{after:>10.1f}'
              f'{v["speedup"]:>9.2f}x{v["max_abs_diff"]:>10.1e}')


if __name__ == '__main__':
    main()
