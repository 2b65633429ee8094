"""Write the synthesized audiovisual world of the self-supervised demo
(``tools/selfsup_demo.sh``; the world: ``mmaction_avslowfast/testing/
synthetic_world.py``).

Layout under ``--out`` (default ``data/selfsup``)::

    pretrain/*.mp4      + pretrain_list.txt   unlabelled AVS pre-training
    avs_val/*.mp4       + avs_val_list.txt    held-out AVS validation
    avs_test/*.mp4      + avs_test_list.txt   held-out AVS test
    probe_train/*.mp4   + probe_train_list.txt  labelled (`path label`)
    probe_val/*.mp4     + probe_val_list.txt
    probe_test/*.mp4    + probe_test_list.txt
    label_map.txt       probe classes: the quarters of the clip (0.00-0.25s..)
    events.json         event (flash + beep) frames per object of every video

AVS videos: every object flashes and beeps at random times (``--rate`` per
second per object). Probe clips
(``--probe-duration`` s): exactly one object (drawn at random) flashes, once;
label = the part of the clip (of ``--probe-bins`` equal parts, default 4)
that holds the flash, i.e. *when* it flashes (and beeps). List paths are
relative to the split folder.
Every split has its own seed, so the splits never share a video.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmaction_avslowfast.testing.synthetic_world import (  # noqa: E402
    probe_event, probe_label_names, render_world, sample_events,
    write_world_video)

SPLIT_SEEDS = dict(pretrain=1, avs_val=2, avs_test=3, probe_train=4,
                   probe_val=5, probe_test=6)


def _make_one(job):
    split, index, out, args = job
    rng = np.random.RandomState(SPLIT_SEEDS[split] * 1_000_003 + index)
    if split.startswith('probe'):
        label = index % args['probe_bins']
        duration = args['probe_duration']
        events = probe_event(rng, label, args['probe_bins'], duration,
                             flash_frames=args['flash_frames'])
    else:
        label = None
        duration = args['avs_duration'] if split != 'pretrain' else \
            args['pretrain_duration']
        events = sample_events(rng, duration, rate=args['rate'])
    world = render_world(events, duration, rng,
                         flash_frames=args['flash_frames'],
                         obj_size=args['obj_size'])
    name = f'{split}_{index:05d}.mp4'
    write_world_video(osp.join(out, split, name), world)
    return split, name, label, [e.tolist() for e in events]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/selfsup')
    parser.add_argument('--num-pretrain', type=int, default=480)
    parser.add_argument('--num-avs-val', type=int, default=64)
    parser.add_argument('--num-avs-test', type=int, default=160)
    parser.add_argument('--num-probe-train', type=int, default=320)
    parser.add_argument('--num-probe-val', type=int, default=80)
    parser.add_argument('--num-probe-test', type=int, default=240)
    parser.add_argument('--pretrain-duration', type=float, default=4.0)
    parser.add_argument('--avs-duration', type=float, default=3.0)
    parser.add_argument('--probe-duration', type=float, default=1.0)
    parser.add_argument('--probe-bins', type=int, default=4,
                        help='probe classes: the clip is cut into this many '
                        'equal parts; label = the part holding the flash')
    parser.add_argument('--rate', type=float, default=0.8,
                        help='events per second per object (AVS videos)')
    parser.add_argument('--flash-frames', type=int, default=4,
                        help='frames an object stays white when it flashes')
    parser.add_argument('--obj-size', type=int, default=10,
                        help='side of an object (px of the 64 px frame)')
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args()
    t0 = time.time()
    counts = dict(pretrain=args.num_pretrain, avs_val=args.num_avs_val,
                  avs_test=args.num_avs_test,
                  probe_train=args.num_probe_train,
                  probe_val=args.num_probe_val,
                  probe_test=args.num_probe_test)
    params = dict(probe_duration=args.probe_duration,
                  probe_bins=args.probe_bins,
                  avs_duration=args.avs_duration,
                  pretrain_duration=args.pretrain_duration, rate=args.rate,
                  flash_frames=args.flash_frames, obj_size=args.obj_size)
    jobs = [(split, i, args.out, params) for split, n in counts.items()
            for i in range(n)]
    os.makedirs(args.out, exist_ok=True)
    with Pool(max(1, args.workers)) as pool:
        results = pool.map(_make_one, jobs, chunksize=16)
    meta = {}
    for split in counts:
        rows = [r for r in results if r[0] == split]
        with open(osp.join(args.out, f'{split}_list.txt'), 'w') as f:
            for _, name, label, _ in rows:
                f.write(name if label is None else f'{name} {label}')
                f.write('\n')
        meta[split] = {name: dict(label=label, event_frames=ev)
                       for _, name, label, ev in rows}
    with open(osp.join(args.out, 'label_map.txt'), 'w') as f:
        f.write('\n'.join(probe_label_names(args.probe_bins,
                                             args.probe_duration)) + '\n')
    with open(osp.join(args.out, 'events.json'), 'w') as f:
        json.dump(dict(fps=16, params=params, splits=meta), f)
    print(f'[make_selfsup_world] {len(jobs)} videos '
          f'({", ".join(f"{k} {v}" for k, v in counts.items())}) -> '
          f'{args.out} in {time.time() - t0:.1f} s')


if __name__ == '__main__':
    main()
