"""Per-class and overall top-1 from ``mim test ... --dump <file>.pkl`` dumps.

Prints a Markdown table with one accuracy column per dump, e.g. the
audiovisual model next to its visual-only ablation::

    python tools/demo_report.py work_dirs/avslowfast_demo/test.pkl \
        work_dirs/avslowfast_demo_visual/test.pkl \
        --names audiovisual visual-only --label-map data/avdemo/label_map.txt

(``--data data/avdemo`` is short for
``--label-map data/avdemo/label_map.txt``.)

Only reads dumps written by MMAction2's test script (pickled lists of
prediction dicts with ``pred_score`` and ``gt_label``); a pickle can run code
when loaded, so do not pass files from untrusted sources.
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np


def load_predictions(path: str):
    """``(pred_labels [N], gt_labels [N])`` int arrays from a dump."""
    from mmengine.fileio import load

    results = load(path)
    if not isinstance(results, list) or not results:
        raise ValueError(f'{path}: expected a non-empty list of predictions '
                         f'(mim test --dump), got {type(results).__name__}')
    preds, gts = [], []
    for i, sample in enumerate(results):
        missing = [k for k in ('pred_score', 'gt_label') if k not in sample]
        if missing:
            raise KeyError(f'{path}: prediction {i} lacks {missing}')
        preds.append(int(np.asarray(sample['pred_score']).argmax()))
        gt = np.asarray(sample['gt_label']).reshape(-1)
        if gt.size != 1:
            raise ValueError(f'{path}: prediction {i} has a multi-label '
                             f'target; top-1 needs single labels')
        gts.append(int(gt[0]))
    return np.array(preds), np.array(gts)


def per_class_top1(preds: np.ndarray, gts: np.ndarray,
                   num_classes: int) -> Dict[int, Optional[float]]:
    """Top-1 of every class (None for classes without samples)."""
    return {
        c: (float((preds[gts == c] == c).mean()) if (gts == c).any() else None)
        for c in range(num_classes)
    }


def read_label_map(path: Optional[str]) -> Optional[List[str]]:
    if path is None:
        return None
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def format_table(columns: Dict[str, tuple], class_names: Sequence[str]) -> str:
    """Markdown table: rows = classes + overall + mean class accuracy."""
    names = list(columns)
    lines = ['| class | n | ' + ' | '.join(names) + ' |',
             '|---|---:|' + '---:|' * len(names)]
    first_gts = next(iter(columns.values()))[1]
    for c, class_name in enumerate(class_names):
        cells = []
        for preds, gts in columns.values():
            acc = per_class_top1(preds, gts, len(class_names))[c]
            cells.append('-' if acc is None else f'{100 * acc:.1f}')
        lines.append(f'| {class_name} | {int((first_gts == c).sum())} | ' +
                     ' | '.join(cells) + ' |')
    overall = [f'**{100 * (p == g).mean():.1f}**' for p, g in columns.values()]
    lines.append(f'| **overall top-1** | {len(first_gts)} | ' +
                 ' | '.join(overall) + ' |')
    means = []
    for preds, gts in columns.values():
        accs = [a for a in per_class_top1(preds, gts,
                                          len(class_names)).values()
                if a is not None]
        means.append(f'{100 * np.mean(accs):.1f}')
    lines.append('| mean class accuracy | | ' + ' | '.join(means) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dumps', nargs='+', help='pkl files of mim test')
    parser.add_argument('--names', nargs='+', help='column names')
    parser.add_argument('--label-map', help='class names, one per line')
    parser.add_argument(
        '--data', help='demo data folder; reads its label_map.txt '
        '(same as --label-map DATA/label_map.txt)')
    args = parser.parse_args(argv)
    if args.data and not args.label_map:
        args.label_map = osp.join(args.data, 'label_map.txt')
    names = args.names or args.dumps
    if len(names) != len(args.dumps):
        parser.error(f'{len(args.dumps)} dumps but {len(names)} --names')
    columns = {
        name: load_predictions(path)
        for name, path in zip(names, args.dumps)
    }
    class_names = read_label_map(args.label_map)
    num_classes = max(int(max(p.max(), g.max())) for p, g in
                      columns.values()) + 1
    if class_names is None:
        class_names = [str(c) for c in range(num_classes)]
    elif len(class_names) < num_classes:
        parser.error(f'{args.label_map} names {len(class_names)} classes but '
                     f'the dumps use label {num_classes - 1}')
    table = format_table(columns, class_names)
    print(table)
    return table


if __name__ == '__main__':
    main()
