"""Grad-CAM points at the evidence, on demo clips with the hand-built
probe recognizer of ``tests/cam_fixtures.py`` (motion energy on the frames,
tone bands on the log-mel): the frame heat lies on the moving square and
the audio heat in the tone's mel band, measured against the generator's
truth with tools/cam_report.py's figures (heat share / area share). The
trained demo model's figures are in docs/gradcam.md."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cam_fixtures import MOTIONS
from tool_helpers import load_tool

from mmaction_avslowfast.apis import av_gradcam

report = load_tool('cam_report.py')


@pytest.fixture(scope='module')
def rows(probe_model, demo_clips):  # noqa: F811
    return [report.measure_clip(probe_model, video)
            for video in demo_clips[1]]


def test_truth_matches_the_decoded_clips(probe_model, demo_clips):  # noqa
    """The re-rendered square lies on the bright pixels of the frames the
    model was fed (the truth the figures use is the clip's)."""
    for video in demo_clips[1][::3]:
        truth = report.clip_truth(video)
        cam = av_gradcam(probe_model, video, target=truth.label)
        masks = report.fed_masks(truth.masks, cam.frame_inds, (32, 32))
        bright = cam.imgs.min(axis=-1)
        assert bright[masks > 0.9].mean() > 150
        assert bright[masks < 0.1].mean() < 100


def test_frame_heat_lies_on_the_moving_square(rows):
    """Every class: heat share inside the square >= 1.5x its area share,
    on average over its clips; the true class's map beats both controls
    (the other motion's gradient, the map flipped left-right)."""
    for label in range(6):
        ratios = [r['frame'] for r in rows if r['label'] == label]
        assert len(ratios) == 2 and np.mean(ratios) >= 1.5, (label, ratios)
    for control in ('frame_other_motion', 'frame_flipped'):
        assert np.mean([r['frame'] for r in rows]) > 1.5 * np.mean(
            [r[control] for r in rows]), control


def test_audio_heat_lies_in_the_tone_band(rows):
    high = [r['audio'] for r in rows if r['sound'] == 'high']
    assert len(high) == 6 and np.mean(high) >= 1.5, high
    # the probe has explicit low-band evidence; reported, not required
    low = [r['audio'] for r in rows if r['sound'] == 'low']
    print(f'low-tone clips: audio heat in the low band {np.mean(low):.2f}x')


def test_fast_map_is_the_class_motion_energy(probe_model, demo_clips):  # noqa
    """The probe's Fast res5 feeds the head through a mean: the gradient is
    a constant, so Grad-CAM returns the class's motion channel itself,
    upsampled trilinearly and scaled to max 1."""
    video = demo_clips[1][4]  # right_low_0000
    cam = av_gradcam(probe_model, video, layers='fast.res5', target=2)
    inputs = {'imgs': torch.from_numpy(cam.imgs).permute(3, 0, 1, 2)[None]}
    feed = probe_model.data_preprocessor.preprocessors['imgs']
    imgs = (inputs['imgs'].float() - feed.mean.view(1, 3, 1, 1, 1)) / \
        feed.std.view(1, 3, 1, 1, 1)
    energy = probe_model.backbone.fast_path(imgs)[:, MOTIONS.index('right')]
    expected = F.interpolate(energy[:, None], size=(16, 32, 32),
                             mode='trilinear', align_corners=False)[0, 0]
    np.testing.assert_allclose(cam.fast_cam, expected / expected.max(),
                               atol=1e-4)
