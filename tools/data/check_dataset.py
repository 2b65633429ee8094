"""Check every file a config's dataset lists, before training on it.

Reads ``<split>_dataloader.dataset`` of an MMAction2 config (any dataset
type with ``ann_file`` + ``data_prefix.video``, e.g. ``VideoDataset``; the
list has ``path label...`` lines, labels optional) and checks each listed
file:

- video, read like training reads it (decord ``VideoReader``): frame
  count, fps, duration, width x height; the first, middle and last frame
  are decoded by decord and by PyAV (``--full-decode``: every frame);
- audio (PyAV, like ``LoadAudioFromVideo``): stream present, sample rate,
  channels, duration, offset to the video, peak of the first
  ``--audio-seconds`` (``--full-decode``: all of it).

Damage that decord conceals (FFmpeg's H.264 decoder patches a garbled
slice and decord returns the frame without an error) is found by PyAV's
decoder, which marks such frames corrupt. Decoder diagnostics never reach
the terminal (decord runs with fd 1/2 sent to /dev/null), nor does the
content of non-video files. Files are checked in ``--workers`` processes,
with a progress bar on stderr; there is no per-file time limit.

Flags (kind ``bad``: the file is left out of the cleaned list)::

    missing             bad      listed file does not exist
    empty               bad      zero bytes
    not_a_video         bad      no container signature: not a video at
                                 all (a text or HTML file, zeros)
    unreadable          bad      a container PyAV or decord cannot open
                                 as a video (truncated or corrupt, no
                                 video stream, 0 frames); with the reason
    undecodable_frames  bad      decord raises decoding frames, or PyAV's
                                 decoder rejects packets / marks frames
                                 corrupt (damage decord conceals)
    too_short           warning  fewer frames than one clip (clip_len x
                                 frame_interval of the split's
                                 SampleFrames); bad with --drop-short
    no_audio            warning  no audio stream (training uses silence)
    audio_unreadable    warning  the audio stream cannot be decoded
    silent_audio        warning  audio peak < --silence-threshold
    audio_offset        info     |audio start - video start| >
                                 --offset-tolerance s
    audio_shorter       info     audio shorter than the video by more
                                 than max(0.5 s, 10 %)

Prints every flagged file with its reasons and a summary table (files per
flag, bad files, total hours, audio formats); writes
``OUT/check_<split>.csv``, ``OUT/check_<split>.json`` (per-file records and
the summary) and ``OUT/<list name>.clean.<ext>``: the list without the bad
files' lines (other lines unchanged, in order). The exit code is 0 whatever
is flagged; 1 if the list cannot be read, 2 for usage errors.

Usage::

    python tools/data/check_dataset.py configs/avslowfast_demo.py --split val
    python tools/data/check_dataset.py CONFIG --split train --workers 8 \\
        --cfg-options train_dataloader.dataset.ann_file=my_list.txt \\
        train_dataloader.dataset.data_prefix.video=data/my_videos
    # then train on the cleaned list:
    #   --cfg-options train_dataloader.dataset.ann_file=OUT/my_list.clean.txt
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
import time
from collections import Counter, OrderedDict
from functools import partial
from multiprocessing import Pool, cpu_count

EPILOG = __doc__[__doc__.index('Flags'):__doc__.index('Usage::')]


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='MMAction2 config file')
    parser.add_argument(
        '--split', default='train', choices=('train', 'val', 'test'),
        help='which <split>_dataloader.dataset to check')
    parser.add_argument(
        '--workers', type=int, default=min(4, cpu_count()),
        help='processes checking files (default: min(4, CPUs))')
    parser.add_argument(
        '--out', default='work_dirs/check_dataset',
        help='folder for check_<split>.csv/.json and the cleaned list')
    parser.add_argument(
        '--full-decode', action='store_true',
        help='decode every video frame and the whole audio track')
    parser.add_argument(
        '--drop-short', action='store_true',
        help='count too_short files as bad (leave them out of the list)')
    parser.add_argument('--audio-seconds', type=float, default=60.0,
                        help='audio decoded for the silence check')
    parser.add_argument('--silence-threshold', type=float, default=1e-4,
                        help='silent_audio below this peak amplitude')
    parser.add_argument('--offset-tolerance', type=float, default=0.1,
                        help='audio_offset above this |offset| (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (e.g. '
        'val_dataloader.dataset.ann_file=list.txt)')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error('--workers must be >= 1')
    return args


def dataset_settings(cfg, split: str) -> dict:
    """``ann_file``, ``video_root``, ``delimiter``, ``pipeline`` and the
    folder scan (``scan_folder``, ``video_exts`` of ``UnlabeledAVDataset``)
    of ``cfg.<split>_dataloader.dataset`` (through ``dataset=`` wrappers
    such as RepeatDataset), with ``data_root`` joined like BaseDataset
    does."""
    from list_split_videos import dataset_config
    dataset = dataset_config(cfg, split)
    if 'ann_file' not in dataset:
        raise ValueError(f'the config\'s {split}_dataloader.dataset has no '
                         'ann_file')
    data_root = dataset.get('data_root') or ''
    prefix = (dataset.get('data_prefix') or {}).get('video', '') or ''
    return dict(
        ann_file=osp.join(data_root, dataset['ann_file']),
        video_root=osp.join(data_root, prefix),
        delimiter=dataset.get('delimiter', None),
        multi_class=bool(dataset.get('multi_class', False)),
        pipeline=dataset.get('pipeline') or [],
        scan_folder=bool(dataset.get('scan_folder', False)),
        video_exts=dataset.get('video_exts'))


def clip_span(pipeline) -> tuple:
    """``(clip_len, frame_interval)`` of the first step whose type name
    contains 'SampleFrames' (None if there is none)."""
    for step in pipeline:
        kind = step.get('type', '')
        name = kind if isinstance(kind, str) else getattr(kind, '__name__',
                                                          '')
        if 'SampleFrames' in name:
            return (int(step.get('clip_len', 1)),
                    int(step.get('frame_interval', 1)))
    return None


def read_list(ann_file: str, delimiter=None) -> list:
    """Entries of a ``path label...`` text list (one per line; lines
    without a path are kept as None) or of a JSON list of dicts with
    ``filename``: ``[(path or None, line or dict)]``."""
    if ann_file.endswith('.json'):
        with open(ann_file) as f:
            return [(item['filename'], item) for item in json.load(f)]
    with open(ann_file) as f:
        lines = f.read().splitlines(keepends=True)
    entries = []
    for line in lines:
        fields = line.strip().split(delimiter) if line.strip() else []
        entries.append((fields[0] if fields else None, line))
    return entries


def scanned_entries(video_root: str, video_exts=None) -> list:
    """Entries (as :func:`read_list`'s, one line per path) of the videos
    ``UnlabeledAVDataset(scan_folder=True)`` finds under ``video_root``."""
    from mmaction_avslowfast.datasets.unlabeled_av_dataset import (
        VIDEO_EXTENSIONS, scan_videos)
    if not osp.isdir(video_root):
        raise FileNotFoundError(f'scan_folder=True but {video_root!r} is '
                                f'not a folder')
    return [(rel, rel + '\n')
            for rel in scan_videos(video_root, video_exts or VIDEO_EXTENSIONS)]


def unparsable_lines(entries, delimiter, multi_class: bool) -> dict:
    """``{line number: line}`` of the text-list lines MMAction2's
    ``VideoDataset`` cannot read: it splits on ``delimiter`` (default one
    space) and expects ``path`` or ``path label`` (more labels only with
    ``multi_class``), so e.g. a path with a space breaks the whole list."""
    bad = {}
    for number, (rel, item) in enumerate(entries, 1):
        if rel is None or not isinstance(item, str):
            continue
        fields = item.strip().split(delimiter or ' ')
        labels = fields[1:]
        if (len(labels) > 1 and not multi_class) or not all(
                label.lstrip('-').isdigit() for label in labels):
            bad[number] = item.rstrip('\n')
    return bad


def run_checks(files, options, workers: int) -> list:
    """:func:`check_media` of every file (in order), with a progress bar
    on stderr; ``workers`` processes."""
    from mmengine.utils import ProgressBar

    from media_check import check_media
    check = partial(check_media, **options)
    bar = ProgressBar(len(files), file=sys.stderr)
    records = []
    if workers == 1 or len(files) <= 1:
        for path in files:
            records.append(check(path))
            bar.update()
    else:
        with Pool(workers) as pool:
            for record in pool.imap(check, files, chunksize=1):
                records.append(record)
                bar.update()
    sys.stderr.write('\n')
    return records


def summarize(records, kinds, list_entries: int) -> OrderedDict:
    """Counts for the summary table (also stored in the JSON report)."""
    counts = Counter(f for rec in records for f in rec['flags'])
    formats = Counter(f'{rec["sample_rate"]} Hz x {rec["channels"]} ch'
                      for rec in records if rec['sample_rate'])
    bad = sum(rec['bad'] for rec in records)
    flagged = sum(bool(rec['flags']) for rec in records)
    seconds = sum(rec['duration'] or 0 for rec in records)
    return OrderedDict(
        list_entries=list_entries,
        total_files=len(records),
        bad_files=bad,
        flagged_not_bad=flagged - bad,
        clean_files=len(records) - flagged,
        flag_counts=OrderedDict((f, counts[f]) for f in kinds),
        flag_kinds=kinds,
        total_video_hours=round(seconds / 3600, 6),
        audio_formats=OrderedDict(sorted(formats.items())))


def format_table(rows, header) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows)
              for i in range(len(header))]
    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def fmt(row):
        cells = [f' {str(c):<{w}} ' if i == 0 else f' {str(c):>{w}} '
                 for i, (c, w) in enumerate(zip(row, widths))]
        return '|' + '|'.join(cells) + '|'

    return '\n'.join([line, fmt(header), line] + [fmt(r) for r in rows] +
                     [line])


def format_summary(summary) -> str:
    rows = [(flag, kind, summary['flag_counts'][flag])
            for flag, kind in summary['flag_kinds'].items()]
    rows += [('total files', '', summary['total_files']),
             ('bad files (not in the clean list)', '',
              summary['bad_files']),
             ('flagged, not bad', '', summary['flagged_not_bad']),
             ('no flag', '', summary['clean_files']),
             ('total duration (hours)', '',
              f'{summary["total_video_hours"]:.4f}')]
    text = format_table(rows, ('flag', 'kind', 'files'))
    audio = [(fmt, n) for fmt, n in summary['audio_formats'].items()]
    if audio:
        text += '\n' + format_table(audio, ('audio format', 'files'))
    return text


def write_reports(out_dir, split, records, summary, meta) -> tuple:
    """``check_<split>.csv`` and ``check_<split>.json``; returns paths."""
    csv_path = osp.join(out_dir, f'check_{split}.csv')
    json_path = osp.join(out_dir, f'check_{split}.json')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]) if records
                                else ['path'])
        writer.writeheader()
        for rec in records:
            row = dict(rec, flags=';'.join(rec['flags']), reasons=' | '.join(
                f'{k}: {v}' for k, v in rec['reasons'].items()))
            writer.writerow(row)
    with open(json_path, 'w') as f:
        json.dump(dict(meta, summary=summary, files=records), f, indent=1)
    return csv_path, json_path


def write_clean_list(out_dir, ann_file, entries, bad_paths) -> str:
    """The list without the entries of ``bad_paths`` (same format)."""
    name, ext = osp.splitext(osp.basename(ann_file))
    if name.endswith('.clean'):  # re-checking a cleaned list
        name = name[:-len('.clean')]
    path = osp.join(out_dir, f'{name}.clean{ext}')
    kept = [item for rel, item in entries if rel not in bad_paths]
    with open(path, 'w') as f:
        if ext == '.json':
            json.dump(kept, f, indent=1)
        else:
            f.writelines(kept)
    return path


def missing_audio_hint(records, share: float = 0.2):
    """A line naming the likely cause when at least ``share`` of the
    readable files have no audio stream (None otherwise)."""
    readable = [rec for rec in records if not rec['bad']]
    silent = [rec for rec in readable if 'no_audio' in rec['flags']]
    if not readable or len(silent) < share * len(readable):
        return None
    return (f'{len(silent)} of {len(readable)} readable files '
            f'({100 * len(silent) / len(readable):.0f} %) have no audio '
            "stream. Was this copy resized with MMAction2's "
            'tools/data/resize_videos.py? It drops the audio (ffmpeg -an). '
            "Resize the originals with this project's "
            'tools/data/resize_videos.py (same arguments, keeps the audio), '
            'see docs/data_preparation/README.md; or check that the '
            'downloaded copy carries audio at all.')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config

    from media_check import FLAGS
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        ds = dataset_settings(cfg, args.split)
        if ds['scan_folder']:
            entries = scanned_entries(ds['video_root'], ds['video_exts'])
            # the cleaned result is a list file (one path per line)
            ds['ann_file'] = f'{args.split}_scan.txt'
            source = 'the folder scan (scan_folder=True)'
        else:
            entries = read_list(ds['ann_file'], ds['delimiter'])
            source = ds['ann_file']
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f'error: cannot read the {args.split} list: {err}',
              file=sys.stderr)
        return 1
    span = clip_span(ds['pipeline'])
    broken = {} if ds['scan_folder'] else unparsable_lines(
        entries, ds['delimiter'], ds['multi_class'])
    entries = [(None if number in broken else rel, item)
               for number, (rel, item) in enumerate(entries, 1)]
    rels = list(OrderedDict.fromkeys(rel for rel, _ in entries if rel))
    files = [osp.join(ds['video_root'], rel) for rel in rels]
    clip_text = (f'one clip = {span[0]} x {span[1]} = {span[0] * span[1]} '
                 f'frames' if span else 'no SampleFrames step: too_short '
                 'not checked')
    workers = min(args.workers, max(len(files), 1))
    print(f'Checking {len(files)} files of {source} ({args.split} '
          f'split, videos under {ds["video_root"] or "."}, {clip_text}) '
          f'with {workers} worker(s)', flush=True)
    options = dict(
        clip_frames=span[0] * span[1] if span else 0,
        full_decode=args.full_decode, audio_seconds=args.audio_seconds,
        silence_threshold=args.silence_threshold,
        offset_tolerance=args.offset_tolerance, drop_short=args.drop_short)
    start = time.time()
    records = run_checks(files, options, workers)
    for rel, rec in zip(rels, records):
        rec['file'], rec['path'] = rec['path'], rel
    kinds = OrderedDict((flag, 'bad' if flag == 'too_short' and
                         args.drop_short else kind)
                        for flag, (kind, _) in FLAGS.items())
    flagged = [rec for rec in records if rec['flags']]
    print(f'\nFlagged files ({len(flagged)} of {len(records)}):' +
          ('' if flagged else ' none'))
    for number, line in broken.items():
        print(f'  [BAD ] line {number} of the list: {line!r}: VideoDataset '
              f'cannot parse it (expects "path label" separated by '
              f'{ds["delimiter"] or " "!r}; a path with that character '
              f'needs another delimiter)')
    for rec in flagged:
        mark = 'BAD ' if rec['bad'] else (
            'warn' if any(kinds[flag] != 'info' for flag in rec['flags'])
            else 'info')
        reasons = '; '.join(f'{flag}: {text}'
                            for flag, text in rec['reasons'].items())
        print(f'  [{mark}] {rec["path"]}  {reasons}')
    summary = summarize(records, kinds, len([e for e in entries if e[0]]))
    print('\nSummary:\n' + format_summary(summary))
    hint = missing_audio_hint(records)
    if hint:
        print(f'\n{hint}')

    os.makedirs(args.out, exist_ok=True)
    meta = OrderedDict(
        config=args.config, split=args.split, ann_file=ds['ann_file'],
        video_root=ds['video_root'],
        clip_len=span[0] if span else None,
        frame_interval=span[1] if span else None, options=options,
        seconds=round(time.time() - start, 2))
    csv_path, json_path = write_reports(args.out, args.split, records,
                                        summary, meta)
    bad = {rec['path'] for rec in records if rec['bad']}
    clean = write_clean_list(args.out, ds['ann_file'], entries, bad | {None})
    print(f'\nReports: {csv_path}, {json_path}')
    print(f'Cleaned list ({len(bad)} bad file(s) and {len(broken)} '
          f'unparsable line(s) left out): {clean}\n'
          f'Train/test on it with:\n  --cfg-options '
          f'{args.split}_dataloader.dataset.ann_file={osp.abspath(clean)} '
          f'{args.split}_dataloader.dataset.data_prefix.video='
          f'{osp.abspath(ds["video_root"] or ".")}' +
          (f' {args.split}_dataloader.dataset.scan_folder=False'
           if ds['scan_folder'] else ''))
    print(f'{len(bad)} bad and {len(flagged) - len(bad)} otherwise flagged '
          f'file(s) of {len(records)} ({time.time() - start:.1f} s)')
    return 0


if __name__ == '__main__':
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    sys.exit(main())
