"""Data-pipeline throughput with and without the AVSlowFast audio transforms.

Synthesizes two video sets (H.264 + AAC, 44.1 kHz stereo like most of
Kinetics): ``synthetic`` (moving gradients at ``--width x --height``, x264
ultrafast: decodes very fast, so the audio share looks large) and
``realistic`` (340x256, MMAction2's resized-Kinetics size, a panned
texture with moving blobs and noise, x264 medium crf 23, ~1 Mbit/s:
decodes like real footage). For each set it times, in one process and
interleaved round by round, the training pipeline of the recognition
configs

    DecordInit -> SampleFrames(32, 2, 1) -> DecordDecode -> [audio]
    -> Resize(-1, 256) -> RandomResizedCrop -> Resize(224, 224) -> Flip
    -> FormatShape('NCTHW') -> [AlignAudioViews] -> PackActionInputs

for three variants: ``video`` (no audio transforms), ``online``
(``LoadAudioFromVideo`` + ``AudioLogMelClips(with_negative=True)``: PyAV
decodes the spans of the clip and its negative) and ``precomputed``
(``LoadLogMel`` + ``AudioLogMelClips(with_negative=True)`` on features
from ``tools/data/extract_logmel.py``). Reports the median clips/s over
rounds, the audio overhead per clip (median of the per-round ratios of
time per clip; targets: online <= 15 %, precomputed <= 5 %) and the
milliseconds audio adds per clip. Single-threaded, as in a data-loader
worker.

Usage::

    PYTHONPATH=. python benchmarks/data_pipeline.py [--videos 6]
        [--real-videos 6] [--duration 10] [--rounds 15]
        [--out benchmarks/results/data_pipeline.json]
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
from mmcv.transforms import BaseTransform, Compose  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmaction.registry import TRANSFORMS  # noqa: E402

from mmaction_avslowfast.testing.synthetic_media import \
    write_av_video  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--videos', type=int, default=6)
    parser.add_argument('--duration', type=float, default=10.0)
    parser.add_argument('--width', type=int, default=320)
    parser.add_argument('--height', type=int, default=240)
    parser.add_argument('--real-videos', type=int, default=6,
                        help='videos of the realistic (340x256) set')
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument(
        '--out', default=osp.join(
            osp.dirname(osp.abspath(__file__)), 'results',
            'data_pipeline.json'))
    return parser.parse_args()


def write_realistic_video(path, duration=10.0, fps=30, size=(340, 256),
                          seed=0, preset='medium', crf=23):
    """Kinetics-like mp4: a textured background panning under moving
    blobs, with sensor-like noise (x264 ``preset``/``crf``, yuv420p), plus
    44.1 kHz stereo AAC of tones over coloured noise. Decoding it costs
    about what resized real footage costs (the gradient videos of
    ``write_av_video`` compress ~100x and decode far faster)."""
    import av
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    rng = np.random.RandomState(seed)
    width, height = size
    # Smooth random texture twice the frame size, panned over time.
    tex = rng.randint(0, 256, (height // 4 + 8, width // 2 + 8, 3))
    tex = np.kron(tex, np.ones((4, 4, 1))).astype(np.float32)
    for axis in (0, 1):
        tex = (tex + np.roll(tex, 1, axis) + np.roll(tex, 2, axis)) / 3
    yy, xx = np.mgrid[0:height, 0:width]
    container = av.open(path, mode='w')
    vstream = container.add_stream('libx264', rate=fps)
    vstream.width, vstream.height = size
    vstream.pix_fmt = 'yuv420p'
    vstream.options = {'crf': str(crf), 'preset': preset}
    astream = container.add_stream('aac', rate=44100)
    astream.layout = 'stereo'
    num_frames = int(round(duration * fps))
    t = np.arange(int(duration * 44100)) / 44100.0
    tone = sum(0.15 * np.sin(2 * np.pi * f * t * (1 + 0.05 * np.sin(t)))
               for f in rng.uniform(150, 3000, 4))
    noise = np.cumsum(rng.randn(t.size)) * 0.002
    noise -= np.convolve(noise, np.ones(441) / 441, 'same')  # drift
    wave = (tone + noise + 0.02 * rng.randn(t.size)).astype(np.float32)
    wave = np.stack([wave, 0.8 * wave + 0.01 * rng.randn(t.size)])
    wave = wave.astype(np.float32)
    samples_per_frame = 44100 / fps
    audio_pos = 0
    for i in range(num_frames):
        dx, dy = int(2 * i) % (tex.shape[1] - width), int(
            i * 0.7) % (tex.shape[0] - height)
        img = tex[dy:dy + height, dx:dx + width].copy()
        for k in range(3):  # moving blobs
            cx = (0.5 + 0.4 * np.sin(0.05 * i + k)) * width
            cy = (0.5 + 0.4 * np.cos(0.07 * i + 2 * k)) * height
            mask = (xx - cx)**2 + (yy - cy)**2 < (20 + 8 * k)**2
            img[mask] = (60 * k + 3 * i) % 256
        img += rng.randn(height, width, 1).astype(np.float32) * 4
        frame = av.VideoFrame.from_ndarray(
            np.clip(img, 0, 255).astype(np.uint8), format='rgb24')
        frame.pts = i
        container.mux(vstream.encode(frame))
        stop = int(round((i + 1) * samples_per_frame))
        last_frame = i == num_frames - 1
        while (audio_pos + 1024 <= stop
               or (last_frame and audio_pos < wave.shape[1])):
            chunk = np.ascontiguousarray(wave[:, audio_pos:audio_pos + 1024])
            aframe = av.AudioFrame.from_ndarray(chunk, format='fltp',
                                                layout='stereo')
            aframe.sample_rate = 44100
            aframe.pts = audio_pos
            container.mux(astream.encode(aframe))
            audio_pos += 1024
    container.mux(astream.encode(None))
    container.mux(vstream.encode(None))
    container.close()


@TRANSFORMS.register_module(force=True)
class BenchDrawLikeNegative(BaseTransform):
    """Draws from ``np.random`` what ``AudioLogMelClips(with_negative=True)``
    draws (one uniform per clip), so that the ``video`` pipeline gets the
    same random crops / flips as the audio ones and the timings compare
    the same work."""

    def transform(self, results):
        for _ in range(results.get('num_clips', 1)):
            np.random.uniform(0, 1)
        return results


def build_pipelines(logmel_root, video_root):
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
    ]
    clips = dict(type='AudioLogMelClips', with_negative=True)
    pack_av = [
        dict(type='AlignAudioViews'),
        dict(type='PackActionInputs', collect_keys=('imgs', 'audios'),
             meta_keys=('img_shape', 'audio_valid')),
    ]
    return {
        'video': head + [dict(type='BenchDrawLikeNegative')] + tail +
        [dict(type='PackActionInputs')],
        'online': head + [dict(type='LoadAudioFromVideo'), clips] + tail +
        pack_av,
        'precomputed': head + [
            dict(type='LoadLogMel', logmel_root=logmel_root,
                 video_root=video_root), clips
        ] + tail + pack_av,
    }


def time_pass(pipeline, infos):
    start = time.perf_counter()
    for info in infos:
        out = pipeline(dict(info))
        assert out is not None
    return time.perf_counter() - start


def synthesize(kind, video_root, args):
    """Write the videos of one set; returns the pipeline infos."""
    infos = []
    for i in range(args.videos if kind == 'synthetic' else
                   args.real_videos):
        path = osp.join(video_root, f'v{i}.mp4')
        if kind == 'synthetic':
            write_av_video(
                path, duration=args.duration, fps=30,
                size=(args.width, args.height),
                tone_schedule=[(0.0, 300.0 + 100 * i),
                               (args.duration / 2, 1200.0 + 100 * i)],
                sample_rate=44100, channels=2, color_seed=i)
        else:
            write_realistic_video(path, duration=args.duration, fps=30,
                                  size=(340, 256), seed=i)
        infos.append(dict(filename=path, label=i % 2, start_index=0,
                          modality='RGB'))
    return infos


def bench_set(kind, tmp, args):
    """Time the pipelines on one video set (interleaved rounds)."""
    video_root = osp.join(tmp, kind, 'videos')
    logmel_root = osp.join(tmp, kind, 'logmel')
    t0 = time.perf_counter()
    infos = synthesize(kind, video_root, args)
    print(f'{kind}: {len(infos)} videos of {args.duration:g} s written in '
          f'{time.perf_counter() - t0:.1f} s')
    from tools.data.extract_logmel import main as extract_main
    t0 = time.perf_counter()
    extract_main([video_root, logmel_root, '--num-workers', '1',
                  '--float16'])
    extract_s = time.perf_counter() - t0

    pipelines = {k: Compose(v) for k, v in build_pipelines(
        logmel_root, video_root).items()}
    for pipe in pipelines.values():  # warm-up (imports, first decode)
        time_pass(pipe, infos[:2])

    rates = {name: [] for name in pipelines}
    rng = np.random.RandomState(0)
    for _ in range(args.rounds):
        for name in rng.permutation(list(pipelines)):
            np.random.seed(1)  # same clips for every variant
            rates[name].append(
                len(infos) / time_pass(pipelines[name], infos))

    med = {k: statistics.median(v) for k, v in rates.items()}
    # Paired per-round ratios are less sensitive to load from other
    # processes than a ratio of medians.
    audio_variants = [k for k in pipelines if k != 'video']
    overhead = {
        k: 100.0 * (statistics.median(
            v / a for v, a in zip(rates['video'], rates[k])) - 1.0)
        for k in audio_variants
    }
    added_ms = {
        k: 1000.0 * statistics.median(
            1 / a - 1 / v for v, a in zip(rates['video'], rates[k]))
        for k in audio_variants
    }
    size = [args.width, args.height] if kind == 'synthetic' else [340, 256]
    return dict(
        videos=len(infos),
        content=('moving gradient, x264 ultrafast crf 28, AAC tones'
                 if kind == 'synthetic' else
                 'panned texture + moving blobs + noise, x264 medium '
                 'crf 23, AAC tones + noise'),
        size=size,
        mbit_per_s=statistics.mean(
            osp.getsize(x['filename']) for x in infos) * 8e-6 /
        args.duration,
        clips_per_s_median=med,
        clips_per_s_all=rates,
        ms_per_clip_median={k: 1000.0 / v for k, v in med.items()},
        audio_overhead_pct=overhead,
        audio_added_ms_per_clip=added_ms,
        meets_target={k: overhead[k] <= TARGETS[k] for k in TARGETS},
        extract_logmel_s_per_video=extract_s / len(infos))


TARGETS = {'online': 15.0, 'precomputed': 5.0}


def main():
    args = parse_args()
    torch.set_num_threads(1)
    init_default_scope('mmaction')
    tmp = tempfile.mkdtemp(prefix='avsf_bench_')
    start = time.perf_counter()
    sets = {kind: bench_set(kind, tmp, args)
            for kind in ('synthetic', 'realistic')}
    shutil.rmtree(tmp, ignore_errors=True)
    result = dict(
        setup=dict(
            duration_s=args.duration, fps=30,
            audio='AAC 44.1 kHz stereo', rounds=args.rounds,
            torch_threads=1,
            pipeline='SampleFrames(32,2,1) train pipeline, '
            'AudioLogMelClips(with_negative=True)',
            machine=platform.processor() or platform.machine(),
            cpus=os.cpu_count(),
            wall_s=time.perf_counter() - start),
        targets_pct=TARGETS,
        sets=sets)
    os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)

    print(f'\n{"set":<11}{"pipeline":<15}{"clips/s":>9}{"ms/clip":>9}'
          f'{"audio ms":>10}{"overhead":>10}{"target":>8}')
    for kind, res in sets.items():
        for name in res['clips_per_s_median']:
            extra = ''
            if name != 'video':
                target = TARGETS.get(name)
                extra = (f'{res["audio_added_ms_per_clip"][name]:>10.1f}'
                         f'{res["audio_overhead_pct"][name]:>9.1f}%' +
                         (f'{target:>7.0f}%' if target else f'{"-":>8}'))
            print(f'{kind:<11}{name:<15}'
                  f'{res["clips_per_s_median"][name]:>9.2f}'
                  f'{res["ms_per_clip_median"][name]:>9.1f}{extra}')
    print(f'(medians of {args.rounds} rounds; overhead = median of paired '
          f'per-round ratios; {result["setup"]["wall_s"]:.0f} s in all; '
          f'written to {args.out})')


if __name__ == '__main__':
    main()
