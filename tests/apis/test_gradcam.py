"""av_gradcam's mechanics on the demo config with random weights: the
default layers and their map sizes, the view's inputs, the layer names and
their errors, the Grad-CAM arithmetic, and a model left as it was."""
import numpy as np
import pytest
import torch
from av_fixtures import DEMO_CONFIG

from mmaction_avslowfast.apis import (av_gradcam, inference_av,
                                      init_av_recognizer)
from mmaction_avslowfast.apis.gradcam import (cam_stages, grad_cam_map,
                                              parse_cam_layers)


@pytest.fixture(scope='module')
def random_model(demo_checkpoint):
    return init_av_recognizer(DEMO_CONFIG, demo_checkpoint, device='cpu')


@pytest.fixture(scope='module')
def clip(demo_clips):  # noqa: F811
    return demo_clips[1][1]  # left_high_0000


@pytest.fixture(scope='module')
def default_cam(random_model, clip):
    return av_gradcam(random_model, clip)


def test_default_layers_are_the_deepest_with_4x4_maps(default_cam):
    """Demo model at its 32-px crop: res3 is 4x4 (res4 2x2); the audio
    res5 is 8x10."""
    assert default_cam.layers == dict(slow='slow.res3', fast='fast.res3',
                                      audio='audio.res5')
    assert default_cam.map_sizes == dict(slow=(4, 4, 4), fast=(16, 4, 4),
                                         audio=(8, 10))


def test_maps_and_inputs_of_the_first_view(random_model, api_media):
    """A 3-s video (48 frames): the 3 test clips start at frames 0, 8 and
    17; the maps cover the first, its frames and its log-mel as fed."""
    import decord
    import mmcv

    from mmaction_avslowfast.apis import (build_test_pipeline,
                                          run_test_pipeline)
    from mmaction_avslowfast.apis.inference import video_input
    video = api_media['high']
    cam = av_gradcam(random_model, video)
    assert cam.imgs.shape == (16, 32, 32, 3) and cam.imgs.dtype == np.uint8
    for maps in (cam.frames_cam, cam.slow_cam, cam.fast_cam):
        assert maps.shape == (16, 32, 32) and maps.dtype == np.float32
        assert maps.min() >= 0 and maps.max() == pytest.approx(1.0)
    assert cam.audio.shape == cam.audio_cam.shape == (64, 80)
    assert cam.audio_cam.min() >= 0 and cam.audio_cam.max() == \
        pytest.approx(1.0)
    # the frames: the first test clip's, decoded and resized to 32x32
    np.testing.assert_array_equal(cam.frame_inds, np.arange(0, 32, 2))
    reader = decord.VideoReader(video, num_threads=1)
    frames = reader.get_batch(list(cam.frame_inds)).asnumpy()
    resized = np.stack([mmcv.imresize(f, (32, 32)) for f in frames])
    assert np.abs(resized.astype(int) - cam.imgs).max() <= 1
    # the log-mel: the first view's (the views' differ)
    packed, _ = run_test_pipeline(build_test_pipeline(random_model.cfg),
                                  video_input(video))
    audios = packed['inputs']['audios'].numpy()
    np.testing.assert_allclose(cam.audio, audios[0, 0], atol=1e-6)
    assert np.abs(audios[1, 0] - audios[0, 0]).max() > 0.1
    # the class: the video's top-1 over its 3 views, as inference_av
    scores = inference_av(random_model, video).pred_score.numpy()
    np.testing.assert_allclose(cam.scores, scores, rtol=1e-5, atol=1e-6)
    assert cam.label == int(scores.argmax())


def test_frame_map_is_a_sum_of_the_pathway_maps(default_cam):
    """frames_cam = a * slow_cam + b * fast_cam, a, b > 0 (the raw maps'
    sum, scaled to max 1)."""
    basis = np.stack([default_cam.slow_cam.ravel(),
                      default_cam.fast_cam.ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(basis, default_cam.frames_cam.ravel(),
                               rcond=None)
    assert (coef > 0.01).all()
    np.testing.assert_allclose(basis @ coef, default_cam.frames_cam.ravel(),
                               atol=1e-5)


def test_model_is_left_unchanged(demo_checkpoint, clip):
    model = init_av_recognizer(DEMO_CONFIG, demo_checkpoint, device='cpu')
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    iteration = model.backbone.drop_iteration
    av_gradcam(model, clip, target=3)
    assert model.training  # mode restored; the CAM ran in eval mode:
    assert model.backbone.drop_iteration == iteration  # no DropPathway
    after = model.state_dict()  # BN running statistics untouched
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks or m._backward_hooks
                   for m in model.modules())


def test_named_layers_and_class(random_model, clip):
    cam = av_gradcam(random_model, clip, layers='slow.res5, audio.stem',
                     target=4)
    assert cam.layers == dict(slow='slow.res5', fast='fast.res3',
                              audio='audio.stem')
    assert cam.map_sizes['slow'] == (4, 1, 1)
    assert cam.map_sizes['audio'] == (64, 80)
    assert cam.label == 4
    # a 1x1 Slow map upsampled is constant over each frame
    assert np.ptp(cam.slow_cam, axis=(1, 2)).max() < 1e-6


def test_wrong_layer_names_list_the_valid_ones(random_model, clip):
    valid = list(cam_stages(random_model.backbone))
    assert valid[:2] == ['slow.stem', 'slow.res2'] and len(valid) == 15
    with pytest.raises(ValueError, match=r"'slow\.res6'.*valid: slow\.stem, "
                       r'slow\.res2, .*audio\.res5'):
        parse_cam_layers('slow.res6', valid)
    with pytest.raises(ValueError, match='two Grad-CAM layers for'):
        parse_cam_layers(['fast.res2', 'fast.res4'], valid)
    with pytest.raises(ValueError, match='out of range'):
        av_gradcam(random_model, clip, target=6)


def test_grad_cam_map_arithmetic():
    """Frames: channel weights = mean gradient over h, w per time step;
    audio: over t, f; ReLU; upsampled; scaled to max 1 (or kept in the
    score's units, per pixel)."""
    act = torch.zeros(1, 2, 2, 2, 2)
    act[0, 0, :, 0, 0] = 1.0  # channel 0: top-left
    act[0, 1, :, 1, 1] = 2.0  # channel 1: bottom-right
    grad = torch.zeros_like(act)
    grad[0, 0, 0], grad[0, 1, 0] = 1.0, -1.0  # t=0: channel 0 counts
    grad[0, 0, 1], grad[0, 1, 1] = -1.0, 1.0  # t=1: channel 1 counts
    cam = grad_cam_map(act, grad, (2, 2, 2))
    expected = torch.tensor([[[0.5, 0], [0, 0]], [[0, 0], [0, 1.0]]])
    torch.testing.assert_close(cam, expected)
    audio = torch.zeros(1, 2, 2, 2)
    audio[0, 0, 0, 1] = audio[0, 1, 1, 0] = 1.0
    grad = torch.ones_like(audio)
    grad[0, 1] = -3.0  # one weight per channel: channel 1 removed
    cam = grad_cam_map(audio, grad, (4, 4))
    assert cam.shape == (4, 4) and cam.max() == 1.0
    assert cam[0, 3] == 1.0 and cam[:2, 2:].mean() > 0.5
    assert cam[3, 0] == 0 and cam[2:, 2:].max() < 0.5
    assert grad_cam_map(audio, None, (4, 4)).abs().max() == 0
    # unscaled: the score's units, the total over the cells kept
    act = torch.rand(1, 3, 2, 4, 4)
    grad = torch.rand(1, 3, 2, 4, 4)
    cells = torch.relu(
        (grad.mean(dim=(3, 4), keepdim=True) * act).sum(dim=1))
    raw = grad_cam_map(act, grad, (8, 32, 32), scale=False)
    assert raw.sum().item() == pytest.approx(cells.sum().item(), rel=1e-5)
    torch.testing.assert_close(grad_cam_map(act, grad, (8, 32, 32)),
                               raw / raw.max())


def test_refuses_what_it_cannot_explain(random_model, clip, monkeypatch):
    """A head with several score sets (EPIC's verbs and nouns), a backbone
    without the three pathways; the model keeps no hook either way."""
    head = random_model.cls_head
    monkeypatch.setattr(head, 'forward', lambda x: (head.fc_cls(
        torch.cat([head.pool(f) for f in x], 1)), ) * 2)
    with pytest.raises(TypeError, match='several score sets'):
        av_gradcam(random_model, clip)
    assert not any(m._forward_hooks for m in random_model.modules())
    with pytest.raises(TypeError, match='needs an AVSlowFast backbone'):
        cam_stages(torch.nn.Conv3d(3, 3, 1))
