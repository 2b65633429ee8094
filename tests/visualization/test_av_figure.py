"""build_av_figure: the panels of the demo picture (checked on the figure
object, not on pixels)."""
import numpy as np
import pytest
from av_fixtures import TONE_CLASSES
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from mmaction_avslowfast.apis import (compare_modalities, describe_video,
                                      frame_strip, inference_timeline,
                                      track_logmel)
from mmaction_avslowfast.visualization import build_av_figure


def make_figure(model, video, timeline=None, topk=5):
    comparison = compare_modalities(model, video)
    frames, times = frame_strip(video, 6)
    return build_av_figure(describe_video(video), comparison,
                           track_logmel(video), frames, times, TONE_CLASSES,
                           topk, timeline), comparison


def titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_panels_with_audio_and_timeline(tone_model, api_media):
    video = api_media['low']
    timeline = inference_timeline(tone_model, video, stride=0.5)
    fig, comparison = make_figure(tone_model, video, timeline)
    strip, track, line, *bars = fig.axes  # creation order
    assert titles(fig)[:3] == [
        'frames', 'log-mel of the whole audio track; boxes: the 3 test clips',
        'timeline: one clip every 0.5 s (audiovisual), top classes']
    assert [ax.get_title() for ax in bars] == [
        'audiovisual', 'audio -> digital silence', 'frames -> mean grey']
    assert fig._suptitle.get_text() == (
        'low.mp4 - 3.00 s, 16.0 fps, 64x48 - audio 44100 Hz, 2 ch')
    # strip: 6 frames of 48 px rows scaled to 96 px, 4-px gaps
    image = strip.get_images()[0].get_array()
    assert image.shape == (96, 6 * 128 + 5 * 4, 3)
    assert [t.get_text() for t in strip.get_xticklabels()][:2] == [
        '0.0 s', '0.6 s']
    # spectrogram: [n_mels, T] image over the track, one box per clip
    spec = [im for im in track.get_images() if isinstance(im, AxesImage)]
    assert spec[0].get_array().shape[0] == 80
    assert spec[0].get_extent()[1] == pytest.approx(3.0, abs=0.05)
    boxes = [p for p in track.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 3
    assert boxes[0].get_x() == pytest.approx(0.0)
    # timeline: one curve per class (2 classes), legend with the names
    assert [ln.get_label() for ln in line.get_lines()] == ['low_tone',
                                                           'high_tone']
    np.testing.assert_allclose(line.get_lines()[0].get_xdata(),
                               timeline.centers)
    # bars: the top-2 names in score order, per condition
    first = [t.get_text() for t in bars[0].get_yticklabels()]
    assert first == ['low_tone', 'high_tone']
    assert len(bars[0].patches) == 2
    assert bars[0].patches[0].get_width() == pytest.approx(
        comparison.scores['audiovisual'].max(), rel=1e-6)


def test_panels_without_audio(tone_model, api_media):
    fig, _ = make_figure(tone_model, api_media['silent'], topk=1)
    assert len(fig.axes) == 5  # no timeline
    track = fig.axes[1]
    assert not track.get_images()
    assert any('no audio track' in t.get_text() for t in track.texts)
    assert fig._suptitle.get_text().endswith('- no audio')
    assert all(len(ax.patches) == 1 for ax in fig.axes[2:])
