"""UnlabeledAVDataset: videos without labels from a list or a folder scan,
videos without an audio stream left out (counted, logged), unreadable files
kept for ``on_unreadable``, packed samples without a class."""
import logging
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmaction.registry import DATASETS
from mmaction_avslowfast.datasets import UnlabeledAVDataset
from mmaction_avslowfast.testing.synthetic_media import (truncate_file,
                                                       write_av_video)

CONFIG = os.path.join(
    os.path.dirname(__file__), '..', '..', 'configs', 'avslowfast_demo.py')

# name -> has audio; all 2 s, 16 fps, 32x32.
VIDEOS = {
    'b/clip1.mp4': True,
    'a/clip0.mp4': True,
    'a/deep/clip2.mkv': True,
    'a/deep/mute.mkv': False,
    'mute.mp4': False,
    'Upper.MP4': True,
    'c/mute.avi': False,
}
# In the folder, but no video of the scan: wrong extension, hidden.
OTHERS = ('notes.txt', 'a/clip0.mp4.json', '.hidden/clip.mp4', '._clip0.mp4')


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('unlabeled')
    for i, (name, audio) in enumerate(VIDEOS.items()):
        write_av_video(str(root / name), duration=2.0, fps=16, size=(32, 32),
                       color_seed=i, with_audio=audio)
    for name in OTHERS:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith('.mp4'):
            write_av_video(str(path), duration=1.0, fps=16, size=(32, 32))
        else:
            path.write_text('not a video\n')
    return root


def build(**kwargs):
    init_default_scope('mmaction')
    kwargs.setdefault('pipeline', [])
    return DATASETS.build(dict(type='UnlabeledAVDataset', **kwargs))


def names(dataset, root):
    return [
        os.path.relpath(dataset.get_data_info(i)['filename'], root)
        for i in range(len(dataset))
    ]


def test_list_mode_labels_ignored_no_audio_filtered(root, log_lines):
    (root / 'list.txt').write_text(
        '# unlabeled list: path [label]\n'
        'b/clip1.mp4 3\n'
        '\n'
        'mute.mp4 1\n'
        '  a/deep/clip2.mkv\n'
        'a/deep/mute.mkv\n'
        '   \n'
        'a/clip0.mp4 0 extra\n')
    ds = build(ann_file=str(root / 'list.txt'), data_prefix=dict(video=str(
        root)), test_mode=True, on_unreadable='miss')
    # list order kept; label column, comment and blank lines ignored
    assert names(ds, root) == ['b/clip1.mp4', 'a/deep/clip2.mkv',
                               'a/clip0.mp4']
    assert ds.no_audio_files == [str(root / 'mute.mp4'),
                                 str(root / 'a/deep/mute.mkv')]
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert 'label' not in info
        assert info['sample_idx'] == i
    warnings = [m for lvl, m in log_lines if lvl == logging.WARNING and
                'no audio stream' in m]
    assert len(warnings) == 1
    assert '2 of 5 videos' in warnings[0]
    assert 'mute.mp4' in warnings[0] and 'mute.mkv' in warnings[0]


def test_list_mode_relative_to_data_root(root):
    (root / 'short.txt').write_text('a/clip0.mp4 5\nmute.mp4 2\n')
    ds = build(ann_file='short.txt', data_root=str(root),
               data_prefix=dict(video=''))
    assert names(ds, root) == ['a/clip0.mp4']
    assert [os.path.basename(p) for p in ds.no_audio_files] == ['mute.mp4']


def test_folder_mode_nested_sorted_extension_filter(root, log_lines):
    ds = build(scan_folder=True, data_prefix=dict(video=str(root)))
    assert names(ds, root) == sorted(
        n for n, audio in VIDEOS.items() if audio)
    assert sorted(os.path.relpath(p, root) for p in ds.no_audio_files) == \
        sorted(n for n, audio in VIDEOS.items() if not audio)
    warnings = [m for lvl, m in log_lines if 'no audio stream' in m]
    assert len(warnings) == 1 and '3 of 7 videos' in warnings[0]

    only_mkv = build(scan_folder=True, data_prefix=dict(video=str(root)),
                     video_exts=('mkv', ), ann_file=None)
    assert names(only_mkv, root) == ['a/deep/clip2.mkv']
    assert [os.path.relpath(p, root) for p in only_mkv.no_audio_files] == \
        ['a/deep/mute.mkv']


def test_no_filter_keeps_every_video(root):
    ds = build(scan_folder=True, data_prefix=dict(video=str(root)),
               filter_no_audio=False)
    assert names(ds, root) == sorted(VIDEOS)
    assert ds.no_audio_files == []


def test_bad_arguments_name_the_problem(root, tmp_path):
    with pytest.raises(ValueError, match='ann_file.*scan_folder|scan_folder'
                       '.*ann_file'):
        build(ann_file='list.txt', scan_folder=True)
    with pytest.raises(ValueError, match='needs ann_file'):
        build(ann_file='', data_prefix=dict(video=str(root)))
    with pytest.raises(FileNotFoundError, match='nolist.txt'):
        build(ann_file=str(tmp_path / 'nolist.txt'))
    with pytest.raises(FileNotFoundError, match='nofolder'):
        build(scan_folder=True, data_prefix=dict(video=str(tmp_path /
                                                           'nofolder')))
    (tmp_path / 'x.txt').write_text('text\n')
    with pytest.raises(ValueError, match=str(tmp_path)):
        build(scan_folder=True, data_prefix=dict(video=str(tmp_path)))
    (tmp_path / 'empty.txt').write_text('# nothing\n\n')
    with pytest.raises(ValueError, match='empty.txt'):
        build(ann_file=str(tmp_path / 'empty.txt'))


def demo_pipeline():
    return Config.fromfile(CONFIG).train_pipeline


@pytest.fixture(scope='module')
def with_bad(root, tmp_path_factory):
    """Two readable videos, a mute one, a truncated and an empty file."""
    folder = tmp_path_factory.mktemp('with_bad')
    for name in ('a/clip0.mp4', 'b/clip1.mp4', 'mute.mp4'):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes((root / name).read_bytes())
    truncate_file(str(folder / 'a/clip0.mp4'), str(folder / 'cut.mp4'), 0.3)
    (folder / 'zero.mp4').write_bytes(b'')
    return folder


def test_unreadable_kept_and_handled_by_on_unreadable(with_bad):
    kwargs = dict(scan_folder=True, data_prefix=dict(video=str(with_bad)),
                  pipeline=demo_pipeline())
    ds = build(test_mode=True, on_unreadable='miss', **kwargs)
    # not filtered at build: only files that open without audio are
    assert names(ds, with_bad) == ['a/clip0.mp4', 'b/clip1.mp4', 'cut.mp4',
                                   'zero.mp4']
    assert [os.path.basename(p) for p in ds.no_audio_files] == ['mute.mp4']
    packed = ds[2]
    sample = packed['data_samples']
    assert sample.unreadable is True
    assert sample.filename.endswith('cut.mp4')
    assert 'gt_label' not in sample
    assert not packed['inputs']['imgs'].any()
    assert not ds[0]['data_samples'].unreadable

    with pytest.raises(RuntimeError, match='zero.mp4'):
        build(test_mode=True, on_unreadable='error', **kwargs)[3]

    train = build(**kwargs)  # redraw
    assert train.on_unreadable == 'redraw'
    packed = train[3]
    sample = packed['data_samples']
    assert sample.filename.endswith(('clip0.mp4', 'clip1.mp4'))
    events = sample.metainfo['data_events']
    assert [e['kind'] for e in events][-1] == 'unreadable'
    assert events[-1]['path'].endswith(('cut.mp4', 'zero.mp4'))


def test_demo_train_pipeline_packs_without_label(root):
    pipeline = demo_pipeline()
    assert pipeline[4]['type'] == 'AudioLogMelClips'
    assert pipeline[4]['with_negative']
    ds = build(scan_folder=True, data_prefix=dict(video=str(root)),
               video_exts=('.mp4', ), pipeline=pipeline)
    assert names(ds, root) == ['Upper.MP4', 'a/clip0.mp4', 'b/clip1.mp4']
    firsts = []
    for i in range(len(ds)):
        packed = ds[i]
        sample = packed['data_samples']
        imgs, audios = packed['inputs']['imgs'], packed['inputs']['audios']
        assert imgs.shape == (1, 3, 16, 32, 32)
        assert audios.shape[:3] == (1, 2, 64)  # aligned + negative
        assert torch.isfinite(audios).all() and audios[0, 0].std() > 0
        assert 'gt_label' not in sample  # no fake class
        assert 'label' not in sample.metainfo
        assert sample.metainfo['sample_idx'] == i
        assert sample.filename == ds.get_data_info(i)['filename']
        assert sample.audio_valid is True
        firsts.append(imgs[0, :, 0].float().mean(dim=(1, 2)))
    # the colour-seeded videos differ: each index gives its own video
    assert not torch.allclose(firsts[1], firsts[2])


def test_registered_and_exported():
    init_default_scope('mmaction')
    assert DATASETS.get('UnlabeledAVDataset') is UnlabeledAVDataset
