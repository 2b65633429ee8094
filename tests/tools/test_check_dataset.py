"""tools/data/check_dataset.py on the defect folder of
make_defect_dataset.py."""
import csv
import json
import os.path as osp

import pytest
from tool_helpers import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Flags each file of tools/make_defect_dataset.py must get, no more.
EXPECTED = {
    'good_0.mp4': [],
    'good_1.mp4': [],
    'sub/good_2.mp4': [],
    'good_3.avi': [],
    'no_audio.mp4': ['no_audio'],
    'silent_audio.mp4': ['silent_audio'],
    'late_audio.mp4': ['audio_offset'],
    'short_audio.mp4': ['audio_shorter'],
    'too_short.mp4': ['too_short'],
    'truncated.mp4': ['unreadable'],
    'empty.mp4': ['empty'],
    'not_a_video.mp4': ['not_a_video'],
    'missing.mp4': ['missing'],
    'corrupt_frames.mp4': ['undecodable_frames'],
    'garbled_keyframe.mp4': ['undecodable_frames'],
}
BAD = {'truncated.mp4', 'empty.mp4', 'not_a_video.mp4', 'missing.mp4',
       'corrupt_frames.mp4', 'garbled_keyframe.mp4'}

CONFIG = """custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)
train_dataloader = dict(dataset=dict(
    type='VideoDataset', ann_file={ann!r}, data_prefix=dict(video={root!r}),
    multi_class={multi_class}, num_classes=10,
    pipeline=[dict(type='DecordInit'),
              dict(type='SampleFrames', clip_len=8, frame_interval=2,
                   num_clips=1)]))
val_dataloader = dict(dataset=dict(
    type='AnyDatasetType', ann_file='nowhere.txt',
    data_prefix=dict(video='nowhere'), test_mode=True,
    pipeline=[dict(type='UntrimmedSampleFrames', clip_len=8,
                   frame_interval=2)]))
"""


@pytest.fixture(scope='module')
def defects(tmp_path_factory):
    """The defect folder, a list with extra columns, a duplicate and a
    label-less line, and a minimal config over it."""
    out = tmp_path_factory.mktemp('defects')
    entries = load_tool('make_defect_dataset.py').make_defect_dataset(str(out))
    assert [rel for rel, _, _ in entries] == list(EXPECTED)
    lines = [f'{rel} {label}\n' for rel, label, _ in entries]
    lines[1] = 'good_1.mp4 1 4\n'  # several labels
    lines[4] = 'no_audio.mp4\n'  # no label
    lines.append('missing.mp4 5\n')  # a bad file listed twice
    ann = out / 'my_list.txt'
    ann.write_text(''.join(lines))
    config = out / 'cfg.py'
    config.write_text(CONFIG.format(ann=str(ann), root=str(out / 'videos'),
                                    multi_class=True))
    return dict(out=out, ann=ann, lines=lines, config=str(config))


def run(tool, argv, capfd):
    assert tool.main(argv) == 0
    captured = capfd.readouterr()
    return captured.out, captured.err


@pytest.fixture(scope='module')
def tool():
    return load_tool('data/check_dataset.py')


@pytest.fixture
def report(tool, defects, tmp_path, capfd):
    out, err = run(tool, [defects['config'], '--out', str(tmp_path),
                          '--workers', '1'], capfd)
    with open(tmp_path / 'check_train.json') as f:
        data = json.load(f)
    return dict(stdout=out, stderr=err, json=data, dir=tmp_path)


def test_flags_per_file(report):
    records = {rec['path']: rec for rec in report['json']['files']}
    assert list(records) == list(EXPECTED)  # list order, duplicates once
    assert {p: r['flags'] for p, r in records.items()} == EXPECTED
    assert {p for p, r in records.items() if r['bad']} == BAD
    good = records['good_1.mp4']
    assert (good['num_frames'], good['fps'], good['width'], good['height'],
            good['duration']) == (24, 16.0, 64, 48, 1.5)
    assert (good['sample_rate'], good['channels']) == (44100, 2)
    assert good['audio_duration'] == pytest.approx(1.5, abs=0.1)
    assert good['audio_offset'] == 0 and good['audio_peak'] > 0.3
    # 0.5 s late minus the AAC priming (1024 samples at 16 kHz)
    assert records['late_audio.mp4']['audio_offset'] == pytest.approx(
        0.5 - 1024 / 16000, abs=0.01)
    assert records['silent_audio.mp4']['audio_peak'] < 1e-4
    reasons = {p: r['reasons'] for p, r in records.items()}
    assert reasons['too_short.mp4']['too_short'] == \
        '8 frames < one clip of 16 frames'
    # a damaged container and a file that is not a video at all
    assert reasons['truncated.mp4']['unreadable'].startswith(
        'truncated or corrupt MP4/MOV container')
    assert 'moov atom not found' in reasons['truncated.mp4']['unreadable']
    assert reasons['not_a_video.mp4'] == dict(
        not_a_video='no container signature: text')
    # decord fails on the broken packets; it conceals the garbled
    # keyframe, which only PyAV's decoder reports
    assert reasons['corrupt_frames.mp4']['undecodable_frames'].startswith(
        'decord cannot decode frames 0, 16, 31 of 32')
    garbled = reasons['garbled_keyframe.mp4']['undecodable_frames']
    assert garbled.startswith('PyAV decoder:') and 'damaged frame' in garbled
    assert 'decord' not in garbled


def test_summary_csv_and_clean_list(report, defects):
    summary = report['json']['summary']
    assert summary['flag_counts'] == dict(
        missing=1, empty=1, not_a_video=1, unreadable=1,
        undecodable_frames=2, too_short=1,
        no_audio=1, audio_unreadable=0, silent_audio=1, audio_offset=1,
        audio_shorter=1)
    assert (summary['list_entries'], summary['total_files'],
            summary['bad_files'], summary['flagged_not_bad'],
            summary['clean_files']) == (16, 15, 6, 5, 4)
    assert summary['audio_formats'] == {
        '16000 Hz x 1 ch': 7, '22050 Hz x 1 ch': 1, '44100 Hz x 2 ch': 1,
        '48000 Hz x 1 ch': 1}
    assert summary['total_video_hours'] == pytest.approx(
        (8 * 1.5 + 0.5 + 2 * 2.0) / 3600, abs=1e-5)
    assert report['json']['clip_len'] == 8
    assert report['json']['frame_interval'] == 2

    with open(report['dir'] / 'check_train.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['path'] for r in rows] == list(EXPECTED)
    assert {r['path']: r['flags'] for r in rows} == {
        p: ';'.join(f) for p, f in EXPECTED.items()}
    assert {r['path'] for r in rows if r['bad'] == 'True'} == BAD
    assert rows[0]['file'] == str(defects['out'] / 'videos' / 'good_0.mp4')

    clean = (report['dir'] / 'my_list.clean.txt').read_text()
    assert clean == ''.join(line for line in defects['lines']
                            if line.split()[0] not in BAD)

    out = report['stdout']
    flagged = out.split('Flagged files (11 of 15):\n')[1].split('\n\n')[0]
    assert len(flagged.splitlines()) == 11
    for path, flags in EXPECTED.items():
        line = [x for x in flagged.splitlines() if f' {path}  ' in x]
        assert len(line) == bool(flags)
        if flags:
            info = flags[0] in ('audio_offset', 'audio_shorter')
            assert line[0].startswith('  [BAD ]' if path in BAD else
                                      '  [info]' if info else '  [warn]')
            assert f'{flags[0]}: ' in line[0]
    assert '| undecodable_frames                |     bad |      2 |' in out
    assert ('--cfg-options train_dataloader.dataset.ann_file='
            f'{report["dir"] / "my_list.clean.txt"} '
            'train_dataloader.dataset.data_prefix.video=') in out
    assert '6 bad and 5 otherwise flagged file(s) of 15' in out


def test_nothing_leaks_to_the_terminal(report):
    from make_defect_dataset import TEXT_CONTENT
    for stream in (report['stdout'], report['stderr']):
        assert TEXT_CONTENT.split(':')[0] not in stream
        assert 'list of notes' not in stream
    # decord's and FFmpeg's diagnostics (decord errors, h264 messages)
    assert '[h264 @' not in report['stderr']
    assert 'video_reader.cc' not in report['stderr']
    assert '15/15' in report['stderr']  # the progress bar


def _without_timing(data):
    for rec in data['files']:
        rec.pop('check_seconds')
    return data['files'], data['summary']


def test_workers_and_cfg_options_give_the_same_report(
        tool, report, defects, tmp_path, capfd):
    out2 = tmp_path / 'w2'
    stdout, _ = run(tool, [
        defects['config'], '--split', 'val', '--out', str(out2),
        '--workers', '2', '--cfg-options',
        f'val_dataloader.dataset.ann_file={defects["ann"]}',
        f'val_dataloader.dataset.data_prefix.video={defects["out"]}/videos',
        'val_dataloader.dataset.multi_class=True'
    ], capfd)
    with open(out2 / 'check_val.json') as f:
        assert _without_timing(json.load(f)) == _without_timing(
            report['json'])
    assert 'with 2 worker(s)' in stdout
    assert (out2 / 'my_list.clean.txt').read_text() == (
        report['dir'] / 'my_list.clean.txt').read_text()
    assert 'val_dataloader.dataset.ann_file=' in stdout


def test_drop_short_and_full_decode(tool, defects, tmp_path, capfd):
    stdout, _ = run(tool, [defects['config'], '--out', str(tmp_path),
                           '--drop-short', '--full-decode'], capfd)
    with open(tmp_path / 'check_train.json') as f:
        data = json.load(f)
    assert {r['path']: r['flags'] for r in data['files']} == EXPECTED
    assert {r['path'] for r in data['files'] if r['bad']} == BAD | {
        'too_short.mp4'}
    assert data['summary']['flag_kinds']['too_short'] == 'bad'
    assert data['options']['full_decode'] is True
    assert 'too_short.mp4' not in (tmp_path /
                                   'my_list.clean.txt').read_text()


def test_demo_config_split_and_bad_list(tool, defects, tmp_path, capfd):
    from mmengine.config import Config
    demo = osp.join(ROOT, 'configs', 'avslowfast_demo.py')
    step = next(s for s in Config.fromfile(demo).val_dataloader.dataset
                .pipeline if 'SampleFrames' in s['type'])
    clip = step['clip_len'] * step['frame_interval']
    stdout, _ = run(tool, [
        demo, '--split', 'val', '--out', str(tmp_path), '--cfg-options',
        f'val_dataloader.dataset.ann_file={defects["ann"]}',
        f'val_dataloader.dataset.data_prefix.video={defects["out"]}/videos',
        'val_dataloader.dataset.multi_class=True'
    ], capfd)
    with open(tmp_path / 'check_val.json') as f:
        records = {r['path']: r for r in json.load(f)['files']}
    assert f'one clip = {step["clip_len"]} x {step["frame_interval"]}' \
        in stdout
    short = {p for p, r in records.items()
             if r['num_frames'] and r['num_frames'] < clip}
    assert short == {p for p, r in records.items()
                     if 'too_short' in r['flags']}

    assert tool.main([demo, '--out', str(tmp_path), '--cfg-options',
                      'train_dataloader.dataset.ann_file=/no/such.txt']) == 1
    assert 'cannot read the train list' in capfd.readouterr().err


def test_lines_video_dataset_cannot_parse(tool, defects, tmp_path, capfd):
    """A path with a space, or several labels without multi_class, make
    VideoDataset fail on the whole list: reported by line, left out."""
    ann = tmp_path / 'spaces.txt'
    ann.write_text('good_0.mp4 0\nsub dir/x.mp4 1\ngood_1.mp4 1 4\n'
                   'no_audio.mp4\n')
    config = tmp_path / 'cfg.py'
    config.write_text(CONFIG.format(ann=str(ann), multi_class=False,
                                    root=str(defects['out'] / 'videos')))
    out, _ = run(tool, [str(config), '--out', str(tmp_path), '--workers',
                        '1'], capfd)
    assert "line 2 of the list: 'sub dir/x.mp4 1'" in out
    assert "line 3 of the list: 'good_1.mp4 1 4'" in out
    assert 'cannot parse' in out
    clean = (tmp_path / 'spaces.clean.txt').read_text()
    assert clean == 'good_0.mp4 0\nno_audio.mp4\n'


def test_folder_scan_of_an_unlabelled_dataset(tool, defects, tmp_path,
                                              capfd):
    """A config whose data set scans its folder (UnlabeledAVDataset,
    scan_folder=True, no list file): every video the data set would find is
    checked (hidden files skipped), and the cleaned list, one path per
    line, works with scan_folder=False."""
    videos = defects['out'] / 'videos'
    (videos / '._good_0.mp4').write_bytes(b'resource fork')  # skipped
    config = osp.join(ROOT, 'configs', 'avslowfast_demo_avs_pretrain.py')
    stdout, _ = run(tool, [
        config, '--out', str(tmp_path), '--workers', '1', '--cfg-options',
        'train_dataloader.dataset.scan_folder=True',
        'train_dataloader.dataset.ann_file=',
        f'train_dataloader.dataset.data_prefix.video={videos}'
    ], capfd)
    assert 'files of the folder scan (scan_folder=True)' in stdout
    with open(tmp_path / 'check_train.json') as f:
        records = {r['path']: r for r in json.load(f)['files']}
    on_disk = {p: flags for p, flags in EXPECTED.items()
               if p != 'missing.mp4'}
    assert {p: r['flags'] for p, r in records.items()} == on_disk
    clean = (tmp_path / 'train_scan.clean.txt').read_text().splitlines()
    assert clean == sorted(set(on_disk) - BAD)
    assert 'train_dataloader.dataset.scan_folder=False' in stdout


def test_a_large_share_without_audio_names_the_likely_cause(
        tool, defects, tmp_path, capfd):
    """The defect folder has one readable file without audio of nine: no
    hint. A list of copies resized MMAction2's way (audio stripped) gets
    the line that names MMAction2's resize script and ours."""
    from mmaction_avslowfast.testing.synthetic_media import write_av_video
    report, _ = run(tool, [defects['config'], '--out', str(tmp_path / 'a'),
                           '--workers', '1'], capfd)
    assert 'have no audio stream' not in report

    stripped = tmp_path / 'resized'
    stripped.mkdir()
    names = [f'clip{i}.mp4' for i in range(4)]
    for i, name in enumerate(names):
        write_av_video(str(stripped / name), duration=1.0, fps=16,
                       size=(32, 32), with_audio=i == 0)
    ann = tmp_path / 'resized.txt'
    ann.write_text(''.join(f'{name} 0\n' for name in names))
    config = tmp_path / 'resized_cfg.py'
    config.write_text(CONFIG.format(ann=str(ann), root=str(stripped),
                                    multi_class=False))
    report, _ = run(tool, [str(config), '--out', str(tmp_path / 'b'),
                           '--workers', '1'], capfd)
    hint = [line for line in report.splitlines()
            if 'have no audio stream' in line]
    assert hint and hint[0].startswith('3 of 4 readable files (75 %)')
    assert "MMAction2's tools/data/resize_videos.py" in hint[0]
    assert 'ffmpeg -an' in hint[0]
