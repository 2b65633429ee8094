"""tools/data/build_video_list.py on an official-format Kinetics set: class
folders named as MMAction2's download.py names them, the official CSV
header, clips of several containers (one AVI+MP3, one without audio)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from tool_helpers import REPO, load_tool

from mmaction_avslowfast.testing.synthetic_media import write_av_video

HEADER = 'label,youtube_id,time_start,time_end,split\n'
# (label, youtube_id, start, end, split, extension, with_audio)
CLIPS = [
    ('air drumming', 'abcdefghijk', 10, 20, 'train', 'avi', True),
    ('abseiling', '0347ZoDXyP0', 95, 105, 'train', 'mp4', True),
    ('abseiling', '-3B32lodo2M', 0, 10, 'train', 'mp4', False),
    ('passing American football (in game)', 'q_2Ay5NQr1c', 5, 15, 'train',
     'webm', True),
    ('abseiling', 'valvalvalv1', 30, 40, 'val', 'mp4', True),
    ('air drumming', 'valvalvalv2', 1, 11, 'val', 'mkv', True),
]
SPLIT_FILES = {'train': 'kinetics_train.csv', 'val': 'kinetics_val.csv',
               'test': 'kinetics_test.csv'}


def stem(youtube_id, start, end):
    return f'{youtube_id}_{start:06d}_{end:06d}'


def csv_row(label, youtube_id, start, end, split):
    quoted = f'"{label}"' if ' ' in label else label
    return f'{quoted},{youtube_id},{start},{end},{split}\n'


@pytest.fixture(scope='module')
def kinetics(tmp_path_factory):
    """``data/kinetics400`` as MMAction2 lays it out (class folders with
    ``_`` for spaces, official CSVs under ``annotations/``)."""
    root = tmp_path_factory.mktemp('k400')
    data = root / 'data' / 'kinetics400'
    (data / 'annotations').mkdir(parents=True)
    rows = {split: [HEADER] for split in SPLIT_FILES}
    for seed, (label, yid, start, end, split, ext, audio) in enumerate(CLIPS):
        rows[split].append(csv_row(label, yid, start, end, split))
        folder = data / f'videos_{split}' / label.replace(' ', '_')
        write_av_video(
            str(folder / f'{stem(yid, start, end)}.{ext}'), duration=2.5,
            fps=30, size=(64, 48), with_audio=audio, color_seed=seed,
            sample_rate=48000 if ext == 'webm' else 16000)
    rows['test'].append(csv_row('abseiling', 'testtesttes', 0, 10, 'test'))
    for split, name in SPLIT_FILES.items():
        (data / 'annotations' / name).write_text(''.join(rows[split]))
    return root


def test_lists_match_mmaction2_and_pass_the_check(kinetics, tmp_path,
                                                  capfd):
    tool = load_tool('data/build_video_list.py')
    data = kinetics / 'data' / 'kinetics400'
    train, val = tmp_path / 'train.txt', tmp_path / 'val.txt'
    classes = tmp_path / 'classes.txt'
    assert tool.main([str(data / 'videos_train'), str(train),
                      '--write-classes', str(classes)]) == 0
    assert tool.main([str(data / 'videos_val'), str(val),
                      '--classes', str(classes)]) == 0
    out = capfd.readouterr().out
    assert 'Wrote 4 videos of 3 classes' in out and 'Classes: 3' in out
    assert classes.read_text().split() == [
        'abseiling', 'air_drumming', 'passing_American_football_(in_game)']
    assert train.read_text().splitlines() == [
        'abseiling/-3B32lodo2M_000000_000010.mp4 0',
        'abseiling/0347ZoDXyP0_000095_000105.mp4 0',
        'air_drumming/abcdefghijk_000010_000020.avi 1',
        'passing_American_football_(in_game)/'
        'q_2Ay5NQr1c_000005_000015.webm 2']
    assert val.read_text().splitlines() == [
        'abseiling/valvalvalv1_000030_000040.mp4 0',
        'air_drumming/valvalvalv2_000001_000011.mkv 1']

    # MMAction2's own build_file_list.py (run as its generate_videos_
    # filelist.sh does, from the folder holding data/) writes the same
    # lines: the same paths and the same class index.
    import mmaction
    mim = osp.join(osp.dirname(mmaction.__file__), '.mim')
    for split, ours in (('train', train), ('val', val)):
        subprocess.run(
            [sys.executable, osp.join(mim, 'tools', 'data',
                                      'build_file_list.py'),
             'kinetics400', f'data/kinetics400/videos_{split}/', '--level',
             '2', '--format', 'videos', '--num-split', '1', '--subset',
             split], cwd=kinetics, check=True, capture_output=True,
            env=dict(os.environ, PYTHONPATH=mim))
        theirs = data / f'kinetics400_{split}_list_videos.txt'
        assert sorted(theirs.read_text().splitlines()) == \
            ours.read_text().splitlines()

    # check_dataset.py reads the list through the Kinetics config and
    # finds the clip without an audio stream, and nothing bad.
    check = load_tool('data/check_dataset.py')
    assert check.main([
        osp.join(REPO, 'configs', 'avslowfast_r50_kinetics.py'), '--workers',
        '1', '--out', str(tmp_path / 'check'), '--cfg-options',
        f'train_dataloader.dataset.ann_file={train}',
        f'train_dataloader.dataset.data_prefix.video={data / "videos_train"}'
    ]) == 0
    with open(tmp_path / 'check' / 'check_train.json') as f:
        report = json.load(f)
    assert report['summary']['bad_files'] == 0
    assert {rec['path']: rec['has_audio'] for rec in report['files']} == {
        line.split()[0]: 'abseiling/-3B32' not in line
        for line in train.read_text().splitlines()}
    assert report['summary']['flag_counts']['no_audio'] == 1


def test_flat_folder_with_the_official_csv(kinetics, tmp_path, capfd):
    """A flat mirror: classes from the CSV, the same labels; a clip the CSV
    does not name is left out and named; --level 1 needs the CSV."""
    tool = load_tool('data/build_video_list.py')
    data = kinetics / 'data' / 'kinetics400'
    flat = tmp_path / 'train'
    flat.mkdir()
    for folder in (data / 'videos_train').iterdir():
        for video in folder.iterdir():
            (flat / video.name).symlink_to(video)
    (flat / 'notinthecsv_000000_000010.mp4').write_bytes(b'')
    out = tmp_path / 'flat.txt'
    assert tool.main([str(flat), str(out), '--level', '1', '--annotation',
                      str(data / 'annotations' / 'kinetics_train.csv')]) == 0
    assert 'left out, not in the annotation: 1' in capfd.readouterr().out
    assert out.read_text().splitlines() == [
        '-3B32lodo2M_000000_000010.mp4 0', '0347ZoDXyP0_000095_000105.mp4 0',
        'abcdefghijk_000010_000020.avi 1', 'q_2Ay5NQr1c_000005_000015.webm 2']
    with pytest.raises(SystemExit):
        tool.main([str(flat), str(out), '--level', '1'])


def test_a_class_folder_with_a_space_writes_nothing(tmp_path, capfd):
    tool = load_tool('data/build_video_list.py')
    (tmp_path / 'videos' / 'air drumming').mkdir(parents=True)
    (tmp_path / 'videos' / 'air drumming' / 'a_000000_000010.mp4').touch()
    out = tmp_path / 'list.txt'
    assert tool.main([str(tmp_path / 'videos'), str(out)]) == 1
    assert 'rename_classnames.sh' in capfd.readouterr().err
    assert not out.exists()
