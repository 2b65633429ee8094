"""numpy-2-safe AVA evaluation against hand-computed APs and MMAction2's own
``ava_eval`` (where the latter works)."""
import math
import os

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import mmaction_avslowfast  # noqa: F401
from mmaction.evaluation.functional import ava_eval as mmaction_ava_eval
from mmaction.registry import METRICS
from mmaction_avslowfast.evaluation import average_precision, ava_eval

LABEL_MAP = """item {
  name: "bend/bow (at the waist)"
  id: 1
}
item {
  name: "carry/hold (an object)"
  id: 17
}
item {
  name: "watch (a person)"
  id: 80
}
"""
BOX_A = (0.1, 0.1, 0.5, 0.9)
BOX_B = (0.5, 0.2, 0.9, 0.8)


def _row(vid, ts, box, label, *rest):
    return ','.join([vid, f'{ts:04d}'] + [f'{v:.3f}' for v in box] +
                    [str(label)] + [str(r) for r in rest])


@pytest.fixture
def ava_files(tmp_path):
    label_file = tmp_path / 'labels.pbtxt'
    label_file.write_text(LABEL_MAP)
    ann_file = tmp_path / 'gt.csv'
    ann_file.write_text('\n'.join([
        _row('vid', 902, BOX_A, 1, 0),
        _row('vid', 902, BOX_B, 17, 1),
        _row('vid', 903, BOX_A, 1, 0),
    ]) + '\n')
    exclude_file = tmp_path / 'excluded.csv'
    exclude_file.write_text('vid,0910\n')
    return str(label_file), str(ann_file), str(exclude_file)


def _write_dets(path, with_unmatched_class):
    rows = [
        _row('vid', 902, BOX_A, 1, 0.9),   # TP
        _row('vid', 902, BOX_B, 1, 0.8),   # FP (wrong class for box B)
        _row('vid', 903, BOX_A, 1, 0.7),   # TP
        _row('vid', 902, BOX_B, 17, 0.6),  # TP
    ]
    if with_unmatched_class:
        rows.append(_row('vid', 902, BOX_A, 80, 0.5))  # class without GT
    path.write_text('\n'.join(rows) + '\n')
    return str(path)


def test_average_precision_nan_without_gt():
    assert math.isnan(average_precision(None, None))
    with pytest.raises(ValueError):
        average_precision(None, np.zeros(1))
    assert average_precision(np.array([1., .5]), np.array([.5, .5])) == .5


def test_hand_computed_map_with_class_without_gt(ava_files, tmp_path):
    label_file, ann_file, exclude_file = ava_files
    dets = _write_dets(tmp_path / 'dets.csv', with_unmatched_class=True)
    res = ava_eval(dets, label_file, ann_file, exclude_file, verbose=False)
    # class 1: TP .9, FP .8, TP .7 with 2 GT -> AP = .5 * 1 + .5 * 2/3
    ap1 = 0.5 + 0.5 * 2 / 3
    assert res['person_movement'] == pytest.approx(ap1)
    assert res['object_manipulation'] == pytest.approx(1.0)
    assert math.isnan(res['person_interaction'])  # class 80 has no GT
    assert res['overall'] == pytest.approx((ap1 + 1.0) / 2)


def test_matches_mmaction_where_it_works(ava_files, tmp_path):
    label_file, ann_file, exclude_file = ava_files
    dets = _write_dets(tmp_path / 'dets.csv', with_unmatched_class=False)
    ours = ava_eval(dets, label_file, ann_file, exclude_file, verbose=False,
                    num_workers=2)
    with pytest.warns(RuntimeWarning):  # nanmean of an empty group
        theirs = mmaction_ava_eval(dets, 'mAP', label_file, ann_file,
                                   exclude_file, verbose=False)
    assert set(ours) == set(theirs)
    for key in ours:
        assert np.allclose(ours[key], theirs[key], equal_nan=True), key


def test_custom_classes(ava_files, tmp_path):
    label_file, ann_file, exclude_file = ava_files
    dets = _write_dets(tmp_path / 'dets.csv', with_unmatched_class=True)
    res = ava_eval(dets, label_file, ann_file, exclude_file,
                   custom_classes=[0, 17], verbose=False)
    assert res['overall'] == pytest.approx(1.0)
    with pytest.raises(ValueError, match='not in the label map'):
        ava_eval(dets, label_file, ann_file, custom_classes=[0, 5])


def test_robust_metric_end_to_end(ava_files, tmp_path, monkeypatch):
    label_file, ann_file, exclude_file = ava_files
    monkeypatch.chdir(tmp_path)
    # whatever default scope an earlier test left (e.g. 'mmengine')
    init_default_scope('mmaction')
    metric = METRICS.build(
        dict(type='RobustAVAMetric', ann_file=ann_file,
             exclude_file=exclude_file, label_file=label_file,
             num_classes=81, verbose=False))
    # Scores over 81 classes: box A scores class 1 and (no-GT) class 80,
    # box B scores class 17; everything else below action_thr.
    scores = torch.zeros(2, 81)
    scores[0, 1], scores[0, 80], scores[1, 17] = 0.9, 0.4, 0.8
    bboxes = torch.tensor([BOX_A, BOX_B])
    samples = [
        dict(video_id='vid', timestamp=902,
             pred_instances=dict(bboxes=bboxes, scores=scores)),
        dict(video_id='vid', timestamp=903,
             pred_instances=dict(bboxes=bboxes[:1], scores=scores[:1])),
    ]
    metric.process({}, samples)
    res = metric.evaluate(len(samples))
    assert res['mAP/overall'] == pytest.approx(1.0)
    assert math.isnan(res['mAP/person_interaction'])
    assert not [f for f in os.listdir(tmp_path) if f.startswith('AVA_')]
