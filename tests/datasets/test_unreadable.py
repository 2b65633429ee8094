"""Unreadable samples: redrawn in training, placeholders counted as misses or
an error naming the file in test mode; checked loaders name the file."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from av_fixtures import demo_pipeline
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope

from mmaction_avslowfast.datasets import (AVVideoDataset,
                                          UnreadableMediaError,
                                          UnreadableSampleStop)
from mmaction_avslowfast.datasets.transforms import VideoDecodeError
from mmaction_avslowfast.testing.synthetic_media import (truncate_file,
                                                       write_av_video)

SECRET = 'SECRET-TEXT-OF-A-NON-VIDEO'
BAD = ('truncated.mp4', 'zero.mp4', 'text.mp4', 'missing.mp4',
       'corrupt_frames.mp4')
REASONS = {
    'truncated.mp4': 'truncated or corrupt MP4/MOV container',
    'zero.mp4': 'empty file (0 bytes)',
    'text.mp4': 'not a video file (no container signature: text)',
    'missing.mp4': 'file not found',
    'corrupt_frames.mp4': 'undecodable frames',
}


def corrupt_middle(src, dst):
    """Scramble the middle half of the bytes (frame data), keep the index."""
    data = bytearray(open(src, 'rb').read())
    for i in range(len(data) // 4, len(data) // 2):
        data[i] = (data[i] * 7 + 13) % 256
    open(dst, 'wb').write(bytes(data))
    return dst


@pytest.fixture(scope='module')
def mixed_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('mixed')
    for i in range(4):
        write_av_video(str(root / f'good{i}.mp4'), duration=1.0, fps=16,
                       size=(32, 32), color_seed=i,
                       with_audio=i != 3)  # good3 has no audio stream
    truncate_file(str(root / 'good0.mp4'), str(root / 'truncated.mp4'), 0.3)
    open(root / 'zero.mp4', 'wb').close()
    (root / 'text.mp4').write_text(f'{SECRET}\n' * 4)
    write_av_video(str(root / 'big.mp4'), duration=3.0, fps=16, size=(64, 48))
    corrupt_middle(str(root / 'big.mp4'), str(root / 'corrupt_frames.mp4'))
    names = [f'good{i}.mp4' for i in range(4)] + list(BAD)
    (root / 'list.txt').write_text(''.join(
        f'{n} {k % 3}\n' for k, n in enumerate(names)))
    return root


def pipeline(test_mode=False):
    """The demo's validation pipeline on 8-frame clips (32 log-mel)."""
    return demo_pipeline('val', audio_frames=32, clip_len=8, num_clips=1,
                         test_mode=test_mode)


def dataset(root, test_mode=False, **kwargs):
    init_default_scope('mmaction')
    return AVVideoDataset(
        ann_file=str(root / 'list.txt'),
        pipeline=pipeline(test_mode),
        data_prefix=dict(video=str(root)),
        test_mode=test_mode,
        **kwargs)


@pytest.mark.parametrize('name', BAD)
def test_checked_loaders_name_the_file(mixed_dir, name, capfd):
    init_default_scope('mmaction')
    results = dict(filename=str(mixed_dir / name), start_index=0,
                   modality='RGB')
    with pytest.raises(VideoDecodeError, match=name) as info:
        Compose(pipeline(test_mode=True)[:3])(results)
    assert isinstance(info.value, UnreadableMediaError)
    assert info.value.path.endswith(name) and info.value.reason
    # decord 0.6.0 echoes the bytes of a non-video file it opens from memory
    out, err = capfd.readouterr()
    assert SECRET not in out + err
    # nor do decord's and FFmpeg's own lines reach stderr (the reason is in
    # the error): "[mov,mp4,... @ 0x...] moov atom not found",
    # "[hh:mm:ss] .../video_reader.cc:83: ERROR opening: ..."
    assert ' @ 0x' not in err and '.cc:' not in err, err
    assert REASONS[name] in info.value.reason


def test_training_redraws_and_carries_the_event(mixed_dir):
    data = dataset(mixed_dir)
    assert data.on_unreadable == 'redraw'
    seen = {}
    for idx in range(len(data)):
        name = osp.basename(data.get_data_info(idx)['filename'])
        sample = data[idx]['data_samples']
        if name in BAD:
            # another sample was drawn; it carries the event of this one
            assert osp.basename(sample.filename) not in BAD
            events = sample.metainfo['data_events']
            # (a redraw may hit another unreadable file first)
            assert osp.basename(events[0]['path']) == name
            assert all(osp.basename(e['path']) in BAD for e in events)
            assert all(e['kind'] == 'unreadable' and e['dropped']
                       and e['reason'] for e in events)
            seen[name] = events[0]['reason']
        else:
            assert osp.basename(sample.filename) == name
            assert 'data_events' not in sample
            assert sample.audio_valid is (name != 'good3.mp4')
    assert set(seen) == set(BAD)
    assert 'not found' in seen['missing.mp4']
    assert '0 bytes' in seen['zero.mp4']
    assert 'undecodable frames' in seen['corrupt_frames.mp4']


def test_test_mode_error_names_the_file(mixed_dir):
    data = dataset(mixed_dir, test_mode=True)
    assert data.on_unreadable == 'error'
    idx = next(i for i in range(len(data)) if data.get_data_info(i)
               ['filename'].endswith('truncated.mp4'))
    with pytest.raises(UnreadableSampleStop, match='truncated.mp4') as info:
        data[idx]
    # three lines: the file, the reason, the fix
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith('unreadable file, the run stops: ') and \
        lines[0].endswith(f"truncated.mp4' (sample {idx} of AVVideoDataset)")
    assert lines[1] == 'reason: ' + info.value.__cause__.reason
    assert lines[2].startswith('fix: --cfg-options '
                               'test_dataloader.dataset.on_unreadable=miss ')
    with pytest.raises(ValueError, match='redraw'):
        dataset(mixed_dir, test_mode=True, on_unreadable='redraw')


def test_test_mode_miss_gives_flagged_placeholders(mixed_dir):
    data = dataset(mixed_dir, test_mode=True, on_unreadable='miss')
    good = data[0]
    for idx in range(len(data)):
        info = data.get_data_info(idx)
        out = data[idx]
        sample = out['data_samples']
        assert sample.filename == info['filename']
        assert int(sample.gt_label) == info['label']
        if osp.basename(info['filename']) in BAD:
            assert sample.unreadable is True and sample.audio_valid is False
            for key in ('imgs', 'audios'):  # same shapes, no content
                assert out['inputs'][key].shape == good['inputs'][key].shape
                assert not out['inputs'][key].any()
        else:
            assert sample.unreadable is False
            assert out['inputs']['imgs'].float().std() > 0


def test_audio_skip_drop_is_an_event(mixed_dir, tmp_path):
    (tmp_path / 'list.txt').write_text('good3.mp4 0\ngood1.mp4 1\n')
    init_default_scope('mmaction')
    steps = pipeline()
    steps[3] = dict(type='LoadAudioFromVideo', on_missing_audio='skip')
    data = AVVideoDataset(ann_file=str(tmp_path / 'list.txt'),
                          pipeline=steps,
                          data_prefix=dict(video=str(mixed_dir)))
    sample = data[0]['data_samples']  # good3 has no audio: redrawn
    assert sample.filename.endswith('good1.mp4')
    events = sample.metainfo['data_events']  # one per draw of good3
    assert events and all(e['kind'] == 'no_audio' and e['dropped']
                          and e['path'].endswith('good3.mp4')
                          for e in events)
    assert np.isfinite(data[1]['inputs']['audios'].numpy()).all()


def test_filename_in_metainfo_with_the_stock_packer(mixed_dir):
    """The data set itself adds ``filename`` (for --dump), whatever packs."""
    init_default_scope('mmaction')
    steps = pipeline()[:-1] + [
        dict(type='PackActionInputs', collect_keys=('imgs', 'audios'))
    ]
    data = AVVideoDataset(ann_file=str(mixed_dir / 'list.txt'),
                          pipeline=steps,
                          data_prefix=dict(video=str(mixed_dir)))
    assert data[1]['data_samples'].filename == str(mixed_dir / 'good1.mp4')


STOP_SCRIPT = """
import sys, torch
import mmaction_avslowfast
from mmaction_avslowfast.datasets.unreadable import (
    UnreadableSampleStop, install_short_stop_report)
install_short_stop_report()

class Data(torch.utils.data.Dataset):
    def __len__(self):
        return 2
    def __getitem__(self, i):
        raise {error}('the file\\nthe reason\\nthe fix')

print('last line of the run', flush=True)
list(torch.utils.data.DataLoader(Data(), num_workers={workers}))
"""


@pytest.mark.parametrize('workers', [0, 1])
def test_a_stop_prints_only_the_file_the_reason_and_the_fix(workers):
    """What a stopped ``mim test`` prints last, also when a data-loader
    worker raised (its traceback is in the re-raised message)."""
    def run(error='UnreadableSampleStop', **env):
        return subprocess.run(
            [sys.executable, '-c',
             STOP_SCRIPT.format(error=error, workers=workers)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=120, env={**os.environ, **env})

    proc = run()
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    tail = out[out.index('last line of the run') + 1:]
    assert tail == ['ERROR: the file', 'the reason', 'the fix']
    if not workers:
        return
    # other errors and the opt-in keep Python's traceback
    for proc in (run('ValueError'), run(MMACTION_AVSLOWFAST_TRACEBACK='1')):
        assert proc.returncode == 1
        assert proc.stdout.count('Traceback') >= 1
