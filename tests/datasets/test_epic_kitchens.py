"""EPIC-Kitchens-100: CSV parsing by header, pickles refused, unreadable
videos, and clips (frames AND audio) that come from inside their own action
segment of the untrimmed video, checked by content on a synthesized
fixture (``write_epic_fixture``: every segment has its own colour and
tone, the gaps another, one video's audio starts 0.4 s after its
picture)."""
import csv
import math
import pickle

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from mmaction_avslowfast.audio import clip_frame_positions, clip_frame_times
from mmaction_avslowfast.datasets import EpicKitchensDataset
from mmaction_avslowfast.datasets.epic_kitchens import AnnotationError
from mmaction_avslowfast.datasets.transforms import (PackAVInputs,
                                                     SegmentSampleFrames)
from mmaction_avslowfast.datasets.transforms.segment_sampling import (
    loop_offsets, segment_frame_range)
from mmaction_avslowfast.testing.synthetic_epic import (EPIC_COLUMNS,
                                                      GAP_COLOR, GAP_TONE,
                                                      write_epic_fixture)
from mmaction_avslowfast.testing.synthetic_media import mel_bin

CLIP_LEN, INTERVAL, AUDIO_FRAMES = 8, 2, 32
LOGMEL_RATE = 16000 / 256
META = PackAVInputs.DEFAULT_META_KEYS + ('frame_inds', 'avg_fps',
                                         'audio_offset')


@pytest.fixture(scope='module')
def epic(tmp_path_factory):
    return write_epic_fixture(str(tmp_path_factory.mktemp('epic')))


def pipeline(test_mode=False, num_clips=1, with_negative=False):
    """The real pipeline; frame indices, fps and the audio offset are kept
    in the metainfo for the checks."""
    crops = [dict(type='CenterCrop', crop_size=64)] if test_mode else [
        dict(type='RandomCrop', size=48),
        dict(type='Flip', flip_ratio=0.5)
    ]
    return [
        dict(type='CheckedDecordInit'),
        dict(type='SegmentSampleFrames', clip_len=CLIP_LEN,
             frame_interval=INTERVAL, num_clips=num_clips,
             test_mode=test_mode),
        dict(type='CheckedDecordDecode'),
        dict(type='LoadAudioFromVideo'),
        dict(type='AudioLogMelClips', num_frames=AUDIO_FRAMES,
             with_negative=with_negative),
        dict(type='Resize', scale=(-1, 64)), *crops,
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='AlignAudioViews'),
        dict(type='PackAVInputs', meta_keys=META),
    ]


def dataset(ann_file, root, test_mode=False, **kwargs):
    init_default_scope('mmaction')
    kwargs.setdefault('pipeline', pipeline(test_mode))
    return EpicKitchensDataset(
        ann_file=str(ann_file), data_prefix=dict(video=str(root)),
        test_mode=test_mode, **kwargs)


def read_csv(path):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_csv(path, header, rows):
    with open(path, 'w', newline='') as f:
        csv.writer(f).writerows([header] + rows)
    return path


# ---------------------------------------------------------------- parsing


def test_csv_read_by_header_name(epic, tmp_path):
    header, rows = read_csv(epic['train_csv'])
    assert tuple(header) == EPIC_COLUMNS
    order = np.random.RandomState(0).permutation(len(header))
    shuffled = write_csv(tmp_path / 'shuffled.csv',
                         [header[i] for i in order] + ['extra'],
                         [[r[i] for i in order] + ['x'] for r in rows])
    official = dataset(epic['train_csv'], epic['video_root'])
    other = dataset(shuffled, epic['video_root'])
    assert len(official) == len(other) == len(rows) == 5
    expected = [s for s in epic['segments'] if s['split'] == 'train']
    for i, seg in enumerate(expected):
        info, alt = official.get_data_info(i), other.get_data_info(i)
        for key in ('filename', 'label', 'noun_label', 'segment_start',
                    'segment_stop', 'video_id', 'narration_id'):
            assert info[key] == alt[key], key
        assert info['filename'] == f"{epic['video_root']}/P01/videos/" \
            f"{seg['video_id']}.MP4"
        assert info['narration_id'] == seg['narration_id']
        assert (info['label'], info['noun_label']) == (seg['verb_class'],
                                                       seg['noun_class'])
        assert info['segment_start'] == pytest.approx(seg['start'])
        assert info['segment_stop'] == pytest.approx(seg['stop'])


def test_timestamps_and_extension(tmp_path):
    header = list(EPIC_COLUMNS)
    row = dict(zip(header, ['P02_01_7', 'P02', 'P02_01', '00:00:00.000',
                            '01:02:03.5', '01:02:04.125', '1', '2', 'n',
                            'v', '96', 'n', '299', '[]', '[]']))
    path = write_csv(tmp_path / 'a.csv', header, [list(row.values())])
    info = dataset(path, tmp_path, video_ext='.mp4').get_data_info(0)
    assert info['segment_start'] == pytest.approx(3723.5)
    assert info['segment_stop'] == pytest.approx(3724.125)
    assert info['filename'] == str(tmp_path / 'P02/videos/P02_01.mp4')
    assert (info['label'], info['noun_label']) == (96, 299)


@pytest.mark.parametrize('column, value, message', [
    ('start_timestamp', '1.5', "column 'start_timestamp': expected HH:MM"),
    ('stop_timestamp', '00:00:00.50', "column 'stop_timestamp': "
     "'00:00:00.50' is before"),
    ('verb_class', 'open', "column 'verb_class': expected a class id"),
    ('noun_class', '-1', "column 'noun_class': expected a class id"),
    ('noun_class', '', "column 'noun_class': expected a class id"),
    ('video_id', ' ', "column 'video_id': empty"),
])
def test_malformed_row_names_file_row_and_column(epic, tmp_path, column,
                                                 value, message):
    header, rows = read_csv(epic['train_csv'])
    rows[2][header.index(column)] = value
    path = write_csv(tmp_path / 'bad.csv', header, rows)
    with pytest.raises(AnnotationError) as info:
        dataset(path, epic['video_root'])
    assert str(path) in str(info.value)
    assert 'row 4, ' + message in str(info.value)  # header = row 1


def test_missing_column_and_short_row(epic, tmp_path):
    header, rows = read_csv(epic['train_csv'])
    drop = header.index('noun_class')
    path = write_csv(tmp_path / 'nonoun.csv', header[:drop] + header[
        drop + 1:], [r[:drop] + r[drop + 1:] for r in rows])
    with pytest.raises(AnnotationError,
                       match=r"nonoun\.csv: no column \['noun_class'\]"):
        dataset(path, epic['video_root'])
    path = write_csv(tmp_path / 'short.csv', header, rows[:1] + [rows[1][:5]])
    with pytest.raises(AnnotationError, match=r'short\.csv: row 3: 5 fields'):
        dataset(path, epic['video_root'])


def test_pickle_refused_unless_allowed(epic, tmp_path):
    pd = pytest.importorskip('pandas')
    frame = pd.read_csv(epic['val_csv']).set_index('narration_id')
    path = tmp_path / 'EPIC_100_validation.pkl'
    frame.to_pickle(path)
    with pytest.raises(AnnotationError, match='EPIC_100_validation.pkl: '
                       'refusing to load a pickle.*allow_pickle=True'):
        dataset(path, epic['video_root'], test_mode=True)
    # The refusal happens before anything is unpickled.
    path.write_bytes(pickle.dumps(object()))
    with pytest.raises(AnnotationError, match='refusing'):
        dataset(path, epic['video_root'], test_mode=True)
    frame.to_pickle(path)
    allowed = dataset(path, epic['video_root'], test_mode=True,
                      allow_pickle=True)
    csv_set = dataset(epic['val_csv'], epic['video_root'], test_mode=True)
    assert len(allowed) == len(csv_set) == 3
    for i in range(3):
        assert allowed.get_data_info(i) == csv_set.get_data_info(i)


def test_start_index_must_stay_zero(epic):
    with pytest.raises(ValueError, match='start_index must be 0'):
        dataset(epic['train_csv'], epic['video_root'], start_index=1)
    with pytest.raises(ValueError, match='start_index must be 0'):
        SegmentSampleFrames(clip_len=2)(
            dict(start_index=1, avg_fps=30., total_frames=100,
                 segment_start=0., segment_stop=1.))


# ------------------------------------------------------------ sampling


def test_segment_frame_range():
    assert segment_frame_range(6.5, 6.7, 30, 1000) == (195, 201)
    assert segment_frame_range(1.01, 1.05, 30, 1000) == (31, 31)
    assert segment_frame_range(1.01, 1.02, 30, 1000) == (30, 30)  # on screen
    assert segment_frame_range(9.0, 12.0, 30, 300) == (270, 299)  # clipped
    with pytest.raises(ValueError, match='after the last frame'):
        segment_frame_range(10.0, 11.0, 30, 300)


@pytest.mark.parametrize('frame_interval', [1, 2, 3, 4])
def test_looped_clip_audio_stays_in_segment(frame_interval):
    """For every segment shorter than a clip: frames inside the segment,
    and the audio read by the looped clip (AudioLogMelClips' rule) ends by
    the segment's last frame plus one frame."""
    fps, first = 30.0, 100
    for clip_len in (2, 4, 8, 32):
        span = (clip_len - 1) * frame_interval + 1
        for n in range(1, span):
            inds = first + loop_offsets(n, clip_len, frame_interval)
            assert inds.min() == first and inds.max() <= first + n - 1
            pos = clip_frame_positions(
                clip_frame_times(inds, 1, fps), 128, LOGMEL_RATE)
            times = pos / LOGMEL_RATE
            assert times.min() >= first / fps - 1e-9
            assert times.max() <= (first + n) / fps + 1e-9, (n, clip_len)


def test_training_offsets_uniform_test_offsets_spread():
    results = dict(avg_fps=30., total_frames=3000, segment_start=10.0,
                   segment_stop=11.0, filename='x')  # frames 300..330
    train = SegmentSampleFrames(clip_len=4, frame_interval=2, num_clips=5)
    firsts = np.concatenate([
        train(dict(results))['frame_inds'].reshape(5, 4)[:, 0]
        for _ in range(200)
    ])
    assert firsts.min() == 300 and firsts.max() == 324  # 330 - 6
    assert len(np.unique(firsts)) == 25
    test = SegmentSampleFrames(clip_len=4, frame_interval=2, num_clips=5,
                               test_mode=True)
    out = test(dict(results))['frame_inds'].reshape(5, 4)
    np.testing.assert_array_equal(out[:, 0], [302, 307, 312, 317, 322])
    np.testing.assert_array_equal(np.diff(out, axis=1), 2)
    assert out.max() <= 330


# ------------------------------------------------------- content checks


def _palette(epic):
    colors = np.array([s['color'] for s in epic['segments']] + [GAP_COLOR],
                      np.float64)
    bins = [mel_bin(s['tone']) for s in epic['segments']] + [
        mel_bin(GAP_TONE)
    ]
    return colors, bins


def _check_sample(packed, seg, epic, stats, exact_frames):
    """Every clip of a packed sample: labels, frame indices, frame colours
    (and in test mode the moving stripe, i.e. the exact frame), audio
    positions and the log-mel tone belong to ``seg``."""
    colors, bins = _palette(epic)
    sample, imgs = packed['data_samples'], packed['inputs']['imgs']
    audios = packed['inputs']['audios']
    meta = sample.metainfo
    assert sample.gt_label.tolist() == [seg['verb_class']]
    assert sample.noun_label.tolist() == [seg['noun_class']]
    assert sample.noun_label.dtype == torch.int64
    assert meta['narration_id'] == seg['narration_id']
    fps = meta['avg_fps']
    inds = np.asarray(meta['frame_inds']).reshape(len(audios), CLIP_LEN)
    # frames: indices inside the segment, content of the segment
    assert inds.min() / fps >= seg['start'] - 1e-9
    assert inds.max() / fps <= seg['stop'] + 1e-9
    frames = imgs.double().permute(0, 2, 3, 4, 1).reshape(-1, imgs.shape[
        -2] * imgs.shape[-1], 3)
    median = frames.median(dim=1).values.numpy()  # [clips * T, 3]
    dist = np.linalg.norm(median[:, None] - colors[None], axis=-1)
    assert (dist.argmin(1) == seg['index']).all(), dist.argmin(1)
    ranked = np.sort(dist, axis=1)
    stats['frame_margin'] = min(stats.get('frame_margin', np.inf),
                                (ranked[:, 1] - ranked[:, 0]).min())
    stats['frames'] = stats.get('frames', 0) + len(median)
    if exact_frames:  # stripe at column (3 i) % 56: the very frame i
        bright = imgs[:, 0].double().mean(dim=2)  # [clips, T, W]
        base = float(seg['color'][0])
        cols = [int(np.flatnonzero(row > base + 10).min())
                for row in bright.reshape(-1, bright.shape[-1]).numpy()]
        np.testing.assert_array_equal(cols, (inds.reshape(-1) * 3) % 56)
    # audio: positions (log-mel frame starts) inside [start, stop + 1/fps]
    pos = clip_frame_positions(
        clip_frame_times(inds.reshape(-1), len(inds), fps), AUDIO_FRAMES,
        LOGMEL_RATE)
    times = pos / LOGMEL_RATE  # video time of each log-mel frame read
    assert times.min() >= seg['start'] - 1e-9
    assert times.max() <= seg['stop'] + 1 / fps + 1e-9
    # ... and the tone heard is the segment's
    logmel = audios[:, 0].double().numpy()[..., bins]  # [clips, T, tones]
    mean = logmel.mean(axis=1)
    assert (mean.argmax(-1) == seg['index']).all(), mean
    others = np.delete(mean, seg['index'], axis=-1).max(-1)
    stats['audio_margin'] = min(stats.get('audio_margin', np.inf),
                                (mean[:, seg['index']] - others).min())
    own = (logmel.argmax(-1) == seg['index']).mean()
    stats['audio_frame_share'] = min(stats.get('audio_frame_share', 1.), own)
    stats['clips'] = stats.get('clips', 0) + len(audios)


@pytest.mark.parametrize('test_mode', [False, True])
def test_every_clip_comes_from_its_segment(epic, test_mode):
    """All segments of both videos (train and validation CSVs), training
    (random clips and crops, 4 draws of 2 clips) and test mode (3 clips
    spread over the segment): every frame, every audio frame and the labels
    are the segment's own."""
    np.random.seed(0)
    stats = {}
    num_clips, draws = (3, 1) if test_mode else (2, 4)
    for ann in ('train_csv', 'val_csv'):
        data = dataset(epic[ann], epic['video_root'], test_mode=test_mode,
                       pipeline=pipeline(test_mode, num_clips))
        segs = [s for s in epic['segments']
                if s['split'] == ('train' if ann == 'train_csv' else
                                  'validation')]
        for _ in range(draws):
            for i, seg in enumerate(segs):
                _check_sample(data[i], seg, epic, stats, test_mode)
    print(f'\nEPIC content check (test_mode={test_mode}): {stats}')
    assert stats['clips'] == 8 * num_clips * draws
    assert stats['frame_margin'] > 100  # colour distances, 0..255 levels
    assert stats['audio_margin'] > 1.0  # normalised log-mel
    assert stats['audio_frame_share'] >= 0.95  # per log-mel frame


def test_late_audio_is_late(epic):
    """P01_02's audio stream really starts after its picture (so the
    content check above, which hears every P01_02 segment's own tone at
    its own time, covers a late audio track)."""
    data = dataset(epic['val_csv'], epic['video_root'], test_mode=True)
    offsets = [data[i]['data_samples'].audio_offset for i in range(3)]
    assert offsets[0] == 0.0
    # 0.4 s less the AAC encoder delay (1024 samples) the stream start shows
    assert 0.3 < offsets[1] == offsets[2] <= epic['late_audio']['P01_02']


def test_negative_path_still_works(epic):
    np.random.seed(0)
    data = dataset(epic['train_csv'], epic['video_root'],
                   pipeline=pipeline(False, 2, with_negative=True))
    packed = data[1]
    assert packed['inputs']['audios'].shape == (2, 2, AUDIO_FRAMES, 80)
    _, bins = _palette(epic)
    pos = packed['inputs']['audios'][:, 0].mean(1)[:, bins].argmax(-1)
    assert pos.tolist() == [1, 1]


# ------------------------------------------------- files and unreadable


def test_video_opened_by_path_not_read_into_memory(epic, monkeypatch):
    import decord
    opened = []
    real = decord.VideoReader

    def spy(source, *args, **kwargs):
        opened.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(decord, 'VideoReader', spy)
    data = dataset(epic['train_csv'], epic['video_root'])
    data[0]
    assert opened == [data.get_data_info(0)['filename']]


@pytest.fixture
def broken_csv(epic, tmp_path):
    """The validation CSV plus a segment of a missing video (P02_01) and
    one that starts after the end of P01_01 (12 s), with labels of their
    own (a placeholder must not keep its template's)."""
    header, rows = read_csv(epic['val_csv'])
    verb, noun = header.index('verb_class'), header.index('noun_class')
    missing = list(rows[0])
    missing[:3] = ['P02_01_0', 'P02', 'P02_01']
    missing[verb], missing[noun] = '5', '123'
    late = list(rows[0])
    late[0], late[4], late[5] = 'P01_01_9', '00:00:13.00', '00:00:14.00'
    late[verb], late[noun] = '6', '124'
    return write_csv(tmp_path / 'broken.csv', header, rows + [missing, late])


def test_unreadable_segments_miss_error_redraw(epic, broken_csv):
    data = dataset(broken_csv, epic['video_root'], test_mode=True,
                   on_unreadable='miss')
    for idx, reason in ((3, 'file not found'), (4, 'after the last frame')):
        sample = data[idx]['data_samples']
        assert sample.unreadable and reason in sample.unreadable_reason
        info = data.get_data_info(idx)
        assert sample.narration_id == info['narration_id']
        assert sample.filename == info['filename']
        assert sample.gt_label.tolist() == [info['label']]
        assert sample.noun_label.tolist() == [info['noun_label']]
        assert (sample.segment_start, sample.segment_stop) == (
            info['segment_start'], info['segment_stop'])
    assert not data[0]['data_samples'].unreadable
    assert data[0]['data_samples'].narration_id == 'P01_01_3'
    strict = dataset(broken_csv, epic['video_root'], test_mode=True)
    with pytest.raises(RuntimeError, match='P02_01.MP4'):
        strict[3]
    train = dataset(broken_csv, epic['video_root'])
    assert train.prepare_data(3) is None  # redrawn by __getitem__
    event = train.prepare_data(0)['data_samples'].data_events[0]
    assert event['path'].endswith('P02/videos/P02_01.MP4')


def test_pack_noun_label_like_gt_label():
    pack = PackAVInputs()
    base = dict(imgs=np.zeros((1, 3, 2, 4, 4), np.float32),
                audios=np.zeros((1, 1, 4, 8), np.float32), label=3)
    packed = pack(dict(base, noun_label=42))['data_samples']
    assert packed.noun_label.dtype == packed.gt_label.dtype == torch.int64
    assert packed.noun_label.shape == packed.gt_label.shape == (1, )
    assert packed.noun_label.tolist() == [42]
    assert 'noun_label' not in pack(dict(base))['data_samples']


def test_fixture_is_small_and_fast(epic):
    # one short segment per video, class ids within EPIC's ranges
    segs = epic['segments']
    assert all(s['verb_class'] < 97 and s['noun_class'] < 300 for s in segs)
    short = [s for s in segs if (s['stop'] - s['start']) * epic['fps'] <
             (CLIP_LEN - 1) * INTERVAL + 1]
    assert {s['video_id'] for s in short} == {'P01_01', 'P01_02'}
    assert math.isclose(epic['late_audio']['P01_02'], 0.4)
