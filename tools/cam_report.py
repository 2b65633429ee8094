"""Does the Grad-CAM of a model trained on the demo data set point at the
evidence? Measured on the clips of tools/make_demo_dataset.py, where the
generator says where the evidence is.

Every demo class needs both senses: the square's motion picks the direction
(left / right / up), the tone picks low / high. For each clip this runs
``av_gradcam`` (the clip's class, first test view) and compares the heat
with the generator's truth:

- frame heat on the square: the share of the frame heat inside the square
  (re-rendered from the clip's seed, each sampled frame resized as the
  pipeline resized it) divided by the square's share of the area
  (1.0 = no preference; the acceptance asks >= 1.5 on average);
- audio heat in the tone's band: the share of the audio heat in the mel
  bins of the class's tone range (``mel_bin`` of its lowest and highest
  pitch) divided by the band's share of the bins. A low tone's evidence
  may be the absence of the high band, which Grad-CAM's ReLU does not
  show: reported, not required.

Two controls break the map on purpose and should lose the square: the
gradient of the class with the other motion (same tone; left <-> right,
up -> left) and the frame map flipped left-right.

Prints a Markdown table per class and overall; ``--json`` writes the
per-clip figures::

    python tools/cam_report.py configs/avslowfast_demo.py \\
        work_dirs/avslowfast_demo/best_acc_top1_epoch_12.pth \\
        --data data/avdemo --split test

The clips must be the generator's own (``--seed``, ``--size``, ``--fps``
and ``--duration`` as given to make_demo_dataset.py, defaults the same).
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, NamedTuple, Sequence, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from make_demo_dataset import (MOTIONS, SOUNDS, SPLITS,  # noqa: E402
                               class_names, render_frames)

#: the class whose gradient serves as control: the other motion, same tone
CONTROL_MOTION = {'left': 'right', 'right': 'left', 'up': 'left'}
#: acceptance: heat share / area share, on average over the clips
MIN_RATIO = 1.5


class ClipTruth(NamedTuple):
    """Where the generator put a demo clip's evidence.

    Attributes:
        label (int): Class index (:func:`class_names`).
        motion (str), sound (str): Its two parts.
        masks (np.ndarray): ``[N, H, W]`` bool, the square in every frame
            of the clip at the generator's size.
    """
    label: int
    motion: str
    sound: str
    masks: np.ndarray


def clip_truth(video: str, seed: int = 0, size: Tuple[int, int] = (64, 64),
               fps: int = 16, duration: float = 2.0) -> ClipTruth:
    """Re-render the frames of ``videos_<split>/<class>/<class>_<i>.mp4``
    from its seed, as make_demo_dataset.py drew them."""
    folder = osp.dirname(osp.abspath(video))
    name = osp.basename(folder)
    split = osp.basename(osp.dirname(folder))
    stem = osp.splitext(osp.basename(video))[0]
    names = class_names()
    if name not in names or not split.startswith('videos_') or \
            split[len('videos_'):] not in SPLITS or \
            not stem.startswith(f'{name}_'):
        raise ValueError(f'{video}: not a clip of make_demo_dataset.py '
                         '(videos_<split>/<class>/<class>_<i>.mp4)')
    label = names.index(name)
    index = int(stem[len(name) + 1:])
    motion, sound = name.split('_')
    rng = np.random.RandomState(
        [seed, SPLITS.index(split[len('videos_'):]), label, index])
    frames = render_frames(motion, rng, size, int(round(duration * fps)))
    # a bright square (every channel >= 160) on a dark background (< 90)
    return ClipTruth(label, motion, sound, frames.min(axis=-1) >= 128)


def fed_masks(masks: np.ndarray, frame_inds: np.ndarray,
              shape: Tuple[int, int]) -> np.ndarray:
    """The square's share of every pixel of the fed frames ``[T, H, W]``
    (float32 in [0, 1]): the sampled frames' masks resized to ``shape``
    (``(H, W)``) by area, as a full-frame resize without crop (the demo
    config's) maps them."""
    import mmcv
    height, width = shape
    inds = np.clip(frame_inds, 0, len(masks) - 1)
    return np.stack([
        mmcv.imresize(masks[i].astype(np.float32), (width, height),
                      interpolation='area') for i in inds
    ])


def band_mask(sound: str, shape: Tuple[int, int],
              sample_rate: int = 16000) -> np.ndarray:
    """``[T_a, F]`` float32: 1 in the mel bins of ``sound``'s pitch range
    (:func:`~mmaction_avslowfast.testing.synthetic_media.mel_bin` of its
    ends), 0 elsewhere."""
    from mmaction_avslowfast.testing.synthetic_media import mel_bin
    n_mels = shape[1]
    lo, hi = (mel_bin(f, n_mels, sample_rate / 2) for f in SOUNDS[sound])
    mask = np.zeros(shape, np.float32)
    mask[:, lo:hi + 1] = 1.0
    return mask


def heat_ratio(cam: np.ndarray, mask: np.ndarray) -> float:
    """Share of the heat inside ``mask`` over ``mask``'s share of the area
    (0 without heat)."""
    total = float(cam.sum())
    if total <= 0 or float(mask.mean()) <= 0:
        return 0.0
    return float((cam * mask).sum()) / total / float(mask.mean())


def measure_clip(model, video: str, layers=None, pipeline=None,
                 **generator) -> Dict:
    """Grad-CAM figures of one demo clip (``generator``: the kwargs of
    :func:`clip_truth`): ``label``, ``top1``, ``frame`` (heat on the
    square), ``frame_other_motion``, ``frame_flipped``, ``audio`` (heat in
    the tone's band), ``sound`` and the ``layers``."""
    from mmaction_avslowfast.apis import av_gradcam
    truth = clip_truth(video, **generator)
    cam = av_gradcam(model, video, layers, truth.label, pipeline)
    masks = fed_masks(truth.masks, cam.frame_inds, cam.frames_cam.shape[1:])
    other = class_names().index(
        f'{CONTROL_MOTION[truth.motion]}_{truth.sound}')
    control = av_gradcam(model, video, layers, other, pipeline)
    return dict(
        video=video, label=truth.label, top1=int(cam.scores.argmax()),
        sound=truth.sound, frame=heat_ratio(cam.frames_cam, masks),
        frame_other_motion=heat_ratio(control.frames_cam, masks),
        frame_flipped=heat_ratio(cam.frames_cam[:, :, ::-1], masks),
        audio=heat_ratio(cam.audio_cam,
                         band_mask(truth.sound, cam.audio_cam.shape)),
        layers=[cam.layers[p] for p in ('slow', 'fast', 'audio')])


def summarize(rows: Sequence[Dict], names: Sequence[str]) -> str:
    """Markdown table: per class and overall, the mean of each figure."""
    keys = ('frame', 'frame_other_motion', 'frame_flipped', 'audio')
    lines = ['| class | clips | top-1 | frame heat on square | other '
             'motion\'s gradient | map flipped | audio heat in tone band |',
             '|---|---|---|---|---|---|---|']
    groups = [(n, [r for r in rows if r['label'] == c])
              for c, n in enumerate(names)]
    groups.append(('all', list(rows)))
    for name, group in groups:
        if not group:
            continue
        top1 = np.mean([r['top1'] == r['label'] for r in group])
        means = [np.mean([r[k] for r in group]) for k in keys]
        lines.append(f'| {name} | {len(group)} | {top1:.2f} | ' +
                     ' | '.join(f'{m:.2f}x' for m in means) + ' |')
    return '\n'.join(lines)


def verdict(rows: Sequence[Dict]) -> List[str]:
    """The acceptance lines: frame heat on the square over all clips, audio
    heat in the band over the high-tone clips (the low-tone ones
    reported)."""
    frame = np.mean([r['frame'] for r in rows])
    lines = [f'frame heat on the square: {frame:.2f}x the area share '
             f'(>= {MIN_RATIO}: {"yes" if frame >= MIN_RATIO else "NO"})']
    for sound in SOUNDS:
        group = [r['audio'] for r in rows if r['sound'] == sound]
        if not group:
            continue
        ratio = np.mean(group)
        if sound == 'high':
            lines.append(f'audio heat in the high band (high-tone clips): '
                         f'{ratio:.2f}x (>= {MIN_RATIO}: '
                         f'{"yes" if ratio >= MIN_RATIO else "NO"})')
        else:
            lines.append(f'audio heat in the {sound} band ({sound}-tone '
                         f'clips, not required): {ratio:.2f}x')
    return lines


def split_videos(data: str, split: str, per_class: int) -> List[str]:
    """The first ``per_class`` clips of every class in a split's list (all
    with ``per_class`` 0)."""
    with open(osp.join(data, f'{split}_list_videos.txt')) as f:
        entries = [line.split() for line in f if line.strip()]
    counts, videos = {}, []
    for rel, label in entries:
        counts[label] = counts.get(label, 0) + 1
        if per_class <= 0 or counts[label] <= per_class:
            videos.append(osp.join(data, f'videos_{split}', rel))
    return videos


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='checkpoint trained on the demo')
    parser.add_argument('--data', default='data/avdemo',
                        help='make_demo_dataset.py output folder')
    parser.add_argument('--split', default='test', choices=SPLITS)
    parser.add_argument('--per-class', type=int, default=0,
                        help='clips per class (default 0: all)')
    parser.add_argument('--cam-layer', help='as tools/demo.py --cam-layer')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--json', help='write the per-clip figures here')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--size', type=int, default=64,
                        help='square frame size given to the generator')
    parser.add_argument('--fps', type=int, default=16)
    parser.add_argument('--duration', type=float, default=2.0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmaction_avslowfast.apis import build_test_pipeline, \
        init_av_recognizer
    model = init_av_recognizer(args.config, args.checkpoint, args.device)
    pipeline = build_test_pipeline(model.cfg)
    generator = dict(seed=args.seed, size=(args.size, args.size),
                     fps=args.fps, duration=args.duration)
    videos = split_videos(args.data, args.split, args.per_class)
    rows = [measure_clip(model, v, args.cam_layer, pipeline, **generator)
            for v in videos]
    print(f'Grad-CAM on {len(rows)} {args.split} clips of {args.data}, '
          f'layers {", ".join(rows[0]["layers"])}; heat share / area share '
          '(1.00x = no preference)')
    print(summarize(rows, class_names()))
    print('\n'.join(verdict(rows)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                           split=args.split, motions=list(MOTIONS),
                           clips=rows), f, indent=1)
        print(f'per-clip figures: {args.json}')
    return 0


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    sys.exit(main())
