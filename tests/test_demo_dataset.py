"""tools/make_demo_dataset.py: layout, determinism and that every class
needs both senses (motion and tone)."""
import filecmp
import os.path as osp

import decord
import numpy as np
import pytest
from tool_helpers import load_tool

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def tool():
    return load_tool('make_demo_dataset.py')


ARGS = ['--train-per-class', '1', '--val-per-class', '1', '--test-per-class',
        '1']


@pytest.fixture(scope='module')
def dataset(tool, tmp_path_factory):
    out = tmp_path_factory.mktemp('avdemo')
    tool.main(['--out', str(out)] + ARGS)
    return out


def read_list(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def square_track(frames):
    """Centroid (x, y) of the bright square in every frame."""
    bright = frames.astype(int).sum(axis=-1) > 3 * 120
    ys, xs = zip(*[np.nonzero(mask) for mask in bright])
    return np.array([[x.mean(), y.mean()] for x, y in zip(xs, ys)])


def test_layout_and_label_map(tool, dataset):
    names = (dataset / 'label_map.txt').read_text().split()
    assert names == tool.class_names() and len(names) == 6
    for split in ('train', 'val', 'test'):
        entries = read_list(dataset / f'{split}_list_videos.txt')
        assert sorted(int(label) for _, label in entries) == list(range(6))
        for rel, _ in entries:
            assert (dataset / f'videos_{split}' / rel).is_file()


def test_every_class_needs_motion_and_tone(tool, dataset):
    expected_motion = {'left': (-1, 0), 'right': (1, 0), 'up': (0, -1)}
    for rel, label in read_list(dataset / 'train_list_videos.txt'):
        motion, sound = tool.class_names()[int(label)].split('_')
        path = str(dataset / 'videos_train' / rel)
        video = decord.VideoReader(path)
        assert len(video) == 32 and video.get_avg_fps() == 16
        track = square_track(video.get_batch(range(len(video))).asnumpy())
        step = np.sign(np.round(track[-1] - track[0]))
        assert tuple(step) == expected_motion[motion], rel
        wave = decord.AudioReader(path, sample_rate=16000,
                                  mono=True)[:].asnumpy()[0]
        spectrum = np.abs(np.fft.rfft(wave))
        peak_hz = np.argmax(spectrum) * 16000 / len(wave)
        low, high = tool.SOUNDS[sound]
        assert low * 0.95 <= peak_hz <= high * 1.05, (rel, peak_hz)


def test_deterministic_under_seed(tool, dataset, tmp_path):
    tool.main(['--out', str(tmp_path / 'again')] + ARGS)
    tool.main(['--out', str(tmp_path / 'other'), '--seed', '1'] + ARGS)
    rel = read_list(dataset / 'val_list_videos.txt')[0][0]
    same = filecmp.cmp(dataset / 'videos_val' / rel,
                       tmp_path / 'again' / 'videos_val' / rel, shallow=False)
    other = filecmp.cmp(dataset / 'videos_val' / rel,
                        tmp_path / 'other' / 'videos_val' / rel,
                        shallow=False)
    assert same and not other


def test_kinetics_layout_names_the_lists_like_mmaction(tool, tmp_path):
    tool.main(['--out', str(tmp_path), '--layout', 'kinetics400', '--size',
               '64x48', '--train-per-class', '1', '--val-per-class', '0',
               '--test-per-class', '0'])
    assert (tmp_path / 'kinetics400_train_list_videos.txt').is_file()
    rel = read_list(tmp_path / 'kinetics400_train_list_videos.txt')[0][0]
    frame = decord.VideoReader(str(tmp_path / 'videos_train' / rel))[0]
    assert frame.shape == (48, 64, 3)


def test_rejects_odd_size(tool, tmp_path):
    with pytest.raises(SystemExit):
        tool.main(['--out', str(tmp_path), '--size', '63'])
