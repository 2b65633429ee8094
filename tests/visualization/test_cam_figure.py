"""build_cam_figure: the panels of the Grad-CAM picture, and the heat drawn
where the map is hot (on a hand-made AVGradCAM)."""
import numpy as np

from mmaction_avslowfast.apis import AVGradCAM
from mmaction_avslowfast.visualization import build_cam_figure
from mmaction_avslowfast.visualization.cam_figure import (heat_overlay,
                                                          strip_indices)


def hand_cam(num_frames=32):
    """Grey frames, heat 1 on the top-left quarter of every frame; audio
    heat 1 in mel bins 40..49."""
    imgs = np.full((num_frames, 32, 32, 3), 128, np.uint8)
    frames_cam = np.zeros((num_frames, 32, 32), np.float32)
    frames_cam[:, :16, :16] = 1.0
    audio_cam = np.zeros((64, 80), np.float32)
    audio_cam[:, 40:50] = 1.0
    return AVGradCAM(
        imgs=imgs, frames_cam=frames_cam, slow_cam=frames_cam,
        fast_cam=frames_cam, audio=np.zeros((64, 80), np.float32),
        audio_cam=audio_cam, label=1,
        scores=np.array([0.1, 0.7, 0.2], np.float32), view_score=2.5,
        layers=dict(slow='slow.res3', fast='fast.res3', audio='audio.res5'),
        map_sizes=dict(slow=(4, 4, 4), fast=(16, 4, 4), audio=(8, 10)),
        frame_inds=np.arange(0, 2 * num_frames, 2))


def test_panels_and_title():
    fig = build_cam_figure(hand_cam(), ['a', 'b', 'c'], 'clip.mp4')
    assert [ax.get_title() for ax in fig.axes] == [
        'frames of test view 0 as fed (video frame index)',
        "frame heat: slow.res3 + fast.res3 (summed in the class score's "
        "units)", 'log-mel of test view 0 (normalised)',
        'audio heat: audio.res5']
    assert fig._suptitle.get_text() == (
        'clip.mp4 - Grad-CAM of b (video score 0.700, view logit 2.50)\n'
        'layers: slow.res3 4x4x4, fast.res3 16x4x4, audio.res5 8x10')
    strip = fig.axes[0]
    # 16 of the 32 frames, labelled with their video frame index
    assert [t.get_text() for t in strip.get_xticklabels()][:3] == [
        '#0', '#4', '#8']
    assert len(strip.get_xticklabels()) == 16
    # the spectrogram panel with heat: the log-mel and the heat on top
    heat = fig.axes[3].get_images()[1].get_array()
    assert heat.shape == (80, 64)  # mel bins up (origin lower), time across
    assert heat[40:50].min() == 1 and heat[:40].max() == 0


def test_heat_drawn_where_the_map_is_hot():
    cam = hand_cam(4)
    blend = heat_overlay(cam.imgs, cam.frames_cam).astype(int)
    hot, cold = blend[0, 4, 4], blend[0, 28, 28]
    assert hot[0] > hot[2] + 40  # jet at 1: red
    assert cold[2] > cold[0] + 40  # jet at 0: blue
    fig = build_cam_figure(cam)
    plain = fig.axes[0].get_images()[0].get_array().astype(int)
    heated = fig.axes[1].get_images()[0].get_array().astype(int)
    assert plain.shape == heated.shape
    assert (plain[..., 0] == plain[..., 2]).all()  # grey frames
    # strips are 96 px high: the map's top-left quarter is the first 48 px
    assert (heated[:40, :40, 0] - heated[:40, :40, 2]).min() > 40
    assert (heated[56:, 56:90, 2] - heated[56:, 56:90, 0]).min() > 40


def test_strip_indices():
    np.testing.assert_array_equal(strip_indices(4, 16), [0, 1, 2, 3])
    idx = strip_indices(32, 16)
    assert len(idx) == 16 and idx[0] == 0 and idx[-1] == 31
