"""tools/demo.py on synthesized videos: exit code, printed classes (as
``inference_recognizer``'s), the picture's panels, short videos and the
timeline. Fixtures (videos, the tone-probe model, the demo config with
random weights) come from ``tests/av_fixtures.py``."""
import json
import os.path as osp
import re

import numpy as np
import pytest
from av_fixtures import DEMO_CLASSES, DEMO_CONFIG
from tool_helpers import keep_figures, load_tool

demo = load_tool('demo.py')

ROW = re.compile(r'^\s+(\d+)\. (.+?)\s+(\d\.\d{4})  \[(\d+)\]$')
CONDITION_TITLES = ('audiovisual', 'audio -> digital silence',
                    'frames -> mean grey')


def printed_topk(out):
    """condition title -> [(name, score, index)] from demo's stdout."""
    blocks, current = {}, None
    for line in out.splitlines():
        head = line.split(' (')[0].rstrip(':')
        if head in CONDITION_TITLES:
            current = blocks.setdefault(head, [])
        elif ROW.match(line) and current is not None:
            _, name, score, index = ROW.match(line).groups()
            current.append((name, float(score), int(index)))
    return blocks


@pytest.fixture()
def run_demo(monkeypatch, capsys):
    """Run demo.main in-process; returns (exit code, stdout, figure)."""
    figures = keep_figures(monkeypatch, 'build_av_figure')

    def run(argv):
        code = demo.main(argv)
        figure = figures[-1] if figures else None
        return code, capsys.readouterr().out, figure

    return run


@pytest.mark.parametrize('name', ['low', 'silent'])
def test_demo_prints_inference_recognizers_classes(
        run_demo, api_media, demo_checkpoint, demo_label_map, tmp_path,
        name):
    """Demo config, random weights: the audiovisual top-5 is
    inference_recognizer's; with a label map (low) and without one, the
    checkpoint naming no classes (silent: indices)."""
    from mmaction.apis import inference_recognizer, init_recognizer
    config = DEMO_CONFIG
    video, out = api_media[name], tmp_path / f'{name}.png'
    argv = [video, config, demo_checkpoint, '--out', str(out), '--device',
            'cpu']
    if name == 'low':
        argv += ['--label-map', demo_label_map]
    code, stdout, figure = run_demo(argv)
    assert code == 0
    model = init_recognizer(config, demo_checkpoint, device='cpu')
    scores = inference_recognizer(model, video).pred_score.numpy()
    order = np.argsort(-scores, kind='stable')[:5]
    names = (DEMO_CLASSES if name == 'low' else
             [f'class {i}' for i in range(6)])
    blocks = printed_topk(stdout)
    assert list(blocks) == list(CONDITION_TITLES)
    assert [(n, i) for n, _, i in blocks['audiovisual']] == [
        (names[i], int(i)) for i in order]
    np.testing.assert_allclose([s for _, s, _ in blocks['audiovisual']],
                               scores[order], atol=5e-5)
    if name == 'low':
        assert 'audio: 44100 Hz, 2 channel(s)' in stdout
        assert 'no usable audio' not in stdout
    else:
        assert 'no usable audio track' in stdout
        assert 'printing class indices' in stdout
    assert 'test pipeline: 3 clip(s) x 16 frames (interval 2)' in stdout
    assert f'picture: {out}' in stdout
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert [ax.get_title() for ax in figure.axes] == [
        'frames', 'log-mel of the whole audio track; boxes: the 3 test '
        'clips', *CONDITION_TITLES]
    assert osp.basename(video) in figure._suptitle.get_text()


def test_demo_timeline(run_demo, api_media, tone_model_files, tmp_path,
                       monkeypatch):
    """Tone-probe model on the 20-s video whose tone changes at 10 s: the
    printed timeline changes class there; CSV and JSON next to the picture;
    class names from the checkpoint."""
    folder, config, checkpoint = tone_model_files
    monkeypatch.syspath_prepend(folder)
    out = tmp_path / 'pics' / 'switch.png'
    code, stdout, figure = run_demo([
        api_media['switch'], config, checkpoint, '--out', str(out),
        '--timeline', '--stride', '1', '--device', 'cpu'])
    assert code == 0
    lines = stdout.splitlines()
    start = lines.index('timeline: 19 clip(s), one every 1 s; top-1 over '
                        'time (clip centres):')
    segments = [line.split() for line in lines[start + 1:start + 3]]
    assert [s[4] for s in segments] == ['low_tone', 'high_tone']
    # last low clip centre and first high clip centre around 10 s
    assert float(segments[0][2]) < 10.0 < float(segments[1][0])
    assert float(segments[1][0]) - float(segments[0][2]) == pytest.approx(1)
    data = json.loads((tmp_path / 'pics' / 'switch_timeline.json')
                      .read_text())
    assert [s['label'] for s in data['top1_segments']] == ['low_tone',
                                                           'high_tone']
    assert data['video'] == api_media['switch']
    csv_text = (tmp_path / 'pics' / 'switch_timeline.csv').read_text()
    assert len(csv_text.splitlines()) == 20
    assert figure.axes[2].get_title().startswith('timeline: one clip every')
    assert out.exists()


def test_demo_short_video_and_errors(run_demo, api_media, tone_model_files,
                                     tmp_path, monkeypatch, capsys):
    folder, config, checkpoint = tone_model_files
    monkeypatch.syspath_prepend(folder)
    code, stdout, _ = run_demo([
        api_media['short'], config, checkpoint, '--out',
        str(tmp_path / 'short.png'), '--device', 'cpu', '--topk', '1'])
    assert code == 0
    assert ('the video (16 frames) is shorter than one clip (16 x 2 frames):'
            ' SampleFrames loops its frames and the audio loops with them'
            in stdout)
    assert printed_topk(stdout)['audiovisual'][0][0] == 'low_tone'
    assert demo.main([str(tmp_path / 'missing.mp4'), config,
                      checkpoint]) == 1
    assert 'cannot read' in capsys.readouterr().err


def test_demo_names_why_a_truncated_video_cannot_be_read(
        api_media, tone_model_files, tmp_path, capfd):
    """Opened as the pipeline opens it: the file and PyAV's account of the
    damaged container, one line, without decord's own stderr lines."""
    from mmaction_avslowfast.testing.synthetic_media import truncate_file
    _, config, checkpoint = tone_model_files
    broken = truncate_file(api_media['low'], str(tmp_path / 'cut.mp4'), 0.3)
    assert demo.main([broken, config, checkpoint]) == 1
    err = capfd.readouterr().err
    assert f"error: cannot read '{broken}': truncated or corrupt" in err
    assert 'moov atom not found' not in err and 'ERROR opening' not in err
