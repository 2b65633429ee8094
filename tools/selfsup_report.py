"""The table of the self-supervised demo (``tools/selfsup_demo.sh``), read
from the JSON logs that ``mim test`` writes into its work dirs
(``<work_dir>/<timestamp>/<timestamp>.json`` or ``.../vis_data/*.json``:
one JSON dict per line; the test metrics are the last line)::

    python tools/selfsup_report.py --avs work_dirs/selfsup/pretrain_test \
        --probe-pretrained work_dirs/selfsup/probe_pretrained_test \
        --probe-random work_dirs/selfsup/probe_random_test [--wall-time 812]

Prints a Markdown table: held-out ``avs/sync_acc_easy`` / ``_hard`` /
``avs/sync_acc`` of the pre-trained model, linear-probe top-1 of the
pre-trained and of the randomly initialised backbone and their difference
in points, each with the demo's target and whether it was met.
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

#: Targets of the demo (issue 12): each met when value >= target.
TARGETS = dict(sync_acc_easy=0.90, sync_acc_hard=0.80, probe_gap=20.0)


def last_metrics(work_dir: str, key: str) -> Dict[str, float]:
    """The last JSON log line under ``work_dir`` that has ``key``.

    Raises:
        FileNotFoundError: no JSON log under ``work_dir``.
        KeyError: no log line with ``key`` (names the files read).
    """
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')) +
                   glob.glob(osp.join(work_dir, '*', 'vis_data', '*.json')),
                   key=osp.getmtime)
    if not files:
        raise FileNotFoundError(
            f'no JSON log (<timestamp>/*.json) under {work_dir!r}: '
            'did mim test run with this --work-dir?')
    for path in reversed(files):
        with open(path) as f:
            lines = [line for line in f if line.strip()]
        for line in reversed(lines):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}: not a JSON log line: {err}')
            if key in record:
                return record
    raise KeyError(f'no log line with {key!r} in {files}')


def build_rows(avs: Dict, pre: Dict, rand: Dict) -> List[List[str]]:
    """Table rows ``[measure, value, target, met]``."""
    def row(name, value, target, fmt):
        met = 'yes' if value >= target else 'NO (miss)'
        return [name, fmt.format(value), '>= ' + fmt.format(target), met]

    gap = 100.0 * (pre['acc/top1'] - rand['acc/top1'])
    return [
        row('AVS sync_acc, easy negatives (held-out test)',
            avs['avs/sync_acc_easy'], TARGETS['sync_acc_easy'], '{:.3f}'),
        row('AVS sync_acc, hard negatives (held-out test)',
            avs['avs/sync_acc_hard'], TARGETS['sync_acc_hard'], '{:.3f}'),
        ['AVS sync_acc (mean of the two)', f"{avs['avs/sync_acc']:.3f}",
         '', ''],
        ['linear probe top-1, pre-trained backbone',
         f"{100 * pre['acc/top1']:.1f} %", '', ''],
        ['linear probe top-1, random-init backbone',
         f"{100 * rand['acc/top1']:.1f} %", '', ''],
        row('probe: pre-trained minus random init (points)', gap,
            TARGETS['probe_gap'], '{:.1f}'),
    ]


def format_table(rows: List[List[str]]) -> str:
    header = ['measure', 'value', 'target', 'met']
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(['---'] * len(header)) + '|']
    lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--avs', required=True,
                        help='work dir of mim test of the AVS checkpoint')
    parser.add_argument('--probe-pretrained', required=True,
                        help='work dir of mim test of the pre-trained probe')
    parser.add_argument('--probe-random', required=True,
                        help='work dir of mim test of the random-init probe')
    parser.add_argument('--wall-time', type=float,
                        help='seconds the demo took (printed below)')
    args = parser.parse_args(argv)
    avs = last_metrics(args.avs, 'avs/sync_acc')
    pre = last_metrics(args.probe_pretrained, 'acc/top1')
    rand = last_metrics(args.probe_random, 'acc/top1')
    text = format_table(build_rows(avs, pre, rand))
    if args.wall_time is not None:
        text += f'\n\nwall time: {args.wall_time:.0f} s'
    print(text)
    return text


if __name__ == '__main__':
    main()
