"""Browse what an AVSlowFast model sees: one picture per sample of a
config's dataset after its pipeline.

For each of the first ``-n`` samples of ``<split>_dataloader.dataset``
(random ones with ``--shuffle``) the pipeline runs up to the packer
(``PackAVInputs``) and one PNG is written with a row per view: the
view's frames (uint8 RGB, before the data preprocessor's normalisation; a
subsample when the clip has more than ``--max-frames``) next to its
aligned log-mel (time x mel, normalised; x axis in seconds of the video)
and, when the pipeline makes one (training, ``with_negative=True``), the
AVS hard negative of channel 1. The title gives the file, label,
``audio_valid`` and the first-last frame time of every clip. Tests with
many views (10 clips x 3 crops) show ``--max-views`` of them, spread over
clips and crops (the title says which).

MMAction2's ``tools/visualizations/browse_dataset.py`` cannot show these
pipelines (it expects a list of frames); this tool reads the packed
inputs and undoes ``FormatShape('NCTHW')`` (view = crop x num_clips +
clip).

Unreadable files are reported and skipped (the next sample is taken).
Exit code 0 when every picture was written, 1 when fewer than ``-n``
could be made, 2 for usage errors.

Usage::

    python tools/visualizations/browse_dataset.py \\
        configs/avslowfast_demo.py --split train
    python tools/visualizations/browse_dataset.py \\
        configs/avslowfast_demo.py --split test -n 4 \\
        --out work_dirs/browse_test
    python tools/visualizations/browse_dataset.py \\
        configs/avslowfast_r50_kinetics.py --split test --max-views 6 \\
        --shuffle --seed 0
"""
import argparse
import os
import os.path as osp
import random
import sys

# Matplotlib without a display, set before anything imports pyplot.
os.environ.setdefault('MPLBACKEND', 'Agg')


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='MMAction2 config file')
    parser.add_argument(
        '--split', '--phase', default='train',
        choices=('train', 'val', 'test'),
        help='which <split>_dataloader.dataset to browse (default: train)')
    parser.add_argument(
        '-n', '--show-number', dest='num', type=int, default=8,
        help='samples to show (default: 8; fewer if the dataset is smaller)')
    parser.add_argument(
        '--out', '--output-dir', default='work_dirs/browse_dataset',
        help='folder for the PNG files (default: work_dirs/browse_dataset)')
    parser.add_argument('--shuffle', action='store_true',
                        help='random samples instead of the first n')
    parser.add_argument(
        '--seed', type=int, default=None,
        help='seed of --shuffle and of the pipeline\'s random augmentations '
        '(frame sampling, AVS negative, crops); default: unseeded')
    parser.add_argument(
        '--max-views', type=int, default=6,
        help='views shown per sample, spread over clips and crops '
        '(default: 6; a 10-clip x 3-crop test has 30)')
    parser.add_argument(
        '--max-frames', type=int, default=8,
        help='frames shown per view, spread over the clip (default: 8)')
    parser.add_argument(
        '--label-map',
        help='class names, one per line (default: label_map.txt next to the '
        'annotation file, if there is one)')
    parser.add_argument('--dpi', type=int, default=100,
                        help='resolution of the pictures (default: 100)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.dataset.ann_file=list.txt)')
    args = parser.parse_args(argv)
    for name in ('num', 'max_views', 'max_frames', 'dpi'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def build_dataset(cfg, split: str):
    """``cfg.<split>_dataloader.dataset`` built in the config's scope."""
    from mmaction.registry import DATASETS
    from mmengine.registry import init_default_scope

    import mmaction_avslowfast  # noqa: F401 - registers the plugin
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise ValueError(f'the config has no {split}_dataloader.dataset')
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    return DATASETS.build(loader['dataset'])


def read_class_names(path, dataset_cfg):
    """Names from ``path``, else from ``label_map.txt`` beside the
    annotation file (the demo data layout), else None."""
    if path is None:
        ann = dataset_cfg.get('ann_file') or ''
        ann = osp.join(dataset_cfg.get('data_root') or '', ann)
        path = osp.join(osp.dirname(ann), 'label_map.txt')
        if not ann or not osp.isfile(path):
            return None
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def sample_order(size: int, shuffle: bool, seed=None) -> list:
    """Dataset indices in browsing order."""
    order = list(range(size))
    if shuffle:
        random.Random(seed).shuffle(order)
    return order


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (the pipelines' random draws)."""
    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def picture_name(split: str, sample) -> str:
    """``<split>_<index>_<video name>.png``."""
    stem = osp.splitext(osp.basename(str(
        sample.info.get('filename', 'sample'))))[0]
    return f'{split}_{sample.index:05d}_{stem}.png'


def describe(sample, max_views: int) -> str:
    """File, views shown and audio channels of a sample, in one line."""
    num_views = sample.imgs.shape[0]
    views = f'{min(num_views, max_views)} of {num_views} views'
    if num_views > max_views:
        views += f' (--max-views {max_views})'
    if sample.audios is None:
        audio = 'no audio'
    else:
        audio = 'log-mel' + (' + AVS negative'
                             if sample.audios.shape[1] == 2 else '')
        if not sample.info.get('audio_valid', True):
            audio += ' (audio_valid=False: silence)'
    return f'{sample.info.get("filename", "?")}, {views}, {audio}'


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config

    from mmaction_avslowfast.datasets import UnreadableMediaError
    from mmaction_avslowfast.visualization.browse import (browse_figure,
                                                          load_sample)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataset = build_dataset(cfg, args.split)
    class_names = read_class_names(
        args.label_map, cfg.get(f'{args.split}_dataloader')['dataset'])
    if args.seed is not None:
        seed_everything(args.seed)
    os.makedirs(args.out, exist_ok=True)
    wanted = min(args.num, len(dataset))
    written = 0
    for index in sample_order(len(dataset), args.shuffle, args.seed):
        if written == wanted:
            break
        try:
            sample = load_sample(dataset, index)
        except UnreadableMediaError as err:
            print(f'skipped sample {index}: {err}')
            continue
        if sample is None:
            print(f'skipped sample {index}: the pipeline dropped it')
            continue
        fig = browse_figure(sample, args.split, args.max_views,
                            args.max_frames, class_names, args.dpi)
        path = osp.join(args.out, picture_name(args.split, sample))
        fig.savefig(path)
        print(f'wrote {path}  ({describe(sample, args.max_views)})')
        written += 1
    print(f'{written} pictures of {args.split} samples in {args.out}'
          + ('' if written == wanted else f' ({wanted} wanted)'))
    return 0 if written == wanted else 1


if __name__ == '__main__':
    sys.exit(main())
