"""List the video files a config's split reads, for ``check_dataset.py``.

``tools/data/check_dataset.py`` reads ``path label`` lists. Data sets
annotated in other formats, such as the official EPIC-Kitchens-100 CSVs
(``EPIC_100_train.csv``: one row per action segment, the video is
``<root>/<participant_id>/videos/<video_id>.MP4``) or the Charades CSVs
(``Charades_v1_train.csv``: ``<root>/<id>.mp4``), are listed here: the
split's data set is built from the config (annotations only, no video is
opened) and every video file its samples use is written once, in order
of first use, relative to the split's ``data_prefix.video``, one per
line. Missing files are listed too, so the check reports them.

Works for any data set whose samples carry a ``filename``
(``AVVideoDataset``, ``EpicKitchensDataset``, ``CharadesDataset``,
``UnlabeledAVDataset``); AVA's rawframes have none (check its 15-min cuts
with ``check_dataset.py --cfg-options <split>_dataloader.dataset.
scan_folder=True``).

Usage::

    python tools/data/list_split_videos.py configs/avslowfast_r50_epic100.py \\
        work_dirs/epic_train_videos.txt --split train
    python tools/data/check_dataset.py configs/avslowfast_r50_epic100.py \\
        --split train --cfg-options \\
        train_dataloader.dataset.ann_file=work_dirs/epic_train_videos.txt

Exit code: 0 when the list was written, 1 when the split's annotation
cannot be read or names no video file, 2 for usage errors.
"""
import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='MMAction2 config file')
    parser.add_argument('out_list', help='list file to write')
    parser.add_argument(
        '--split', default='train', choices=('train', 'val', 'test'),
        help='which <split>_dataloader.dataset to list')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.dataset.ann_file=...)')
    return parser.parse_args(argv)


def dataset_config(cfg, split: str):
    """``cfg.<split>_dataloader.dataset`` (through ``dataset=`` wrappers
    such as RepeatDataset)."""
    loader = cfg.get(f'{split}_dataloader')
    dataset = loader.get('dataset') if loader else None
    while dataset is not None and 'ann_file' not in dataset and \
            'dataset' in dataset:
        dataset = dataset.get('dataset')
    if dataset is None:
        raise ValueError(f'the config has no {split}_dataloader.dataset')
    return dataset


def split_videos(cfg, split: str) -> tuple:
    """(video root, [video paths relative to it, in order of first use],
    number of samples) of ``cfg.<split>_dataloader.dataset``."""
    from mmengine.registry import init_default_scope

    import mmaction_avslowfast  # noqa: F401 (registers the data sets)
    from mmaction.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    ds_cfg = dataset_config(cfg, split).copy()
    ds_cfg['lazy_init'] = True  # annotations only, read below
    dataset = DATASETS.build(ds_cfg)
    infos = dataset.load_data_list()
    root = (dataset.data_prefix or {}).get('video') or ''
    paths = list(dict.fromkeys(
        info['filename'] for info in infos if info.get('filename')))
    if not paths:
        raise ValueError(
            f'the {split} data set ({type(dataset).__name__}) names no video '
            f'file (rawframes?); for AVA check the 15-min cuts with '
            f'check_dataset.py --cfg-options '
            f'{split}_dataloader.dataset.scan_folder=True '
            f'{split}_dataloader.dataset.data_prefix.video=<folder>')
    rels = [osp.relpath(osp.abspath(p), osp.abspath(root or '.'))
            for p in paths]
    return root, rels, len(infos)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        root, rels, samples = split_videos(cfg, args.split)
    except (OSError, ValueError, KeyError) as err:
        print(f'error: cannot list the {args.split} videos: {err}',
              file=sys.stderr)
        return 1
    spaced = [rel for rel in rels if any(c.isspace() for c in rel)]
    if spaced:
        print(f'error: {len(spaced)} path(s) with white space, which '
              f'check_dataset.py cannot read from a list, e.g. '
              f'{spaced[:5]}', file=sys.stderr)
        return 1
    os.makedirs(osp.dirname(osp.abspath(args.out_list)), exist_ok=True)
    with open(args.out_list, 'w', encoding='utf-8') as f:
        f.writelines(f'{rel}\n' for rel in rels)
    missing = sum(not osp.exists(osp.join(root, rel)) for rel in rels)
    print(f'Wrote {len(rels)} videos ({samples} samples of the {args.split} '
          f'split, videos under {root or "."}; {missing} not found) to '
          f'{args.out_list}\nCheck them with:\n  python '
          f'tools/data/check_dataset.py {args.config} --split {args.split} '
          f'--cfg-options {args.split}_dataloader.dataset.ann_file='
          f'{args.out_list}' +
          ''.join(f' {k}={v}' for k, v in (args.cfg_options or {}).items()
                  if k != f'{args.split}_dataloader.dataset.ann_file'))
    return 0


if __name__ == '__main__':
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    sys.exit(main())
