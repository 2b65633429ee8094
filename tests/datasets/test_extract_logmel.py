"""Precomputed log-mel path: tools/data/extract_logmel.py + LoadLogMel."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from mmaction_avslowfast.datasets.transforms import (AudioDecodeError,
                                                     AudioLogMelClips,
                                                     LoadAudioFromVideo,
                                                     LoadLogMel,
                                                     silence_value)
from tool_helpers import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def extracted(tone_videos, silent_video, tmp_path_factory):
    video_root = tmp_path_factory.mktemp('videos')
    os.makedirs(video_root / 'sub')
    shutil.copy(tone_videos['stereo44k']['path'], video_root / 'sub' / 'a.mp4')
    shutil.copy(tone_videos['mono8k']['path'], video_root / 'b.mp4')
    shutil.copy(silent_video['path'], video_root / 'silent.mp4')
    out_root = tmp_path_factory.mktemp('logmel')
    tool = load_tool('data/extract_logmel.py')
    tool.main([str(video_root), str(out_root), '--num-workers', '2',
               '--float16'])
    return tool, str(video_root), str(out_root)


def _index(out_root):
    with open(osp.join(out_root, 'index.jsonl')) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_extract_writes_features_and_index(extracted):
    _, _, out_root = extracted
    entries = {e['npy']: e for e in _index(out_root)}
    assert set(entries) == {'sub/a.npy', 'b.npy', 'silent.npy'}
    feats = np.load(osp.join(out_root, 'sub', 'a.npy'))
    assert feats.dtype == np.float16 and feats.shape[1] == 80
    assert entries['sub/a.npy']['frames'] == feats.shape[0]
    assert abs(feats.shape[0] - 6.0 * 62.5) < 5
    assert entries['silent.npy']['valid'] is False
    assert 'no audio stream' in entries['silent.npy']['reason']
    assert not osp.exists(osp.join(out_root, 'silent.npy'))


def test_extract_is_resumable(extracted, capsys):
    tool, video_root, out_root = extracted
    npy = osp.join(out_root, 'b.npy')
    os.remove(npy)  # an unfinished file is redone, finished ones skipped
    mtime = os.path.getmtime(osp.join(out_root, 'sub', 'a.npy'))
    tool.main([video_root, out_root, '--num-workers', '1', '--float16'])
    assert '1 to extract' in capsys.readouterr().out
    assert osp.isfile(npy)
    assert os.path.getmtime(osp.join(out_root, 'sub', 'a.npy')) == mtime
    tool.main([video_root, out_root, '--num-workers', '1'])
    assert '0 to extract' in capsys.readouterr().out


@pytest.mark.parametrize('name', ['sub/a.mp4', 'b.mp4'])
@pytest.mark.parametrize('with_negative', [False, True])
def test_precomputed_matches_online(extracted, name, with_negative):
    _, video_root, out_root = extracted
    frame_inds = np.concatenate([
        np.arange(0, 63, 2),
        np.arange(50, 113, 2),
        np.arange(117, 180, 2)
    ]).astype(np.int32)
    base = dict(
        filename=osp.join(video_root, name),
        frame_inds=frame_inds,
        num_clips=3,
        avg_fps=30.0,
        start_index=0)
    clips = AudioLogMelClips(with_negative=with_negative)
    np.random.seed(5)
    online = clips.transform(LoadAudioFromVideo().transform(dict(base)))
    np.random.seed(5)
    loader = LoadLogMel(logmel_root=out_root, video_root=video_root)
    pre = clips.transform(loader.transform(dict(base)))
    assert pre['audios'].shape == online['audios'].shape == (
        3, 2 if with_negative else 1, 128, 80)
    diff = np.abs(pre['audios'] - online['audios']).max()
    assert diff < 1e-2, diff
    assert pre['audio_valid'] is True


def test_precomputed_missing_audio_policies(extracted):
    _, video_root, out_root = extracted
    base = dict(
        filename=osp.join(video_root, 'silent.mp4'),
        frame_inds=np.arange(0, 32, 2, dtype=np.int32),
        num_clips=1,
        avg_fps=30.0)
    out = AudioLogMelClips().transform(
        LoadLogMel(out_root, video_root).transform(dict(base)))
    assert out['audio_valid'] is False
    np.testing.assert_allclose(out['audios'], silence_value(), atol=1e-5)
    assert LoadLogMel(
        out_root, video_root, on_missing_audio='skip').transform(
            dict(base)) is None
    with pytest.raises(AudioDecodeError, match='silent.npy'):
        LoadLogMel(
            out_root, video_root, on_missing_audio='error').transform(
                dict(base))
    with pytest.raises(AudioDecodeError, match='no entry'):
        LoadLogMel(
            out_root, video_root, on_missing_audio='error').transform(
                dict(base, filename=osp.join(video_root, 'unknown.mp4')))
