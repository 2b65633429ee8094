"""AVA data with audio on the synthetic fixture: video files and rawframes,
online and precomputed log-mel, alignment and missing audio."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

import mmaction_avslowfast  # noqa: F401
import mmaction_avslowfast.datasets.ava_audio_dataset  # noqa: F401
from mmaction.registry import DATASETS
from tool_helpers import load_tool

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CLIP_LEN, AUDIO_FRAMES = 16, 64


@pytest.fixture(scope='module')
def fixture(tmp_path_factory):
    init_default_scope('mmaction')
    return load_tool('make_ava_fixture.py').make_ava_fixture(
        str(tmp_path_factory.mktemp('ava_fixture')))


def _dataset(fixture, pipeline, **kwargs):
    init_default_scope('mmaction')
    cfg = dict(
        type='AVAAudioDataset',
        ann_file=fixture['ann_val'],
        exclude_file=fixture['exclude_val'],
        label_file=fixture['label_map'],
        proposal_file=fixture['proposals_val'],
        pipeline=pipeline,
        test_mode=True)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def _sample():
    return [
        dict(type='SampleAVAFrames', clip_len=CLIP_LEN, frame_interval=2,
             test_mode=True)
    ]


AUDIO = [
    dict(type='LoadAudioFromVideo'),
    dict(type='AudioLogMelClips', num_frames=AUDIO_FRAMES),
]


def _video_dataset(fixture, audio=AUDIO, **prefixes):
    return _dataset(
        fixture,
        [dict(type='DecordInit')] + _sample() + [dict(type='DecordDecode')] +
        audio,
        use_frames=False,
        data_prefix=dict(img=fixture['video_dir'], **prefixes))


def test_video_mode_samples(fixture):
    ds = _video_dataset(fixture)
    assert len(ds) == 2  # 0903 is excluded
    info = ds.get_data_info(0)
    assert info['filename'] == fixture['video']
    assert info['start_index'] == 0 and info['timestamp'] == 902
    # Proposal scores >= 0.9 kept (2 people + background), 0.4 dropped.
    assert info['proposals'].shape == (3, 4)
    results = ds[0]
    assert np.stack(results['imgs']).shape == (CLIP_LEN, 64, 80, 3)
    assert results['audios'].shape == (1, 1, AUDIO_FRAMES, 80)
    assert results['audio_valid']


def _dominant_mel_bin(audios):
    return int(np.argmax(audios[0, 0].mean(axis=0)))


def test_audio_follows_keyframe_time(fixture):
    """The fixture's tone changes at 3 s = AVA time 903: the clip of 902 hears
    440 Hz, the clip of 904 hears 1760 Hz."""
    ds = _video_dataset(fixture)
    low, high = (_dominant_mel_bin(ds[i]['audios']) for i in range(2))
    assert ds.get_data_info(1)['timestamp'] == 904
    assert high > low + 10


def _write_rawframes(fixture, root):
    import decord
    frames = decord.VideoReader(fixture['video'])
    out = osp.join(root, 'vid_ava_a')
    os.makedirs(out, exist_ok=True)
    for i in range(len(frames)):
        cv2.imwrite(
            osp.join(out, f'img_{i + 1:05}.png'),
            cv2.cvtColor(frames[i].asnumpy(), cv2.COLOR_RGB2BGR))
    return root


def test_rawframes_with_audio_of_15min_cut(fixture, tmp_path):
    """Rawframes (img_00001 = first frame) + audio from videos_15min read the
    same frames and the same audio as the video file at the same indices."""
    raw_root = _write_rawframes(fixture, str(tmp_path / 'rawframes'))
    raw = _dataset(
        fixture,
        _sample() + [dict(type='RawFrameDecode')] + AUDIO,
        filename_tmpl='img_{:05}.png',
        data_prefix=dict(img=raw_root, audio=fixture['video_dir']))
    assert raw.get_data_info(0)['audio_path'] == fixture['video']
    raw_results = raw[0]

    # Video mode at the 0-based indices of the frames the rawframes read
    # (SampleAVAFrames adds start_index twice: file k holds frame k - 1).
    video = _video_dataset(fixture, audio=[])
    info = video.get_data_info(0)
    pipe = Compose([dict(type='DecordInit')] + _sample())
    results = pipe(info)
    results['frame_inds'] = raw_results['frame_inds'] - 1
    results = Compose([dict(type='DecordDecode')] + AUDIO)(results)
    assert np.array_equal(np.stack(raw_results['imgs']),
                          np.stack(results['imgs']))
    assert np.allclose(raw_results['audios'], results['audios'], atol=1e-5)


def test_precomputed_logmel_matches_online(fixture, tmp_path):
    logmel_root = str(tmp_path / 'logmel')
    subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'data', 'extract_logmel.py'),
         fixture['video_dir'], logmel_root, '--num-workers', '1'],
        check=True, capture_output=True,
        env=dict(os.environ, PYTHONPATH=REPO))
    pre = _video_dataset(
        fixture,
        audio=[dict(type='LoadLogMel', logmel_root=logmel_root),
               dict(type='AudioLogMelClips', num_frames=AUDIO_FRAMES)],
        logmel=logmel_root)
    online = _video_dataset(fixture)
    assert pre.get_data_info(0)['logmel_path'] == osp.join(
        logmel_root, 'vid_ava_a.npy')
    assert pre[1]['audio_valid']
    assert np.allclose(pre[1]['audios'], online[1]['audios'], atol=1e-4)


@pytest.mark.parametrize('policy', ['zeros', 'error'])
def test_missing_audio_policy(fixture, tmp_path, policy):
    ds = _dataset(
        fixture,
        [dict(type='DecordInit')] + _sample() + [
            dict(type='DecordDecode'),
            dict(type='LoadAudioFromVideo', on_missing_audio=policy),
            dict(type='AudioLogMelClips', num_frames=AUDIO_FRAMES)
        ],
        use_frames=False,
        data_prefix=dict(img=fixture['video_dir'], audio=str(tmp_path)))
    missing = osp.join(str(tmp_path), 'vid_ava_a')
    assert ds.get_data_info(0)['audio_path'] == missing
    if policy == 'error':
        with pytest.raises(Exception, match='vid_ava_a'):
            ds[0]
        return
    results = ds[0]
    assert results['audio_valid'] is False
    assert results['audios'].shape == (1, 1, AUDIO_FRAMES, 80)


def test_missing_video_file_is_reported(fixture, tmp_path):
    with pytest.raises(FileNotFoundError, match='vid_ava_a'):
        _dataset(fixture, [], use_frames=False,
                 data_prefix=dict(img=str(tmp_path)))


def test_unreadable_rawframes_count_as_missed_keyframes(fixture, tmp_path):
    """A keyframe whose frame images are missing: a flagged placeholder
    (its own img_key, zero inputs) in validation, which RobustAVAMetric
    leaves without detections; an error naming the folder by default."""
    from mmaction_avslowfast.evaluation import RobustAVAMetric
    raw_root = _write_rawframes(fixture, str(tmp_path / 'rawframes'))
    # frames of the second keyframe (904 s) are lost
    for i in range(100, 140):
        os.remove(osp.join(raw_root, 'vid_ava_a', f'img_{i:05}.png'))
    pipeline = _sample() + [dict(type='CheckedRawFrameDecode')] + AUDIO + [
        dict(type='Resize', scale=(-1, 32)),
        dict(type='FormatShape', input_format='NCTHW', collapse=True),
        dict(type='AlignAudioViews'),
        dict(type='PackAVInputs',
             meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp'))
    ]
    kwargs = dict(filename_tmpl='img_{:05}.png',
                  data_prefix=dict(img=raw_root, audio=fixture['video_dir']))
    with pytest.raises(RuntimeError, match='vid_ava_a'):
        _dataset(fixture, pipeline, **kwargs)[1]
    ds = _dataset(fixture, pipeline, on_unreadable='miss', **kwargs)
    good, lost = ds[0], ds[1]
    assert good['data_samples'].unreadable is False
    sample = lost['data_samples']
    assert sample.unreadable and sample.img_key == 'vid_ava_a,0904'
    assert sample.timestamp == 904
    assert lost['inputs']['imgs'].shape == good['inputs']['imgs'].shape
    assert not lost['inputs']['imgs'].any()
    metric = RobustAVAMetric(
        ann_file=fixture['ann_val'], exclude_file=fixture['exclude_val'],
        label_file=fixture['label_map'])
    metric.process([], [dict(sample.to_dict())])
    assert metric.results == []
