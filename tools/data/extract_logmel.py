"""Precompute full-track AVSlowFast log-mel features for a video dataset.

For every video, writes ``OUT_ROOT/<relative path>.npy``: the un-normalised
reference log-mel ``log(mel power + 1e-8)`` of the whole audio track,
``[T, 80]`` (time x mel, 62.5 frames/s), float32 or float16, and appends a
line to ``OUT_ROOT/index.jsonl``::

    {"npy": "a/b.npy", "video": "a/b.mp4", "frames": T, "frame_rate": 62.5,
     "offset": 0.0, "valid": true, "dtype": "float16"}

``offset`` is the time of the first audio sample relative to the first
video frame. Videos without usable audio get ``"valid": false`` and a
``"reason"`` (no .npy). ``LoadLogMel`` + ``AudioLogMelClips`` cut clips from
these files exactly like the online path.

Resumable: videos that already have an index entry (and their .npy when
valid) are skipped; files are written atomically.

Usage::

    python tools/data/extract_logmel.py data/kinetics400/videos_train \\
        data/kinetics400/logmel_train --num-workers 8 --float16
    # or only the videos of an annotation file (``path label`` lines):
    python tools/data/extract_logmel.py ROOT OUT --ann-file train.txt
"""
import argparse
import json
import os
import os.path as osp
import sys
from multiprocessing import Pool

import numpy as np

VIDEO_EXTS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.flv')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('video_root', help='root folder of the videos')
    parser.add_argument('out_root', help='output folder (.npy + index)')
    parser.add_argument(
        '--ann-file',
        help='MMAction2 VideoDataset annotation (``path label``); default: '
        'every video file under video_root')
    parser.add_argument(
        '--ext',
        nargs='+',
        default=list(VIDEO_EXTS),
        help='video extensions to scan for (without --ann-file)')
    parser.add_argument('--num-workers', type=int, default=4)
    parser.add_argument(
        '--float16', action='store_true', help='store float16 features')
    parser.add_argument('--index-file', default='index.jsonl')
    return parser.parse_args(argv)


def list_videos(video_root, ann_file=None, exts=VIDEO_EXTS):
    """Relative paths of the videos to process, sorted."""
    if ann_file:
        with open(ann_file) as f:
            rels = [line.split()[0] for line in f if line.strip()]
        return sorted(set(rels))
    # the folder scan of UnlabeledAVDataset(scan_folder=True)
    from mmaction_avslowfast.datasets.unlabeled_av_dataset import \
        scan_videos
    return scan_videos(video_root, exts)


def read_index(index_path):
    """Index entries by ``npy`` key (later lines win)."""
    entries = {}
    if osp.isfile(index_path):
        with open(index_path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by an interrupted run
                entries[entry['npy']] = entry
    return entries


def _npy_rel(video_rel):
    return osp.splitext(video_rel)[0] + '.npy'


def extract_one(job):
    """Worker: decode, compute and save one video; returns the index entry."""
    video_root, out_root, rel, float16 = job
    import torch
    torch.set_num_threads(1)
    from mmaction_avslowfast.audio import (
        AudioDecodeError, LogMelExtractor, decode_audio)
    extractor = _worker_extractor(LogMelExtractor)
    src = osp.join(video_root, rel)
    npy_rel = _npy_rel(rel)
    entry = dict(
        npy=npy_rel,
        video=rel,
        frame_rate=extractor.frame_rate,
        dtype='float16' if float16 else 'float32')
    try:
        wave, offset = decode_audio(src, extractor.sample_rate)
    except AudioDecodeError as err:
        entry.update(valid=False, reason=str(err), frames=0, offset=0.0)
        return entry
    logmel = extractor(wave).astype(np.float16 if float16 else np.float32)
    dst = osp.join(out_root, npy_rel)
    os.makedirs(osp.dirname(dst), exist_ok=True)
    tmp = dst + '.tmp.npy'
    np.save(tmp, logmel)
    os.replace(tmp, dst)
    entry.update(valid=True, frames=int(logmel.shape[0]), offset=offset)
    return entry


_EXTRACTOR = None


def _worker_extractor(factory):
    global _EXTRACTOR  # one MelSpectrogram per worker process
    if _EXTRACTOR is None:
        _EXTRACTOR = factory()
    return _EXTRACTOR


def pending_videos(rels, out_root, done):
    """Videos without a finished entry (valid entries need their .npy)."""
    todo = []
    for rel in rels:
        entry = done.get(_npy_rel(rel))
        if entry is None:
            todo.append(rel)
        elif entry.get('valid') and not osp.isfile(
                osp.join(out_root, entry['npy'])):
            todo.append(rel)
    return todo


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out_root, exist_ok=True)
    index_path = osp.join(args.out_root, args.index_file)
    rels = list_videos(args.video_root, args.ann_file, args.ext)
    todo = pending_videos(rels, args.out_root, read_index(index_path))
    print(f'{len(rels)} videos, {len(rels) - len(todo)} already done, '
          f'{len(todo)} to extract')
    jobs = [(args.video_root, args.out_root, rel, args.float16)
            for rel in todo]
    try:
        from tqdm import tqdm
    except ImportError:  # progress bar is optional
        tqdm = None
    failed = 0
    with open(index_path, 'a') as index, Pool(max(args.num_workers,
                                                  1)) as pool:
        results = pool.imap_unordered(extract_one, jobs, chunksize=4)
        if tqdm is not None:
            results = tqdm(results, total=len(jobs), unit='video')
        for entry in results:
            failed += not entry['valid']
            index.write(json.dumps(entry) + '\n')
            index.flush()
    print(f'done: {len(todo) - failed} extracted, {failed} without usable '
          f'audio (valid=false in {index_path})')
    return 0


if __name__ == '__main__':
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    sys.exit(main())
