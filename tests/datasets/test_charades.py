"""CharadesDataset + CharadesClipLabel: CSV parsing by header, optional
class list, empty actions, and, on the synthetic fixture whose picture and
sound follow the actions, the training targets of the real config's
pipeline checked against the decoded frames (and the audio, also for a
track that starts after the picture)."""
import copy
import csv
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmaction.registry import DATASETS, TRANSFORMS
from mmaction_avslowfast.datasets.transforms.charades_labels import \
    active_actions
from mmaction_avslowfast.testing.synthetic_charades import (
    HEADER, active_mask, frame_labels, mask_labels, set_frequency,
    write_charades_fixture)
from mmaction_avslowfast.testing.synthetic_media import (mel_bin,
                                                       write_av_video)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'avslowfast_r50_charades.py')


@pytest.fixture(scope='module')
def fixture(tmp_path_factory):
    return write_charades_fixture(str(tmp_path_factory.mktemp('charades')))


@pytest.fixture(scope='module')
def cfg():
    init_default_scope('mmaction')
    return Config.fromfile(CONFIG)


def build(cfg, split, ann_file, video_dir, **overrides):
    """The config's dataset with only ann_file / data_prefix.video set."""
    dataset = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    dataset.update(ann_file=ann_file, data_prefix=dict(video=video_dir),
                   **overrides)
    return DATASETS.build(dataset)


def write_csv(path, rows, header=HEADER):
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction='ignore')
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, '') for k in header})
    return str(path)


def labels_of(vector):
    return tuple(np.flatnonzero(np.asarray(vector) > 0.5).tolist())


# ------------------------------------------------------------- parsing


def test_csv_read_by_header_classes_file_optional(tmp_path):
    header = ('length', 'actions', 'notes', 'id')  # any order, extra columns
    ann = write_csv(tmp_path / 'ann.csv', [
        dict(id='AAA', actions='c092 11.90 21.20;c147 0.00 12.60',
             length='30.5', notes='a, "quoted" note'),
        dict(id='BBB', actions='', length='12'),
    ], header)
    ds = DATASETS.build(
        dict(type='CharadesDataset', ann_file=ann, pipeline=[],
             data_prefix=dict(video='/v'), suffix='.webm', test_mode=True))
    assert len(ds) == 2 and 'classes' not in ds.metainfo  # no class list
    a, b = ds.get_data_info(0), ds.get_data_info(1)
    assert a['filename'] == '/v/AAA.webm' and a['video_id'] == 'AAA'
    assert a['action_labels'].tolist() == [92, 147]
    np.testing.assert_allclose(a['action_spans'], [[11.9, 21.2], [0, 12.6]],
                               rtol=1e-6)
    assert a['length'] == 30.5
    assert a['label'].dtype == torch.float32 and a['label'].shape == (157, )
    assert labels_of(a['label']) == (92, 147)
    # empty actions: kept, all-zero target
    assert b['action_labels'].size == 0 and float(b['label'].sum()) == 0

    names = ['Holding some clothes'] + [f'x {k}' for k in range(1, 157)]
    (tmp_path / 'Charades_v1_classes.txt').write_text(''.join(
        f'c{k:03d} {n}\n' for k, n in enumerate(names)))
    ds = DATASETS.build(
        dict(type='CharadesDataset', ann_file=ann, pipeline=[],
             test_mode=True))
    assert ds.metainfo['classes'][0] == 'Holding some clothes'
    assert len(ds.metainfo['classes']) == 157


@pytest.mark.parametrize('actions, message', [
    ('c092 11.90', 'malformed action'),
    ('x092 1 2', 'malformed action'),
    ('c157 1 2', 'outside c000..c156'),
    ('c001 5 2', 'ends before it starts'),
])
def test_bad_action_names_file_and_line(tmp_path, actions, message):
    ann = write_csv(tmp_path / 'bad.csv',
                    [dict(id='A', actions='c001 0 1', length='3'),
                     dict(id='B', actions=actions, length='3')])
    with pytest.raises(ValueError, match=message) as err:
        DATASETS.build(dict(type='CharadesDataset', ann_file=ann,
                            pipeline=[], test_mode=True))
    assert f'{ann}:3' in str(err.value)


def test_bad_header_and_classes_file(tmp_path):
    ann = write_csv(tmp_path / 'a.csv', [dict(id='A')], ('id', 'length'))
    with pytest.raises(ValueError, match=r"a.csv: no column \['actions'\]"):
        DATASETS.build(dict(type='CharadesDataset', ann_file=ann,
                            pipeline=[], test_mode=True))
    ann = write_csv(tmp_path / 'b.csv', [dict(id='A', actions='')])
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        DATASETS.build(dict(type='CharadesDataset', ann_file=ann,
                            pipeline=[], classes_file='nope.txt',
                            test_mode=True))
    (tmp_path / 'Charades_v1_classes.txt').write_text('c000 a\nc002 b\n')
    with pytest.raises(ValueError, match='expected class c001'):
        DATASETS.build(dict(type='CharadesDataset', ann_file=ann,
                            pipeline=[], test_mode=True))


def test_training_pipeline_without_clip_label_warns(tmp_path, capsys):
    ann = write_csv(tmp_path / 'a.csv', [dict(id='A', actions='')])
    MMLogger.get_instance('charades_warn_test')  # a current logger
    DATASETS.build(dict(type='CharadesDataset', ann_file=ann, pipeline=[]))
    out = capsys.readouterr()
    assert 'no CharadesClipLabel' in out.out + out.err


def test_overlap_rule_at_the_clip_edges():
    fps, inds = 10.0, np.array([20, 22, 24, 26])  # t 2.0 .. 2.6, end 2.7
    actions = {  # label: (start, end)
        1: (0.0, 2.0),  # ends where the clip starts: out
        2: (0.0, 2.01),  # overlaps the first frame: in
        3: (2.7, 4.0),  # starts where the last frame ends: out
        4: (2.65, 4.0),  # inside the last frame: in
        5: (2.1, 2.15),  # between two sampled frames: in (span rule)
        6: (2.3, 2.3),  # zero length inside: in
        7: (2.7, 2.7),  # zero length at the end: out
    }
    labels = np.array(list(actions))
    spans = np.array(list(actions.values()))
    assert active_actions(labels, spans, 2.0, 2.7).tolist() == [2, 4, 5, 6]
    t = TRANSFORMS.build(dict(type='CharadesClipLabel'))
    out = t(dict(action_labels=labels, action_spans=spans, num_classes=157,
                 frame_inds=inds, num_clips=1, avg_fps=fps))
    assert out['label'].dtype == np.float32
    assert labels_of(out['label']) == (2, 4, 5, 6)
    # two clips (t 0-0.7 s, 3.2-3.9 s): the union of the clips' actions,
    # not of the span between them (5, 6, 7); video level: every action
    out = t(dict(action_labels=labels, action_spans=spans, num_classes=157,
                 frame_inds=np.r_[inds - 20, inds + 12], num_clips=2,
                 avg_fps=fps))
    assert labels_of(out['label']) == (1, 2, 3, 4)
    video = TRANSFORMS.build(dict(type='CharadesClipLabel', video_level=True))
    out = video(dict(action_labels=labels, action_spans=spans,
                     num_classes=157))
    assert labels_of(out['label']) == tuple(range(1, 8))


# ------------------------------------------------------------- content


def test_training_targets_follow_the_clip_content(fixture, cfg):
    """Real training pipeline: target == actions overlapping the clip ==
    actions shown by its decoded frames; audio tone == active set, also
    for TRN02 whose audio track starts 0.5 s after the picture."""
    ds = build(cfg, 'train', fixture['train_csv'], fixture['video_dir'])
    pack = ds.pipeline.transforms[-1]
    pack.meta_keys = tuple(pack.meta_keys) + ('frame_inds', 'avg_fps')
    rng_state = np.random.get_state()
    np.random.seed(0)
    figures = dict(clips=0, target_ok=0, frames_ok=0, frames=0,
                   changing=0, multi=0, empty=0, audio_frames=0, audio_ok=0,
                   late_audio_frames=0, late_audio_ok=0)
    try:
        for idx in range(len(ds)):
            video_id = ds.get_data_info(idx)['video_id']
            truth = fixture['videos'][video_id]
            for _ in range(12):
                out = ds[idx]
                check_clip(out, truth, figures)
    finally:
        np.random.set_state(rng_state)
    print('\ncontent check figures:', figures)
    assert figures['target_ok'] == figures['clips'] == 48
    assert figures['frames_ok'] == figures['frames'] == 48 * 32
    # the draws cover clips across a change of the active set, with two or
    # more actions and with none
    assert figures['changing'] >= 20 and figures['multi'] >= 10
    assert figures['empty'] >= 12
    assert figures['audio_ok'] >= 0.98 * figures['audio_frames'] > 0
    assert figures['late_audio_ok'] >= \
        0.98 * figures['late_audio_frames'] > 0


def check_clip(out, truth, figures):
    sample = out['data_samples']
    fps = sample.avg_fps
    inds = np.asarray(sample.frame_inds)
    t0, t1 = inds[0] / fps, inds[-1] / fps + 1 / fps
    expected = tuple(sorted({c for c, s, e in truth['actions']
                             if s < t1 and e > t0}))
    label = sample.gt_label
    assert label.dtype == torch.float32 and label.shape == (157, )
    figures['clips'] += 1
    figures['target_ok'] += labels_of(label) == expected
    imgs = out['inputs']['imgs'][0]  # [C, T, H, W] after rescale/crop/flip
    seen = set()
    masks = set()
    for j, ind in enumerate(inds):
        shown = frame_labels(imgs[:, j].permute(1, 2, 0).numpy())
        mask = active_mask(truth['actions'], ind / fps)
        figures['frames'] += 1
        figures['frames_ok'] += shown == mask_labels(mask)
        seen.update(shown)
        masks.add(mask)
    assert tuple(sorted(seen)) == expected  # the frames show the target
    figures['changing'] += len(masks) > 1
    figures['multi'] += len(expected) > 1
    figures['empty'] += not expected
    # audio: output log-mel frame k reads time t0 + k * (t_last - t0) / (K-1)
    logmel = out['inputs']['audios'][0, 0].numpy()  # [K, n_mels]
    times = np.linspace(inds[0] / fps, inds[-1] / fps, len(logmel))
    for t, frame in zip(times, logmel):
        if t < truth['audio_start'] + 0.1:
            continue  # before the audio track starts
        masks_near = {active_mask(truth['actions'], t + d)
                      for d in (-0.1, 0.0, 0.1)}
        if len(masks_near) > 1 or not masks_near.pop():
            continue  # near a change, or silence
        freq = set_frequency(active_mask(truth['actions'], t))
        ok = abs(int(np.argmax(frame)) - mel_bin(freq)) <= 1
        key = 'late_audio' if truth['audio_start'] else 'audio'
        figures[f'{key}_frames'] += 1
        figures[f'{key}_ok'] += ok


def test_test_targets_are_video_level_and_miss_placeholder(
        fixture, cfg, tmp_path):
    rows = list(csv.DictReader(open(fixture['test_csv'])))
    extra = {'MISSING': (156, ), 'NOAUDIO': (3, 92)}
    write_av_video(osp.join(fixture['video_dir'], 'NOAUDIO.mp4'),
                   duration=3.0, fps=16, size=(80, 64), with_audio=False)
    rows.append(dict(rows[0], id='MISSING', actions='c156 0.00 1.00'))
    rows.append(dict(rows[0], id='NOAUDIO',
                     actions='c092 0.00 1.00;c003 2.00 3.00'))
    ann = write_csv(tmp_path / 'Charades_v1_test.csv', rows)
    ds = build(cfg, 'val', ann, fixture['video_dir'])  # on_unreadable=miss
    assert ds.on_unreadable == 'miss'
    for idx, row in enumerate(rows):
        sample = ds[idx]['data_samples']
        expected = extra.get(row['id']) or tuple(sorted({
            c for c, _, _ in fixture['videos'][row['id']]['actions']
        }))
        assert sample.gt_label.dtype == torch.float32
        assert labels_of(sample.gt_label) == expected, row['id']
        assert sample.unreadable == (row['id'] == 'MISSING')
        # a video without audio: silence, flagged, same target
        assert sample.audio_valid == (row['id'] not in extra)
