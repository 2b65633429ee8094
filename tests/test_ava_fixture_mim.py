"""End to end on the synthetic AVA fixture: `mim train` for a few iterations,
then `mim test` reporting the frame mAP through the AVA metric (~45 s on 2
CPU cores)."""
import os
import os.path as osp
import re

import pytest
from mim_helpers import call_mim_ok, find_mim
from tool_helpers import load_tool

MIM = find_mim()


def _make_fixture(out_dir):
    return load_tool('make_ava_fixture.py').make_ava_fixture(out_dir)


@pytest.mark.skipif(MIM is None, reason='openmim is not installed')
def test_mim_train_and_test_on_fixture(tmp_path):
    paths = _make_fixture(str(tmp_path / 'ava'))
    work_dir = str(tmp_path / 'work')
    train_log = call_mim_ok(
        ['train', 'mmaction', paths['config'], '--work-dir', work_dir],
        cwd=str(tmp_path))
    assert 'loss_action_cls' in train_log
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))

    test_log = call_mim_ok(
        ['test', 'mmaction', paths['config'], '--checkpoint',
         osp.join(work_dir, 'epoch_2.pth'), '--work-dir', work_dir],
        cwd=str(tmp_path))
    found = re.search(r'Epoch\(test\).*mAP/overall: ([0-9.]+)', test_log)
    assert found, test_log[-4000:]
    assert 0.0 < float(found.group(1)) <= 1.0
    # Label 1 has no GT: AP nan instead of numpy 2's np.NAN AttributeError.
    assert 'Action: bend/bow (at the waist): AP: nan' in test_log
    # No temporary AVA_*.csv left in the working directory.
    assert not [f for f in os.listdir(tmp_path) if f.startswith('AVA_')]
