"""AVA frame-mAP that runs on numpy 2 and on small machines.

MMAction2 1.2.0's ``ava_eval``
(``mmaction/evaluation/functional/ava_utils.py``) has two defects on the
pinned stack:

* ``ava_evaluation/metrics.py::compute_average_precision`` returns ``np.NAN``
  for a class that has detections but no ground truth. numpy 2 removed the
  ``np.NAN`` alias, so evaluation dies with ``AttributeError`` exactly in that
  case (common on small or custom validation sets, where a class in the label
  map has no GT box but the detector still scores it above ``action_thr``).
* it always starts ``multiprocessing.Pool(32)``, whatever the machine.

:func:`ava_eval` below is the same computation (it reuses MMAction2's CSV
readers, per-frame TP/FP matching and precision/recall) with the AP of such a
class returned as ``nan`` (so ``nanmean`` skips it, as upstream intended) and a
configurable number of worker processes. Global numpy attributes are not
touched.
"""
import multiprocessing
from collections import defaultdict
from typing import Dict, List, Optional

import numpy as np

from mmaction.evaluation.functional import ava_utils
from mmaction.evaluation.functional.ava_evaluation import metrics

# Category id ranges of AVA's three action groups (as in MMAction2).
_GROUPS = dict(
    person_movement=lambda k: k <= 14,
    object_manipulation=lambda k: 14 < k < 64,
    person_interaction=lambda k: k >= 64)


def average_precision(precision: Optional[np.ndarray],
                      recall: Optional[np.ndarray]) -> float:
    """VOC-style AP; ``nan`` when the class has no ground truth.

    ``precision``/``recall`` are ``None`` exactly when the class has no GT
    (``metrics.compute_precision_recall`` with ``num_gt == 0``); every other
    case is MMAction2's ``compute_average_precision``.
    """
    if precision is None:
        if recall is not None:
            raise ValueError('If precision is None, recall must also be None')
        return float('nan')
    return float(metrics.compute_average_precision(precision, recall))


def _read_exclusions(exclude_file: Optional[str]) -> set:
    if exclude_file is None:
        return set()
    with open(exclude_file) as f:
        return ava_utils.read_exclusions(f)


def ava_eval(result_file: str,
             label_file: str,
             ann_file: str,
             exclude_file: Optional[str] = None,
             custom_classes: Optional[List[int]] = None,
             ignore_empty_frames: bool = True,
             num_workers: int = 0,
             verbose: bool = True) -> Dict[str, float]:
    """Frame-level AVA mAP at IoU 0.5.

    Args:
        result_file (str): Detections CSV (``video_id, timestamp, x1, y1, x2,
            y2, action_id, score``), e.g. from ``results2csv``.
        label_file (str): ``.pbtxt`` label map; its ids are evaluated.
        ann_file (str): Ground-truth CSV.
        exclude_file (str, optional): Excluded timestamps CSV.
        custom_classes (list[int], optional): ``[0] + class ids`` to evaluate
            (the form ``AVAMetric`` stores). Default: all label-map classes.
        ignore_empty_frames (bool): Only evaluate frames that have GT.
            Default: True.
        num_workers (int): Processes for the per-frame matching; 0 runs it in
            this process. Default: 0.
        verbose (bool): Print per-class APs. Default: True.

    Returns:
        dict: ``overall``, ``person_movement``, ``object_manipulation``,
        ``person_interaction`` (``nan`` where no evaluated class has GT).
    """
    with open(label_file) as f:
        categories, class_whitelist = ava_utils.read_labelmap(f)
    if custom_classes is not None:
        custom_classes = list(custom_classes[1:])
        unknown = set(custom_classes) - set(class_whitelist)
        if unknown:
            raise ValueError(f'custom_classes {sorted(unknown)} are not in '
                             f'the label map {label_file}')
        class_whitelist = custom_classes
        categories = [c for c in categories if c['id'] in custom_classes]
    names = {c['id']: c['name'] for c in categories}

    with open(ann_file) as f:
        gt_bboxes, gt_labels, _ = ava_utils.read_csv(f, class_whitelist)
    if not gt_labels:
        raise ValueError(f'{ann_file} has no ground-truth box of an '
                         f'evaluated class ({label_file})')
    excluded_keys = _read_exclusions(exclude_file)
    with open(result_file) as f:
        boxes, labels, scores = ava_utils.read_csv(f, class_whitelist)

    all_gt_labels = np.concatenate(list(gt_labels.values()))
    gt_count = {k: int(np.sum(all_gt_labels == k)) for k in class_whitelist}

    if ignore_empty_frames:
        keys = [k for k in gt_bboxes if k not in excluded_keys]
    else:
        keys = [k for k in boxes if k not in excluded_keys]
    tups = [(gt_bboxes.get(k, np.zeros((0, 4), dtype=np.float32)),
             gt_labels.get(k, []), boxes[k], labels[k], scores[k])
            for k in keys]
    if num_workers > 0 and len(tups) > 1:
        with multiprocessing.Pool(min(num_workers, len(tups))) as pool:
            rets = pool.map(ava_utils.tpfp_single, tups)
    else:
        rets = [ava_utils.tpfp_single(t) for t in tups]

    cls_scores, cls_tpfps = defaultdict(list), defaultdict(list)
    for frame_scores, frame_tpfps in rets:
        for k in frame_scores:
            cls_scores[k].append(frame_scores[k])
            cls_tpfps[k].append(frame_tpfps[k])

    cls_ap = []
    for k in cls_scores:
        precision, recall = metrics.compute_precision_recall(
            np.concatenate(cls_scores[k]), np.concatenate(cls_tpfps[k]),
            gt_count[k])
        cls_ap.append((k, names[k], average_precision(precision, recall)))

    def nanmean(values):
        values = [v for v in values if not np.isnan(v)]
        return float(np.mean(values)) if values else float('nan')

    results = dict(overall=nanmean([ap for _, _, ap in cls_ap]))
    for group, member in _GROUPS.items():
        results[group] = nanmean([ap for k, _, ap in cls_ap if member(k)])
    if verbose:
        print('Per-class results: ', flush=True)
        for k, name, ap in sorted(cls_ap):
            print(f'Index: {k}, Action: {name}: AP: {ap:.4f};', flush=True)
        print('Overall Results: ', flush=True)
        for key, value in results.items():
            print(f'{key} mAP: {value:.4f}', flush=True)
    return results
