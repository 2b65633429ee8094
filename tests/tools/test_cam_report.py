"""tools/cam_report.py: the generator's truth (the square in every frame,
the tone's mel band), the heat ratio, and the report's table and JSON (the
demo config with random weights; the figures' meaning is tested with the
probe model in tests/apis/test_gradcam_content.py)."""
import json

import numpy as np
import pytest
from av_fixtures import DEMO_CONFIG
from tool_helpers import load_tool

report = load_tool('cam_report.py')


def test_clip_truth_follows_the_square(demo_clips):  # noqa: F811
    videos = demo_clips[1]
    expected = dict(left=(-1, 0), right=(1, 0), up=(0, -1))
    for video in videos[::2]:  # one clip per class
        truth = report.clip_truth(video)
        assert truth.masks.shape == (32, 64, 64)
        ys, xs = [], []
        for mask in truth.masks:  # a filled square in every frame
            rows, cols = np.nonzero(mask)
            side = rows.max() - rows.min() + 1
            assert cols.max() - cols.min() + 1 == side
            assert mask.sum() == side * side and 16 <= side <= 21
            ys.append(rows.mean())
            xs.append(cols.mean())
        dx, dy = np.sign(xs[-1] - xs[0]), np.sign(ys[-1] - ys[0])
        assert (dx, dy) == expected[truth.motion], video
    with pytest.raises(ValueError, match='not a clip of make_demo_dataset'):
        report.clip_truth('/tmp/videos_test/left_low/other_0000.mp4')


def test_band_mask_and_heat_ratio():
    high = report.band_mask('high', (64, 80))
    assert high.shape == (64, 80)
    assert np.nonzero(high[0])[0].tolist() == list(range(40, 50))
    low = report.band_mask('low', (4, 80))
    assert np.nonzero(low[0])[0].tolist() == list(range(10, 16))
    mask = np.zeros((2, 4, 4), np.float32)
    mask[:, :2, :2] = 1  # a quarter of the area
    assert report.heat_ratio(np.ones_like(mask), mask) == pytest.approx(1.0)
    assert report.heat_ratio(mask * 0.3, mask) == pytest.approx(4.0)
    assert report.heat_ratio(1 - mask, mask) == 0.0
    assert report.heat_ratio(np.zeros_like(mask), mask) == 0.0


def test_report_table_and_json(demo_clips, demo_checkpoint, tmp_path,  # noqa
                               capsys):
    out = tmp_path / 'cam.json'
    assert report.main([DEMO_CONFIG, demo_checkpoint, '--data',
                        demo_clips[0], '--per-class', '1', '--json',
                        str(out)]) == 0
    printed = capsys.readouterr().out
    assert ('Grad-CAM on 6 test clips of' in printed and
            'layers slow.res3, fast.res3, audio.res5' in printed)
    rows = [line for line in printed.splitlines() if line.startswith('| ')]
    assert [r.split(' | ')[0][2:] for r in rows[1:]] == [
        'left_low', 'left_high', 'right_low', 'right_high', 'up_low',
        'up_high', 'all']
    assert 'frame heat on the square:' in printed
    assert 'audio heat in the high band (high-tone clips):' in printed
    clips = json.loads(out.read_text())['clips']
    assert [c['label'] for c in clips] == list(range(6))
    table_all = rows[-1].split(' | ')
    assert float(table_all[3].rstrip('x')) == pytest.approx(
        np.mean([c['frame'] for c in clips]), abs=0.006)
