"""tools/data/list_split_videos.py on official-format EPIC-Kitchens-100 and
Charades fixtures (official file names and CSV headers), and
check_dataset.py on the list it writes."""
import json
import os
import os.path as osp

import pytest
from tool_helpers import REPO, load_tool

from mmaction_avslowfast.testing.synthetic_charades import \
    write_charades_fixture
from mmaction_avslowfast.testing.synthetic_epic import write_epic_fixture


@pytest.fixture(scope='module')
def tool():
    return load_tool('data/list_split_videos.py')


def test_epic_videos_then_check_names_the_missing_one(tool, tmp_path,
                                                      capfd):
    epic = write_epic_fixture(str(tmp_path / 'epic'))
    config = osp.join(REPO, 'configs', 'avslowfast_r50_epic100.py')
    options = [f'train_dataloader.dataset.ann_file={epic["train_csv"]}',
               f'train_dataloader.dataset.data_prefix.video='
               f'{epic["video_root"]}']
    os.remove(osp.join(epic['video_root'], 'P01', 'videos', 'P01_02.MP4'))
    out = tmp_path / 'epic_train_videos.txt'
    assert tool.main([config, str(out), '--cfg-options', *options]) == 0
    printed = capfd.readouterr().out
    assert 'Wrote 2 videos (5 samples of the train split' in printed
    assert '1 not found' in printed
    # every video of the train CSV once, in order, the missing one too
    assert out.read_text().splitlines() == [
        'P01/videos/P01_01.MP4', 'P01/videos/P01_02.MP4']

    check = load_tool('data/check_dataset.py')
    assert check.main([config, '--workers', '1', '--out',
                       str(tmp_path / 'check'), '--cfg-options',
                       options[1],
                       f'train_dataloader.dataset.ann_file={out}']) == 0
    with open(tmp_path / 'check' / 'check_train.json') as f:
        records = {rec['path']: rec for rec in json.load(f)['files']}
    assert records['P01/videos/P01_02.MP4']['flags'] == ['missing']
    present = records['P01/videos/P01_01.MP4']
    assert not present['bad'] and present['has_audio']
    assert present['num_frames'] == 30 * 12


def test_charades_videos_of_the_test_csv(tool, tmp_path):
    fixture = write_charades_fixture(
        str(tmp_path / 'charades'),
        train={'46GP8': ([(92, 0.0, 2.0)], 2.0, 0.0)},
        test={'YSKX3': ([], 2.0, 0.0), '0A8CF': ([(3, 0.5, 1.5)], 2.0, 0.0)})
    out = tmp_path / 'charades_test_videos.txt'
    assert tool.main([
        osp.join(REPO, 'configs', 'avslowfast_r50_charades.py'), str(out),
        '--split', 'test', '--cfg-options',
        f'test_dataloader.dataset.ann_file={fixture["test_csv"]}',
        f'test_dataloader.dataset.data_prefix.video={fixture["video_dir"]}'
    ]) == 0
    assert out.read_text().splitlines() == ['YSKX3.mp4', '0A8CF.mp4']
