"""tools/selfsup_report.py: the demo table from mim test JSON logs."""
import json
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools'))
import selfsup_report  # noqa: E402


def write_log(work_dir, records, stamp='20260101_000000'):
    log = work_dir / stamp / f'{stamp}.json'
    log.parent.mkdir(parents=True)
    log.write_text('\n'.join(json.dumps(r) for r in records) + '\n')


def test_table_values_targets_and_misses(tmp_path, capsys):
    write_log(tmp_path / 'avs', [
        {'avs/sync_acc': 0.5, 'step': 1},  # an older line: not reported
        {'avs/sync_acc_easy': 0.95, 'avs/sync_acc_hard': 0.75,
         'avs/sync_acc': 0.85}])
    write_log(tmp_path / 'pre', [{'acc/top1': 0.6}])
    write_log(tmp_path / 'rand', [{'acc/top1': 0.45}])
    text = selfsup_report.main([
        '--avs', str(tmp_path / 'avs'), '--probe-pretrained',
        str(tmp_path / 'pre'), '--probe-random', str(tmp_path / 'rand'),
        '--wall-time', '812'])
    rows = {line.split(' | ')[0].strip('| '): line.split(' | ')[1:]
            for line in text.splitlines() if line.startswith('| ')}
    easy = rows['AVS sync_acc, easy negatives (held-out test)']
    assert easy[0] == '0.950' and easy[2].startswith('yes')
    hard = rows['AVS sync_acc, hard negatives (held-out test)']
    assert hard[0] == '0.750' and hard[2].startswith('NO')
    assert rows['AVS sync_acc (mean of the two)'][0] == '0.850'
    assert rows['linear probe top-1, pre-trained backbone'][0] == '60.0 %'
    assert rows['linear probe top-1, random-init backbone'][0] == '45.0 %'
    gap = rows['probe: pre-trained minus random init (points)']
    assert gap[0] == '15.0' and gap[2].startswith('NO')
    assert text.endswith('wall time: 812 s')
    assert capsys.readouterr().out.strip() == text


def test_missing_log_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        selfsup_report.last_metrics(str(tmp_path / 'nowhere'), 'acc/top1')
    write_log(tmp_path / 'w', [{'loss': 1.0}])
    with pytest.raises(KeyError, match='acc/top1'):
        selfsup_report.last_metrics(str(tmp_path / 'w'), 'acc/top1')
