"""tools/demo.py --cam on a demo clip (the demo config with random weights):
the picture and the maps next to it, as the API computes them; the class
and layer options and their errors."""
import numpy as np
import pytest
from av_fixtures import DEMO_CLASSES, DEMO_CONFIG
from tool_helpers import keep_figures, load_tool

demo = load_tool('demo.py')


@pytest.fixture()
def run_cam_demo(monkeypatch, capsys):
    """Run demo.main in-process; returns (exit code, stdout, stderr,
    the Grad-CAM figure or None)."""
    figures = keep_figures(monkeypatch, 'build_cam_figure')

    def run(argv):
        code = demo.main(argv)
        out = capsys.readouterr()
        return code, out.out, out.err, figures[-1] if figures else None

    return run


def test_demo_cam_writes_the_apis_maps(run_cam_demo, demo_clips,  # noqa
                                       demo_checkpoint, demo_label_map,
                                       tmp_path):
    from mmaction_avslowfast.apis import av_gradcam, init_av_recognizer
    video = demo_clips[1][0]
    out = tmp_path / 'pics' / 'clip.png'
    code, stdout, _, figure = run_cam_demo([
        video, DEMO_CONFIG, demo_checkpoint, '--out', str(out), '--device',
        'cpu', '--label-map', demo_label_map, '--cam'])
    assert code == 0
    model = init_av_recognizer(DEMO_CONFIG, demo_checkpoint, device='cpu')
    cam = av_gradcam(model, video)
    name = DEMO_CLASSES[cam.label]
    assert (f'Grad-CAM of {name} [{cam.label}] (video score '
            f'{cam.scores[cam.label]:.4f}) on test view 0 (frames 0-30): '
            'slow.res3 (4x4x4), fast.res3 (16x4x4), audio.res5 (8x10)'
            in stdout)
    stem = tmp_path / 'pics' / 'clip'
    assert (stem.parent / 'clip_cam.png').read_bytes()[:4] == b'\x89PNG'
    with np.load(f'{stem}_cam.npz') as saved:
        assert {'imgs', 'frames_cam', 'audio', 'audio_cam',
                'label'} <= set(saved.files)
        assert saved['imgs'].dtype == np.uint8
        assert saved['imgs'].shape == (16, 32, 32, 3)
        for key, shape in (('frames_cam', (16, 32, 32)),
                           ('audio_cam', (64, 80)), ('audio', (64, 80))):
            assert saved[key].dtype == np.float32
            assert saved[key].shape == shape
        for key in ('frames_cam', 'audio_cam'):
            assert 0 <= saved[key].min() and saved[key].max() <= 1
        assert int(saved['label']) == cam.label
        for key in ('imgs', 'frames_cam', 'audio', 'audio_cam'):
            np.testing.assert_allclose(saved[key], getattr(cam, key),
                                       atol=1e-6)
        assert list(saved['layers']) == ['slow.res3', 'fast.res3',
                                         'audio.res5']
    assert name in figure._suptitle.get_text()


def test_demo_cam_class_and_layers(run_cam_demo, demo_clips,  # noqa: F811
                                   demo_checkpoint, tmp_path):
    out = tmp_path / 'c.png'
    code, stdout, _, _ = run_cam_demo([
        demo_clips[1][0], DEMO_CONFIG, demo_checkpoint, '--out', str(out),
        '--device', 'cpu', '--cam', '--cam-class', '5', '--cam-layer',
        'slow.res4,audio.res4'])
    assert code == 0
    assert ('[5] (video score' in stdout and 'slow.res4 (4x2x2), fast.res3 '
            '(16x4x4), audio.res4 (16x20)' in stdout)
    with np.load(tmp_path / 'c_cam.npz') as saved:
        assert int(saved['label']) == 5


def test_demo_cam_errors(run_cam_demo, demo_clips,  # noqa: F811
                         demo_checkpoint, tmp_path):
    argv = [demo_clips[1][0], DEMO_CONFIG, demo_checkpoint, '--out',
            str(tmp_path / 'e.png'), '--device', 'cpu']
    code, stdout, stderr, _ = run_cam_demo(
        argv + ['--cam', '--cam-layer', 'slow.res3,fast.layer2'])
    assert code == 2 and 'audiovisual' not in stdout  # refused early
    assert ("error: --cam: unknown Grad-CAM layer 'fast.layer2'; valid: "
            'slow.stem, slow.res2, slow.res3, slow.res4, slow.res5, '
            'fast.stem' in stderr)
    code, _, stderr, _ = run_cam_demo(argv + ['--cam', '--cam-class', '6'])
    assert code == 2 and 'the model has 6 classes' in stderr
    assert not (tmp_path / 'e.png').exists()
    with pytest.raises(SystemExit):
        demo.parse_args(argv[:3] + ['--cam-layer', 'slow.res3'])
