"""Charades (v1) multi-label classification with audio."""
import csv
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import print_log

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from .annotation_csv import check_header
from .transforms.charades_labels import CharadesClipLabel, multi_hot
from .unreadable import UnreadableSampleMixin

CLASSES_FILE = 'Charades_v1_classes.txt'


def parse_actions(text: str, num_classes: int, where: str):
    """``'c092 11.90 21.20;c147 0.00 12.60'`` -> (labels int64 ``[K]``,
    spans float32 ``[K, 2]``); ``''`` -> empty arrays.

    Raises:
        ValueError: naming ``where`` (file and line) for a malformed entry,
            a class id outside ``[0, num_classes)`` or ``end < start``.
    """
    labels, spans = [], []
    for entry in filter(None, (e.strip() for e in text.split(';'))):
        parts = entry.split()
        try:
            if len(parts) != 3 or parts[0][:1] != 'c':
                raise ValueError
            label, start, end = int(parts[0][1:]), float(parts[1]), \
                float(parts[2])
        except ValueError:
            raise ValueError(f'{where}: malformed action {entry!r}; expected '
                             f'"cNNN start end"') from None
        if not 0 <= label < num_classes:
            raise ValueError(f'{where}: action class {parts[0]!r} is outside '
                             f'c000..c{num_classes - 1:03d}')
        if not (np.isfinite(start) and np.isfinite(end)) or end < start:
            raise ValueError(f'{where}: action {entry!r} ends before it '
                             f'starts (or has a non-finite time)')
        labels.append(label)
        spans.append((start, end))
    return (np.asarray(labels, np.int64),
            np.asarray(spans, np.float32).reshape(-1, 2))


def read_classes(path: str, num_classes: int) -> List[str]:
    """Class names of ``Charades_v1_classes.txt`` (``cNNN name`` lines, in
    order ``c000`` .. ``c{num_classes - 1}``)."""
    names = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            code, _, name = line.strip().partition(' ')
            if code != f'c{len(names):03d}':
                raise ValueError(f'{path}:{lineno}: expected class '
                                 f'c{len(names):03d}, found {code!r}')
            names.append(name.strip())
    if len(names) != num_classes:
        raise ValueError(f'{path}: {len(names)} classes, but '
                         f'num_classes={num_classes}')
    return names


@DATASETS.register_module()
class CharadesDataset(UnreadableSampleMixin, BaseActionDataset):
    """Charades v1 videos with their multi-label action annotation.

    Reads the official ``Charades_v1_train.csv`` / ``Charades_v1_test.csv``
    by header with the ``csv`` module; only the columns ``id`` (video
    ``<data_prefix.video>/<id><suffix>``), ``actions``
    (``c092 11.90 21.20;c147 0.00 12.60``: class, start and end in
    seconds; may be empty) and ``length`` (seconds, optional) are used.
    Class names come from ``Charades_v1_classes.txt`` next to the
    annotation file when it exists (or from ``classes_file``) and go to
    ``metainfo['classes']``.

    Per sample (``get_data_info``): ``filename``, ``video_id``,
    ``action_labels`` int64 ``[K]``, ``action_spans`` float32 ``[K, 2]``,
    ``length`` (float, NaN when the column is absent), ``num_classes`` and
    ``label``: the video-level multi-hot float32 tensor ``[num_classes]``.
    The training target depends on the sampled clip and is computed after
    frame sampling by :class:`CharadesClipLabel` (it replaces ``label``);
    a training pipeline without it trains on video-level labels and a
    WARNING says so. A video without actions has an all-zero target; it
    stays in the data set (a negative for every class) and
    ``CharadesMetric`` leaves it out of the per-sample mAP.

    Unreadable videos follow ``on_unreadable`` as in ``AVVideoDataset``.

    Args:
        ann_file (str): ``Charades_v1_{train,test}.csv``.
        pipeline (list): Transforms.
        data_prefix (dict): ``dict(video=<folder of the videos>)``.
        num_classes (int): Default: 157.
        suffix (str): Video file extension. Default: ``'.mp4'``.
        classes_file (str, optional): Class list; default: the
            ``Charades_v1_classes.txt`` next to ``ann_file`` if present.
        on_unreadable (str, optional): ``'redraw'`` (training default),
            ``'miss'`` or ``'error'`` (``test_mode`` default).
        test_mode (bool): Validation / test data set. Default: False.
        **kwargs: ``BaseActionDataset`` arguments.
    """

    REQUIRED_COLUMNS = ('id', 'actions')

    def __init__(self,
                 ann_file: str,
                 pipeline: Sequence[Union[dict, Callable]],
                 data_prefix: dict = dict(video=''),
                 num_classes: int = 157,
                 suffix: str = '.mp4',
                 classes_file: Optional[str] = None,
                 **kwargs) -> None:
        self.suffix = suffix
        self.classes_file = classes_file
        super().__init__(
            ann_file,
            pipeline=pipeline,
            data_prefix=data_prefix,
            num_classes=num_classes,
            **kwargs)
        if not self.test_mode and not any(
                isinstance(t, CharadesClipLabel)
                for t in getattr(self.pipeline, 'transforms', ())):
            print_log(
                f'CharadesDataset({self.ann_file}): the training pipeline has '
                f'no CharadesClipLabel, so the targets are video-level, not '
                f'the actions of the sampled clip', logger='current',
                level=30)

    def _load_classes(self) -> None:
        path = self.classes_file or osp.join(
            osp.dirname(self.ann_file), CLASSES_FILE)
        if self.classes_file is None and not osp.isfile(path):
            return  # optional
        if not osp.isfile(path):
            raise FileNotFoundError(f'CharadesDataset: classes_file {path!r} '
                                    f'does not exist')
        self._metainfo['classes'] = tuple(read_classes(path,
                                                       self.num_classes))

    def load_data_list(self) -> List[Dict]:
        """One entry per CSV row (videos without actions included)."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'CharadesDataset: annotation file '
                                    f'{self.ann_file!r} does not exist')
        self._load_classes()
        data_list = []
        with open(self.ann_file, newline='', encoding='utf-8') as f:
            reader = csv.DictReader(f)
            check_header(reader.fieldnames, self.REQUIRED_COLUMNS,
                         self.ann_file, 'the official Charades CSV')
            for row in reader:
                where = f'{self.ann_file}:{reader.line_num}'
                video_id = (row['id'] or '').strip()
                if not video_id:
                    raise ValueError(f'{where}: empty id')
                labels, spans = parse_actions(row['actions'] or '',
                                              self.num_classes, where)
                length = (row.get('length') or '').strip()
                try:
                    length = float(length) if length else float('nan')
                except ValueError:
                    raise ValueError(f'{where}: length {length!r} is not a '
                                     f'number') from None
                filename = video_id + self.suffix
                if self.data_prefix.get('video'):
                    filename = osp.join(self.data_prefix['video'], filename)
                data_list.append(
                    dict(filename=filename, video_id=video_id,
                         action_labels=labels, action_spans=spans,
                         length=length))
        return data_list

    def get_data_info(self, idx: int) -> Dict:
        """Annotation of sample ``idx`` with its video-level ``label``
        (float32 tensor, kept as float by ``set_gt_label``, also on
        ``on_unreadable='miss'`` placeholders)."""
        info = super().get_data_info(idx)
        info['num_classes'] = self.num_classes
        info['label'] = torch.from_numpy(
            multi_hot(info['action_labels'], self.num_classes))
        return info
