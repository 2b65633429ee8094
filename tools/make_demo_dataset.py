"""Synthesize the AVSlowFast demo dataset (VideoDataset layout, mp4 H.264+AAC).

Every clip shows a coloured square moving over a noisy background and plays a
tone. A class is a (motion, sound) pair::

    motion in {left, right, up}  x  sound in {low, high}  ->  6 classes

so ``left_low`` and ``left_high`` look identical and differ only in sound,
while ``left_low``, ``right_low`` and ``up_low`` sound identical and differ
only in motion. Vision alone can at best reach 3/6 = 50 % top-1, audio alone
2/6 = 33 %; only both senses together separate all six classes.

Nuisance factors drawn per clip (square colour, size, start position, speed,
background, tone pitch and loudness, noise) keep the task from being a lookup.
Horizontal flipping changes the class (left <-> right): do not use ``Flip`` on
this data.

Output (``--out``, default ``data/avdemo``)::

    videos_{train,val,test}/<class>/<class>_<i>.mp4
    {train,val,test}_list_videos.txt   ("<relative path> <label>")
    label_map.txt           (one class name per line, line index = label)

``val`` picks the best checkpoint; ``test`` is held out for the final
figure, so that checkpoint selection does not inflate it.

With ``--layout kinetics400`` the lists are named like MMAction2's
Kinetics-400 ones (``kinetics400_{train,val}_list_videos.txt``), e.g. a tiny
tree for smoke-testing the Kinetics configs::

    python tools/make_demo_dataset.py --layout kinetics400 \
        --out data/kinetics400 --train-per-class 1 --val-per-class 1 \
        --size 340x256 --fps 30 --duration 3

Deterministic: the same ``--seed`` and arguments give the same clips.

Usage::

    python tools/make_demo_dataset.py --out data/avdemo
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import List, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmaction_avslowfast.testing.synthetic_media import (  # noqa: E402
    write_frames_with_audio)

MOTIONS = {'left': (-1, 0), 'right': (1, 0), 'up': (0, -1)}
#: Tone pitch ranges in Hz; far apart on the mel scale.
SOUNDS = {'low': (300.0, 450.0), 'high': (1800.0, 2600.0)}
SPLITS = ('train', 'val', 'test')


def class_names() -> List[str]:
    """``<motion>_<sound>`` for every pair, label = list index."""
    return [f'{m}_{s}' for m in MOTIONS for s in SOUNDS]


def render_frames(motion: str, rng: np.random.RandomState,
                  size: Tuple[int, int], num_frames: int) -> np.ndarray:
    """Frames ``[T, H, W, 3]`` uint8 of a square moving in ``motion``;
    ``size`` is ``(width, height)``."""
    dx, dy = MOTIONS[motion]
    width, height = size
    short = min(width, height)
    side = rng.randint(short // 4, short // 3 + 1)
    # Travel a large part of the frame along the motion axis.
    extent = (width if dx else height) - side
    speed = rng.uniform(0.6, 1.0) * extent / max(num_frames - 1, 1)
    travel = speed * (num_frames - 1)
    # Start so that the whole path stays inside the frame.
    lo_x = travel if dx < 0 else 0.0
    hi_x = width - side - (travel if dx > 0 else 0.0)
    lo_y = travel if dy < 0 else 0.0
    hi_y = height - side - (travel if dy > 0 else 0.0)
    x0, y0 = rng.uniform(lo_x, max(lo_x, hi_x)), rng.uniform(
        lo_y, max(lo_y, hi_y))
    # Random colours, but always a bright square on a dark background: the
    # direction of motion then has one contrast polarity to be learned from.
    background = rng.randint(0, 80, size=3)
    noise = rng.randint(-10, 11, size=(height, width, 3))
    canvas = np.clip(background + noise, 0, 255).astype(np.uint8)
    color = rng.randint(160, 256, size=3)
    frames = np.repeat(canvas[None], num_frames, axis=0)
    for t in range(num_frames):
        x = int(round(x0 + dx * speed * t))
        y = int(round(y0 + dy * speed * t))
        frames[t, y:y + side, x:x + side] = color
    return frames


def render_audio(sound: str, rng: np.random.RandomState, sample_rate: int,
                 duration: float) -> np.ndarray:
    """Mono waveform ``[S]`` float32: a tone in ``sound``'s range + noise."""
    freq = rng.uniform(*SOUNDS[sound])
    amplitude = rng.uniform(0.2, 0.5)
    t = np.arange(int(round(duration * sample_rate))) / sample_rate
    phase = rng.uniform(0, 2 * np.pi)
    wave = amplitude * np.sin(2 * np.pi * freq * t + phase)
    wave += rng.normal(0.0, 0.01, size=t.shape)
    return wave.astype(np.float32)


def write_mp4(path: str, frames: np.ndarray, wave: np.ndarray, fps: int,
              sample_rate: int) -> None:
    """Mux ``frames [T, H, W, 3]`` (H.264) and mono ``wave`` (AAC)."""
    write_frames_with_audio(path, frames, wave, fps, sample_rate, crf=20)


def make_split(out: str, split: str, per_class: int, seed: int,
               size: Tuple[int, int], fps: int, duration: float,
               sample_rate: int,
               list_prefix: str = '') -> List[Tuple[str, int]]:
    """Write one split; returns ``(relative path, label)`` entries."""
    entries = []
    for label, name in enumerate(class_names()):
        motion, sound = name.split('_')
        for i in range(per_class):
            # One independent stream per clip: a clip does not depend on how
            # many clips other classes or splits have.
            rng = np.random.RandomState(
                [seed, SPLITS.index(split), label, i])
            rel = osp.join(name, f'{name}_{i:04d}.mp4')
            frames = render_frames(motion, rng, size,
                                   int(round(duration * fps)))
            wave = render_audio(sound, rng, sample_rate, duration)
            write_mp4(
                osp.join(out, f'videos_{split}', rel), frames, wave, fps,
                sample_rate)
            entries.append((rel, label))
    with open(osp.join(out, f'{list_prefix}{split}_list_videos.txt'),
              'w') as f:
        f.writelines(f'{rel} {label}\n' for rel, label in entries)
    return entries


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/avdemo', help='output folder')
    parser.add_argument('--train-per-class', type=int, default=60)
    parser.add_argument('--val-per-class', type=int, default=20)
    parser.add_argument('--test-per-class', type=int, default=20)
    parser.add_argument('--size', default='64',
                        help='frame size in pixels: N (square) or WxH, even')
    parser.add_argument('--fps', type=int, default=16)
    parser.add_argument('--duration', type=float, default=2.0,
                        help='clip length in seconds')
    parser.add_argument('--sample-rate', type=int, default=16000)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--layout', choices=('avdemo', 'kinetics400'), default='avdemo',
        help='kinetics400: name the lists kinetics400_{train,val}_list_'
        'videos.txt as in MMAction2\'s Kinetics-400 layout (use with '
        '--out data/kinetics400)')
    args = parser.parse_args(argv)
    try:
        dims = [int(v) for v in args.size.lower().split('x')]
    except ValueError:
        dims = []
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or any(d <= 0 or d % 2 for d in dims):
        parser.error(f'--size must be N or WxH with even positive numbers '
                     f'(yuv420p), got {args.size!r}')
    args.size = tuple(dims)
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.time()
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'label_map.txt'), 'w') as f:
        f.writelines(f'{name}\n' for name in class_names())
    counts = {}
    for split, per_class in (('train', args.train_per_class),
                             ('val', args.val_per_class),
                             ('test', args.test_per_class)):
        if per_class == 0:
            continue
        counts[split] = len(
            make_split(args.out, split, per_class, args.seed, args.size,
                       args.fps, args.duration, args.sample_rate,
                       list_prefix='kinetics400_'
                       if args.layout == 'kinetics400' else ''))
    summary = ', '.join(f'{n} {split}' for split, n in counts.items())
    print(f'Wrote {summary} clips of {len(class_names())} classes to '
          f'{args.out} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
