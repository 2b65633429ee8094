"""inference_timeline: one clip every stride seconds, on a video whose tone
(and so the tone-probe model's class) changes half-way."""
import csv
import json

import numpy as np
import pytest
from av_fixtures import TONE_CLASSES

from mmaction_avslowfast.apis import (inference_timeline, save_timeline,
                                      window_offsets)

SWITCH = 10.0  # s, where api_media['switch'] changes from low to high


@pytest.fixture(scope='module')
def switch_timeline(tone_model, api_media):
    return inference_timeline(tone_model, api_media['switch'], stride=1.0,
                              batch_size=8)


def test_timeline_changes_class_at_the_switch(switch_timeline):
    timeline = switch_timeline
    # 320 frames at 16 fps, 31-frame clips: starts 0, 1, ..., 18 s
    np.testing.assert_allclose(timeline.starts, np.arange(19.0))
    np.testing.assert_allclose(timeline.ends - timeline.starts, 30 / 16)
    top1 = timeline.scores.argmax(axis=1)
    before = timeline.ends < SWITCH
    after = timeline.starts >= SWITCH
    assert before.sum() == 9 and after.sum() == 9
    assert np.all(top1[before] == 0) and np.all(top1[after] == 1)
    assert timeline.scores[before, 0].min() > 0.99
    assert timeline.scores[after, 1].min() > 0.99
    segments = timeline.top1_segments()
    assert [s['label'] for s in segments] == [0, 1]
    # the class changes between two consecutive clip centres around 10 s
    boundary = (segments[0]['end'] + segments[1]['start']) / 2
    assert abs(boundary - SWITCH) <= 0.5 + 1e-6


def test_timeline_files(switch_timeline, tmp_path):
    csv_path, json_path = tmp_path / 't.csv', tmp_path / 't.json'
    save_timeline(switch_timeline, str(csv_path), str(json_path),
                  TONE_CLASSES, meta=dict(video='switch.mp4'))
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 19
    assert list(rows[0]) == ['start', 'end', 'center', 'top1'] + TONE_CLASSES
    assert rows[0]['top1'] == 'low_tone' and rows[-1]['top1'] == 'high_tone'
    data = json.loads(json_path.read_text())
    assert data['video'] == 'switch.mp4' and data['stride'] == 1.0
    assert [s['label'] for s in data['top1_segments']] == TONE_CLASSES
    assert len(data['windows']) == 19


def test_timeline_of_a_short_video_is_one_looped_clip(tone_model, api_media):
    timeline = inference_timeline(tone_model, api_media['short'], stride=0.5)
    assert timeline.looped
    assert timeline.scores.shape == (1, 2)
    assert timeline.scores[0].argmax() == 0


def test_window_offsets():
    np.testing.assert_array_equal(window_offsets(320, 16, 31, 1.0),
                                  np.arange(19) * 16)
    np.testing.assert_array_equal(window_offsets(100, 30, 31, 0.5),
                                  [0, 15, 30, 45, 60])
    np.testing.assert_array_equal(window_offsets(16, 16, 31, 1.0), [0])
    with pytest.raises(ValueError):
        window_offsets(100, 30, 31, 0)
