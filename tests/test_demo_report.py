import os.path as osp

import pytest
import torch
from mmengine.fileio import dump
from tool_helpers import load_tool

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def report():
    return load_tool('demo_report.py')


def write_dump(path, gts, preds, num_classes=3):
    results = []
    for gt, pred in zip(gts, preds):
        score = torch.zeros(num_classes)
        score[pred] = 1.0
        results.append(dict(pred_score=score, gt_label=torch.tensor([gt]),
                            pred_label=torch.tensor([pred])))
    dump(results, str(path))
    return str(path)


def test_per_class_and_overall_top1(report, tmp_path):
    gts = [0, 0, 1, 1, 2, 2, 2, 2]
    full = write_dump(tmp_path / 'av.pkl', gts, [0, 0, 1, 0, 2, 2, 2, 1])
    visual = write_dump(tmp_path / 'v.pkl', gts, [0, 1, 1, 0, 2, 0, 0, 0])
    label_map = tmp_path / 'labels.txt'
    label_map.write_text('a\nb\nc\n')
    table = report.main([full, visual, '--names', 'AV', 'visual',
                         '--label-map', str(label_map)])
    lines = table.splitlines()
    assert lines[0] == '| class | n | AV | visual |'
    assert lines[2] == '| a | 2 | 100.0 | 50.0 |'
    assert lines[3] == '| b | 2 | 50.0 | 50.0 |'
    assert lines[4] == '| c | 4 | 75.0 | 25.0 |'
    assert lines[5] == '| **overall top-1** | 8 | **75.0** | **37.5** |'
    assert lines[6] == '| mean class accuracy | | 75.0 | 41.7 |'


def test_data_option_reads_the_label_map(report, tmp_path):
    dump_file = write_dump(tmp_path / 'av.pkl', [0, 1], [0, 1], 2)
    (tmp_path / 'label_map.txt').write_text('left_low\nleft_high\n')
    table = report.main([dump_file, '--data', str(tmp_path)])
    assert '| left_high | 1 | 100.0 |' in table


def test_rejects_dump_without_predictions(report, tmp_path):
    path = tmp_path / 'bad.pkl'
    dump([dict(gt_label=torch.tensor([0]))], str(path))
    with pytest.raises(KeyError, match='pred_score'):
        report.main([str(path)])
