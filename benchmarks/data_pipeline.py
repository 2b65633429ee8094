"""What the AVSlowFast audio transforms add to a training sample, per step,
on three sets of synthesized videos, and how close they are to the floor.

Sets (all written here; nothing is downloaded):

- ``synthetic``: moving gradients at ``--width x --height``, x264
  ultrafast (decode very fast: the audio share looks large), AAC 44.1 kHz
  stereo, 10 s;
- ``kinetics_like``: 340x256 (MMAction2's resized Kinetics), a panned
  texture with moving blobs and noise, x264 medium crf 23 (~1 Mbit/s),
  AAC 44.1 kHz stereo, 10 s (decodes like real footage);
- ``real_world_like``: 13 clips of fixed make-up, one per file kind
  (``mmaction_avslowfast.testing.realworld_media.REALWORLD_SET``: 5-10 s,
  194x194 to 1280x720; AAC, MP3, MP2, PCM, Vorbis, Opus; mono to 5.1;
  mp4 / mov / mkv / webm / ts / avi / flv / mpeg).

1. Overhead (``audio_overhead_pct``): the Kinetics training pipeline

       DecordInit -> SampleFrames(32, 2, 1) -> DecordDecode -> [audio]
       -> Resize(-1, 256) -> RandomResizedCrop -> Resize(224, 224) -> Flip
       -> FormatShape('NCTHW') -> [AlignAudioViews] -> PackActionInputs

   with ``LoadAudioFromVideo + AudioLogMelClips(with_negative=True)``,
   the log-mel on the worker (``online``, default) or left to the model's
   device (``device``: the worker decodes and resamples), or
   ``LoadLogMel`` + ``AudioLogMelClips`` on features from
   ``tools/data/extract_logmel.py`` (``precomputed``). Every transform is
   timed (process CPU time: load from other processes on a shared machine
   does not count; whole-pipeline wall times moved by 10-20 ms with the
   random clip position), all variants of a sample back to back in random
   order with the same seed (same clip, negative, crops): the overhead is
   the audio steps' time over the other steps' time of the same samples.
   Per round for the two mp4 sets (median over rounds), per file for the
   real-world-like set (median over files).
2. Floor (per file kind): thread CPU time of the audio transforms alone
   (``worker``, and ``device``) against the floor of the same sample:
   open the file, seek to and decode exactly the spans the clip and its
   negative read, average the channels, resample to 16 kHz, nothing else
   (``benchmarks/audio_profile.py``).
3. ``--profile``: the worker's audio time split into open/probe, seek,
   track length, decode, downmix, resample, log-mel, alignment/copies.

Usage::

    PYTHONPATH=. python benchmarks/data_pipeline.py [--profile]
        [--rounds 4] [--media-dir DIR] [--sets synthetic kinetics_like
        real_world_like] [--out benchmarks/results/data_pipeline.json]
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

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import mmaction_avslowfast  # noqa: E402,F401
from audio_profile import STEPS, audio_costs  # noqa: E402
from mmcv.transforms import Compose  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmaction.registry import TRANSFORMS  # noqa: E402
from mmaction_avslowfast.testing.realworld_media import (  # noqa: E402
    write_realworld_set, write_textured_video)
from mmaction_avslowfast.testing.synthetic_media import \
    write_av_video  # noqa: E402

SETS = ('synthetic', 'kinetics_like', 'real_world_like')
AUDIO_STEPS = ('LoadAudioFromVideo', 'LoadLogMel', 'AudioLogMelClips',
               'AlignAudioViews')
#: Targets: overhead in % of the other steps (the two mp4 sets, and the
#: median over the real-world-like files, worker path), and the worker's
#: audio time over the floor for every file kind.
TARGETS = {'kinetics_like': 8.0, 'synthetic': 20.0,
           'real_world_like_median': 20.0, 'worker_over_floor': 2.0}
MP4_KIND = 'mp4-aac44-stereo'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sets', nargs='+', default=list(SETS),
                        choices=SETS)
    parser.add_argument('--videos', type=int, default=6,
                        help='videos of each mp4 set')
    parser.add_argument('--width', type=int, default=320)
    parser.add_argument('--height', type=int, default=240)
    parser.add_argument('--rounds', type=int, default=4)
    parser.add_argument('--clips', type=int, default=2,
                        help='samples (clip positions) per file and round')
    parser.add_argument('--profile', action='store_true',
                        help='split the audio time into its steps')
    parser.add_argument('--media-dir', default=None,
                        help='keep the synthesized videos here (reused)')
    parser.add_argument(
        '--out', default=osp.join(ROOT, 'benchmarks', 'results',
                                  'data_pipeline.json'))
    return parser.parse_args()


def write_set(kind, root, args):
    """Write (or reuse) one set; returns ``[(kind of file, path)]``."""
    os.makedirs(root, exist_ok=True)
    if kind == 'real_world_like':
        return [(name, info['path']) for name, info in
                write_realworld_set(root).items()]
    files = []
    for i in range(args.videos):
        path = osp.join(root, f'v{i}.mp4')
        if not osp.isfile(path):
            if kind == 'synthetic':
                write_av_video(
                    path, duration=10.0, fps=30,
                    size=(args.width, args.height),
                    tone_schedule=[(0.0, 300.0 + 100 * i),
                                   (5.0, 1200.0 + 100 * i)],
                    sample_rate=44100, channels=2, color_seed=i)
            else:
                write_textured_video(path, seed=i)
        files.append((MP4_KIND, path))
    return files


def build_pipelines(logmel_root, video_root, with_device):
    head = [
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=32, frame_interval=2,
             num_clips=1),
        dict(type='DecordDecode'),
    ]
    tail = [
        dict(type='Resize', scale=(-1, 256)),
        dict(type='RandomResizedCrop'),
        dict(type='Resize', scale=(224, 224), keep_ratio=False),
        dict(type='Flip', flip_ratio=0.5),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='AlignAudioViews'),
        dict(type='PackActionInputs', collect_keys=('imgs', 'audios'),
             meta_keys=('img_shape', 'audio_valid')),
    ]
    clips = dict(type='AudioLogMelClips', with_negative=True)
    out = {
        'online': head + [dict(type='LoadAudioFromVideo'), clips] + tail,
        'precomputed': head + [
            dict(type='LoadLogMel', logmel_root=logmel_root,
                 video_root=video_root), clips] + tail,
    }
    if with_device:
        out['device'] = head + [dict(type='LoadAudioFromVideo'),
                                dict(clips, logmel='device')] + tail
    return {k: Compose(v) for k, v in out.items()}


def device_path_available():
    try:
        TRANSFORMS.build(dict(type='AudioLogMelClips', logmel='device'))
    except TypeError:  # a checkout without it (the "before" run)
        return False
    return True


def timed_steps(pipeline, results):
    """Process CPU seconds of the audio steps and of the other steps."""
    audio = other = 0.0
    for step in pipeline.transforms:
        start = time.process_time()
        results = step(results)
        spent = time.process_time() - start
        if type(step).__name__ in AUDIO_STEPS:
            audio += spent
        else:
            other += spent
        assert results is not None
    return audio, other


def samples_of(files, rounds, clips):
    return [(r, key, path, 1000 * r + 10 * i + c)
            for r in range(rounds) for i, (key, path) in enumerate(files)
            for c in range(clips)]


def overhead_pass(files, pipelines, args, rng):
    """Step times of every sample through every variant (module doc)."""
    rows = []
    for r, key, path, seed in samples_of(files, args.rounds, args.clips):
        for name in rng.permutation(list(pipelines)):
            np.random.seed(seed)
            info = dict(filename=path, label=0, start_index=0,
                        modality='RGB')
            audio, other = timed_steps(pipelines[name], info)
            rows.append(dict(round=r, key=key, path=path, variant=name,
                             audio=audio, other=other))
    return rows


def pct(rows):
    return 100.0 * sum(x['audio'] for x in rows) / sum(x['other']
                                                      for x in rows)


def summarize_overhead(kind, rows, variants):
    out = {'audio_ms_per_sample': {}, 'other_ms_per_sample': None,
           'audio_overhead_pct': {}}
    for name in variants:
        mine = [x for x in rows if x['variant'] == name]
        if kind == 'real_world_like':  # median over files
            per = {p: pct([x for x in mine if x['path'] == p])
                   for p in sorted({x['path'] for x in mine})}
            out['audio_overhead_pct'][name] = statistics.median(
                per.values())
            out.setdefault('per_file_pct', {})[name] = {
                osp.basename(p): v for p, v in per.items()}
        else:  # median over rounds
            out['audio_overhead_pct'][name] = statistics.median(
                pct([x for x in mine if x['round'] == r])
                for r in sorted({x['round'] for x in mine}))
        out['audio_ms_per_sample'][name] = 1e3 * statistics.median(
            x['audio'] for x in mine)
        out['other_ms_per_sample'] = 1e3 * statistics.median(
            x['other'] for x in mine)
    return out


def floor_pass(files, args, with_device, rng):
    head = Compose([
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=32, frame_interval=2,
             num_clips=1)
    ])
    entries = []
    for _, key, path, seed in samples_of(files, args.rounds, args.clips):
        np.random.seed(seed)
        results = head(dict(filename=path, label=0, start_index=0,
                            modality='RGB'))
        results.pop('video_reader', None)
        entries.append((key, path, seed, results))
    transforms = dict(
        load=TRANSFORMS.build(dict(type='LoadAudioFromVideo')),
        worker=TRANSFORMS.build(dict(type='AudioLogMelClips',
                                     with_negative=True)))
    if with_device:
        transforms['device'] = TRANSFORMS.build(dict(
            type='AudioLogMelClips', with_negative=True, logmel='device'))
    return audio_costs(entries, transforms, args.profile, rng)


def summarize_floor(rows):
    out = {}
    for key in dict.fromkeys(x['key'] for x in rows):
        mine = [x for x in rows if x['key'] == key]
        med = {k: 1e3 * statistics.median(x[k] for x in mine)
               for k in ('worker', 'device', 'floor') if k in mine[0]}
        med['worker_over_floor'] = med['worker'] / med['floor']
        if 'device' in med:
            med['device_over_floor'] = med['device'] / med['floor']
        if 'split' in mine[0]:
            med['split_ms'] = {s: 1e3 * statistics.mean(
                x['split'].get(s, 0.0) for x in mine) for s in STEPS}
        out[key] = med
    return out


def extract(video_root, logmel_root):
    from tools.data.extract_logmel import main as extract_main
    extract_main([video_root, logmel_root, '--num-workers', '1',
                  '--float16', '--ext', '.mp4', '.mov', '.mkv', '.webm',
                  '.ts', '.avi', '.flv', '.mpg'])


def main():
    args = parse_args()
    torch.set_num_threads(1)
    init_default_scope('mmaction')
    with_device = device_path_available()
    media = args.media_dir or tempfile.mkdtemp(prefix='avsf_bench_')
    load_before, start = os.getloadavg(), time.perf_counter()
    rng = np.random.RandomState(0)
    sets, floors = {}, {}
    for kind in args.sets:
        video_root = osp.join(media, kind)
        files = write_set(kind, video_root, args)
        logmel_root = osp.join(media, kind + '_logmel')
        shutil.rmtree(logmel_root, ignore_errors=True)
        extract(video_root, logmel_root)
        pipelines = build_pipelines(logmel_root, video_root, with_device)
        for pipe in pipelines.values():  # warm-up
            np.random.seed(0)
            timed_steps(pipe, dict(filename=files[0][1], label=0,
                                   start_index=0, modality='RGB'))
        rows = overhead_pass(files, pipelines, args, rng)
        sets[kind] = summarize_overhead(kind, rows, list(pipelines))
        sets[kind]['files'] = len(files)
        floor = summarize_floor(floor_pass(files, args, with_device, rng))
        for key, value in floor.items():
            floors[key if kind == 'real_world_like' else
                   f'{key} ({kind})'] = value
        print(f'{kind}: {time.perf_counter() - start:.0f} s')
    if not args.media_dir:
        shutil.rmtree(media, ignore_errors=True)
    meets = {name: sets[name]['audio_overhead_pct']['online'] <= TARGETS[
        name] for name in ('kinetics_like', 'synthetic') if name in sets}
    if 'real_world_like' in sets:
        meets['real_world_like_median'] = sets['real_world_like'][
            'audio_overhead_pct']['online'] <= TARGETS[
                'real_world_like_median']
    meets['worker_over_floor'] = all(
        f['worker_over_floor'] <= TARGETS['worker_over_floor']
        for f in floors.values())
    result = dict(
        setup=dict(
            rounds=args.rounds, clips_per_file=args.clips, torch_threads=1,
            timing='process CPU time per transform (overhead); thread CPU '
            'time (floor, split)',
            pipeline='SampleFrames(32,2,1) train pipeline, '
            'AudioLogMelClips(with_negative=True)',
            machine=platform.processor() or platform.machine(),
            cpus=os.cpu_count(), load_avg_before=load_before,
            load_avg_after=os.getloadavg(),
            wall_s=time.perf_counter() - start, device_path=with_device),
        targets_pct=TARGETS, meets_target=meets, sets=sets,
        floor_by_kind=floors)
    os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    print_tables(result, args.out)


def print_tables(result, out):
    print(f'\n{"set":<17}{"path":<13}{"audio ms":>9}{"other ms":>10}'
          f'{"overhead":>10}{"target":>8}')
    for kind, res in result['sets'].items():
        target = TARGETS.get(kind, TARGETS['real_world_like_median'])
        for name, value in res['audio_overhead_pct'].items():
            print(f'{kind:<17}{name:<13}'
                  f'{res["audio_ms_per_sample"][name]:>9.2f}'
                  f'{res["other_ms_per_sample"]:>10.1f}{value:>9.1f}%' +
                  (f'{target:>7.0f}%' if name == 'online' else ''))
    floors = result['floor_by_kind']
    split = any('split_ms' in f for f in floors.values())
    print(f'\n{"file kind":<34}{"worker":>7}{"device":>7}{"floor":>7}'
          f'{"w/floor":>8}' + (''.join(f'{s[:9]:>10}' for s in STEPS)
                               if split else ''))
    for key, f in floors.items():
        print(f'{key[:33]:<34}{f["worker"]:>7.2f}'
              f'{f.get("device", float("nan")):>7.2f}{f["floor"]:>7.2f}'
              f'{f["worker_over_floor"]:>8.2f}' +
              (''.join(f'{f["split_ms"][s]:>10.2f}' for s in STEPS)
               if split else ''))
    setup = result['setup']
    print(f'(ms per sample, CPU time; load average '
          f'{setup["load_avg_before"][0]:.2f} before, '
          f'{setup["load_avg_after"][0]:.2f} after; '
          f'{setup["wall_s"]:.0f} s; targets met: '
          f'{result["meets_target"]}; written to {out})')


if __name__ == '__main__':
    main()
