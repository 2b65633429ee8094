"""Write an MMAction2 ``path label`` video list from a folder of videos.

The list is what ``VideoDataset`` / ``AVVideoDataset`` read (``ann_file``):
one ``<path relative to the folder> <label>`` line per video, sorted by
path. The class of a video is

- its folder (``--level 2``, default): ``VIDEO_DIR/<class>/<name>.<ext>``,
  the layout of MMAction2's Kinetics preparation (``videos_train/abseiling/
  0347ZoDXyP0_000095_000105.mp4``) and of most data of your own;
- or its row of an official Kinetics CSV (``--annotation``; columns
  ``label, youtube_id, time_start, time_end``), matched by the file name
  ``<youtube_id>_<time_start:06d>_<time_end:06d>.<ext>`` (MMAction2's
  naming), e.g. for a mirror that keeps every clip in one flat folder
  (``--level 1``).

Labels are indices into a class list: ``--classes FILE`` (one name per
line, in label order; give the file ``--write-classes`` wrote for the
training split when listing the validation split, so both agree), or
else the sorted class names: every class folder (empty ones included), or
every label of the CSV. Names are compared with spaces as ``_`` and
without quotes, so this order is the one of MMAction2's
``build_file_list.py`` (sorted labels of the training CSV) and a label map
with spaces (``air drumming``) matches the folder ``air_drumming``.

Videos are the files with a video extension (case-insensitive, hidden
files skipped) at exactly ``--level`` folders below VIDEO_DIR. Files it
cannot label (no class folder, not in the CSV, a class missing from
``--classes``) are counted and named in the summary, not listed. A path
with white space cannot be written (``VideoDataset`` splits lines on
spaces): the tool names such files and writes nothing (rename the
folders, e.g. with MMAction2's ``tools/data/kinetics/rename_classnames.sh``).

Exit code: 0 when the list was written, 1 when nothing could be listed or
a path has white space, 2 for usage errors.

Usage::

    python tools/data/build_video_list.py data/kinetics400/videos_train \\
        data/kinetics400/kinetics400_train_list_videos.txt \\
        --write-classes data/kinetics400/classes.txt
    python tools/data/build_video_list.py data/kinetics400/videos_val \\
        data/kinetics400/kinetics400_val_list_videos.txt \\
        --classes data/kinetics400/classes.txt
    # one flat folder, the classes from the official CSV:
    python tools/data/build_video_list.py k400/train train_list.txt \\
        --level 1 --annotation kinetics_train.csv
"""
import argparse
import csv
import os
import os.path as osp
import sys
from collections import Counter, OrderedDict

EXAMPLES = 5  # file names quoted per kind of skipped file
KINETICS_COLUMNS = ('label', 'youtube_id', 'time_start', 'time_end')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('video_dir', help='folder of the videos')
    parser.add_argument('out_list', help='list file to write')
    parser.add_argument(
        '--level', type=int, choices=(1, 2), default=2,
        help='folders between VIDEO_DIR and a video: 2 = class folders '
        '(default), 1 = one flat folder (needs --annotation)')
    parser.add_argument(
        '--annotation',
        help='official Kinetics CSV (label,youtube_id,time_start,time_end); '
        'the class of a video is its row\'s label, not its folder')
    parser.add_argument(
        '--classes',
        help='class names, one per line, in label order (default: the '
        'sorted class folders or CSV labels)')
    parser.add_argument(
        '--write-classes',
        help='write the class names in label order to this file (one per '
        'line: --classes of the next split, --label-map of tools/demo.py)')
    parser.add_argument(
        '--ext', nargs='+',
        help='video extensions (default: the common video extensions)')
    args = parser.parse_args(argv)
    if args.level == 1 and not args.annotation:
        parser.error('--level 1 (one flat folder) needs --annotation: a '
                     'video\'s class comes from the CSV')
    return args


def class_name(text: str) -> str:
    """A class name as MMAction2 writes folder names: no quotes, spaces as
    ``_``."""
    return text.replace('"', '').strip().replace(' ', '_')


def kinetics_key(youtube_id: str, start: str, end: str) -> str:
    """File stem of a Kinetics clip in MMAction2's naming."""
    return f'{youtube_id}_{int(float(start)):06d}_{int(float(end)):06d}'


def read_annotation(path: str) -> dict:
    """``{file stem: class name}`` of an official Kinetics CSV."""
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        missing = [c for c in KINETICS_COLUMNS
                   if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(
                f'{path}: no column(s) {missing} in the header '
                f'{reader.fieldnames}; an official Kinetics CSV has '
                f'{list(KINETICS_COLUMNS)}')
        labels = {}
        for row in reader:
            try:
                key = kinetics_key(row['youtube_id'], row['time_start'],
                                   row['time_end'])
            except (TypeError, ValueError):
                raise ValueError(f'{path}: line {reader.line_num}: bad '
                                 f'time_start/time_end') from None
            labels[key] = class_name(row['label'])
    return labels


def read_classes(path: str) -> list:
    with open(path, encoding='utf-8') as f:
        names = [class_name(line) for line in f if line.strip()]
    duplicates = [n for n, c in Counter(names).items() if c > 1]
    if duplicates:
        raise ValueError(f'{path}: class(es) listed twice: {duplicates}')
    return names


def find_videos(video_dir: str, level: int, exts=None) -> tuple:
    """(videos at ``level``, files with a video extension elsewhere), as
    sorted paths relative to ``video_dir`` with ``/`` separators; hidden
    files and folders are skipped, symlinked folders followed (the folder
    scan of ``UnlabeledAVDataset(scan_folder=True)``)."""
    from mmaction_avslowfast.datasets.unlabeled_av_dataset import (
        VIDEO_EXTENSIONS, scan_videos)
    found = scan_videos(video_dir, exts or VIDEO_EXTENSIONS)
    at_level = [rel for rel in found if rel.count('/') == level - 1]
    return at_level, [rel for rel in found if rel.count('/') != level - 1]


def class_folders(video_dir: str) -> list:
    return sorted(
        name for name in os.listdir(video_dir)
        if not name.startswith('.') and osp.isdir(osp.join(video_dir, name)))


def build(args) -> int:
    if not osp.isdir(args.video_dir):
        print(f'error: {args.video_dir} is not a folder', file=sys.stderr)
        return 1
    try:
        annotation = read_annotation(args.annotation) \
            if args.annotation else None
        given = read_classes(args.classes) if args.classes else None
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    videos, elsewhere = find_videos(args.video_dir, args.level, args.ext)
    if annotation is not None:
        classes = given or sorted(set(annotation.values()))
        source = f'the rows of {args.annotation}'
    else:
        classes = given or [class_name(n)
                            for n in class_folders(args.video_dir)]
        source = 'the class folders'
    index = {name: i for i, name in enumerate(classes)}

    lines, skipped = [], OrderedDict(
        (kind, []) for kind in ('not in the annotation', 'unknown class',
                                'not at --level'))
    skipped['not at --level'] = elsewhere
    for rel in videos:
        if annotation is not None:
            name = annotation.get(osp.splitext(osp.basename(rel))[0])
            if name is None:
                skipped['not in the annotation'].append(rel)
                continue
        else:
            name = class_name(rel.split('/')[0])
        if name not in index:
            skipped['unknown class'].append(rel)
            continue
        lines.append((rel, index[name]))

    spaced = [rel for rel, _ in lines if any(c.isspace() for c in rel)]
    if spaced:
        print(f'error: {len(spaced)} path(s) with white space, which a '
              f'"path label" list cannot hold (VideoDataset splits lines '
              f'on spaces), e.g. {spaced[:EXAMPLES]}; rename them (spaces '
              f'to "_", as MMAction2\'s tools/data/kinetics/'
              f'rename_classnames.sh does). Nothing written.',
              file=sys.stderr)
        return 1
    if not lines:
        print(f'error: no video to list under {args.video_dir} (level '
              f'{args.level}, labels from {source})', file=sys.stderr)
        for kind, rels in skipped.items():
            if rels:
                print(f'  {len(rels)} {kind}, e.g. {rels[:EXAMPLES]}',
                      file=sys.stderr)
        return 1

    out_dir = osp.dirname(osp.abspath(args.out_list))
    os.makedirs(out_dir, exist_ok=True)
    with open(args.out_list, 'w', encoding='utf-8') as f:
        f.writelines(f'{rel} {label}\n' for rel, label in lines)
    if args.write_classes:
        with open(args.write_classes, 'w', encoding='utf-8') as f:
            f.writelines(f'{name}\n' for name in classes)

    used = Counter(label for _, label in lines)
    exts = Counter(osp.splitext(rel)[1].lower() for rel, _ in lines)
    print(f'Wrote {len(lines)} videos of {len(used)} classes to '
          f'{args.out_list} (labels 0..{len(classes) - 1} from '
          f'{args.classes or source}; '
          + ', '.join(f'{n} {e}' for e, n in sorted(exts.items())) + ')')
    empty = [name for name in classes if index[name] not in used]
    if empty:
        print(f'  {len(empty)} class(es) without a video: '
              f'{empty[:EXAMPLES]}' + (' ...' if len(empty) > EXAMPLES
                                       else ''))
    for kind, rels in skipped.items():
        if rels:
            print(f'  left out, {kind}: {len(rels)}, e.g. {rels[:EXAMPLES]}')
    if args.write_classes:
        print(f'Class names ({len(classes)}): {args.write_classes}')
    print(f'Classes: {len(classes)} (the model\'s '
          f'model.cls_head.num_classes)')
    return 0


def main(argv=None) -> int:
    return build(parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
