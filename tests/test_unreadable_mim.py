"""``mim train`` / ``mim test`` of the demo config on a list that mixes good
videos with a truncated, a zero-byte, a non-video and a missing file (and
one video without audio), with dataloader worker processes: what the log
says (one line per file, counts in files and draws, no decoder noise) and
how a stopped ``mim test`` ends."""
import os
import os.path as osp
import pickle
import re

import numpy as np
import pytest
from mim_helpers import (find_mim, make_data, mim_on_demo_data,
                         train_on_demo_data)

from mmaction_avslowfast.testing.synthetic_media import (truncate_file,
                                                       write_av_video)

BAD = ['broken_truncated.mp4', 'broken_zero.mp4', 'broken_text.mp4',
       'broken_missing.mp4']


def write_bad_files(folder, good_file):
    truncate_file(good_file, str(folder / BAD[0]), 0.3)
    (folder / BAD[1]).write_bytes(b'')
    (folder / BAD[2]).write_text('not a video\n' * 20)


def mixed_list(src, dst, keep, bad, extra=()):
    lines = [ln for ln in src.read_text().splitlines() if ln][:keep]
    lines += list(extra) + [f'{name} {k % 6}' for k, name in enumerate(bad)]
    dst.write_text('\n'.join(lines) + '\n')
    return lines


@pytest.fixture(scope='module')
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp('mixed_mim')
    make_data(root)  # 12 train, 6 val demo clips
    train, val = root / 'videos_train', root / 'videos_val'
    good = sorted(
        osp.join(d, f) for d, _, fs in os.walk(train) for f in fs)[0]
    write_av_video(str(train / 'no_audio.mp4'), duration=2.0, fps=16,
                   size=(64, 48), with_audio=False)
    for folder in (train, val):
        write_bad_files(folder, good)
    # 17 training samples: 12 good, 1 without audio, 4 unreadable
    mixed_list(root / 'train_list_videos.txt', root / 'mixed_train.txt', 12,
               BAD, extra=['no_audio.mp4 0'])
    # 9 validation/test samples: 6 good, then 3 unreadable
    mixed_list(root / 'val_list_videos.txt', root / 'mixed_val.txt', 6,
               BAD[:3])
    return root


def run_mim(verb, root, work_dir, *options, extra=()):
    return mim_on_demo_data('configs/avslowfast_demo.py', verb, root,
                            work_dir, *options, extra=extra,
                            eval_list='mixed_val.txt', timeout=400)


def last_value(log, key, tag=''):
    lines = '\n'.join(ln for ln in log.splitlines() if tag in ln)
    values = re.findall(rf'{re.escape(key)}: ([0-9.]+)', lines)
    assert values, f'{key} not in the log'
    return float(values[-1])


@pytest.mark.skipif(find_mim() is None, reason='openmim is not installed')
def test_train_and_test_on_a_mixed_list(mixed, tmp_path):
    work = tmp_path / 'work'
    rc, log = run_mim('train', mixed, work,
                      *train_on_demo_data(mixed, 'mixed_train.txt'),
                      'train_cfg.max_epochs=1',
                      'default_hooks.logger.interval=1')
    assert rc == 0, log[-4000:]
    for name in BAD:  # a WARNING naming each file, redrawn
        assert re.search(
            rf"WARNING - unreadable sample: '[^']*videos_train/{name}'.*"
            r'another sample was drawn', log), name
    assert re.search(r"WARNING - no usable audio: '[^']*no_audio.mp4'", log)
    # every index is drawn once per epoch: >= 4 unreadable draws
    assert last_value(log, 'data/unreadable', 'Epoch(train)') >= 4
    assert last_value(log, 'data/no_audio', 'Epoch(train)') >= 1
    # the summary counts files and draws
    summary = re.search(
        r'train: 4 files unreadable \((\d+) draws\), 1 file without usable '
        r'audio \((\d+) draws?\) of (\d+) samples drawn this epoch', log)
    assert summary, log[-3000:]
    draws, no_audio_draws, drawn = map(int, summary.groups())
    assert draws == last_value(log, 'data/unreadable', 'Epoch(train)')
    assert drawn == 17 + draws and no_audio_draws >= 1  # 17 packed
    assert 'val: 3 files unreadable (3 samples) of 9 samples' in log
    # no decoder lines; the first iteration after our line counts it
    assert ' @ 0x' not in log and 'video_reader.cc' not in log
    lines = log.splitlines()
    first = next(i for i, ln in enumerate(lines)
                 if 'WARNING - unreadable sample' in ln)
    logged = next(ln for ln in lines[first:] if 'Epoch(train)' in ln)
    assert int(re.search(r'data/unreadable: (\d+)', logged).group(1)) >= 1
    listed = (work / 'unreadable_files.txt').read_text().splitlines()
    for split in ('train', 'val'):  # each split's files with their split
        for name in BAD[:3]:
            assert any(ln.startswith(f'{split}\t') and
                       f'videos_{split}/{name}\t' in ln for ln in listed)
    assert 'no_audio.mp4' in (work / 'no_audio_files.txt').read_text()
    # validation finishes, counting its 3 unreadable files as misses
    val_line = [ln for ln in log.splitlines() if 'Epoch(val)' in ln and
                'acc/top1' in ln][-1]
    assert 'data/unreadable: 3' in val_line
    checkpoint = str(work / 'epoch_1.pth')

    # mim test stops at the first unreadable file: the test process's last
    # lines, before mim's own traceback, are the file, the reason, the fix
    rc, log = run_mim('test', mixed, tmp_path / 'test_err', extra=[
        '--checkpoint', checkpoint])
    assert rc != 0
    lines = log.splitlines()
    mim_error = max(i for i, ln in enumerate(lines[:-1])
                    if ln.startswith('Traceback') and 'mim' in lines[i + 1])
    test_output = lines[:mim_error]
    assert 'Traceback' not in '\n'.join(test_output), log[-6000:]
    assert re.fullmatch(
        r"ERROR: unreadable file, the run stops: '[^']*videos_val/"
        r"broken_truncated.mp4' \(sample 6 of AVVideoDataset\)",
        test_output[-3]), test_output[-5:]
    assert test_output[-2] == ('reason: truncated or corrupt MP4/MOV '
                               'container: InvalidDataError: Invalid data '
                               'found when processing input')
    assert test_output[-1].startswith(
        'fix: --cfg-options test_dataloader.dataset.on_unreadable=miss ')

    # ... and with the opt-in policy finishes, denominator = all 9 samples
    dump = tmp_path / 'test.pkl'
    rc, log = run_mim(
        'test', mixed, tmp_path / 'test_miss',
        'test_dataloader.dataset.on_unreadable=miss',
        extra=['--checkpoint', checkpoint, '--dump', str(dump)])
    assert rc == 0, log[-4000:]
    results = pickle.load(open(dump, 'rb'))
    assert len(results) == 9
    names = [osp.basename(r['filename']) for r in results]
    assert names[6:] == BAD[:3]
    assert all(r.get('unreadable') for r in results[6:])
    assert all(r['unreadable'] is False for r in results[:6])
    correct = sum(
        int(np.argmax(r['pred_score'].numpy())) == int(r['gt_label'])
        for r in results[:6])
    assert last_value(log, 'acc/top1') == pytest.approx(correct / 9, abs=1e-4)
    assert last_value(log, 'data/unreadable') == 3
