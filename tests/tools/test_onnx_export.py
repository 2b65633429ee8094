"""tools/deployment/export_onnx.py and onnx_infer.py end to end: the demo
config's model (random weights, classifier centred so that the prediction
depends on the video) exported, the printed onnxruntime-vs-PyTorch
difference, the runner JSON and graph, the runner's top-k against
``inference_av`` (tools/demo.py's audiovisual line) on the demo test split
and the re-encodes, the runner importing no torch / mmaction, and the
refusals (other configs, bad input)."""
import contextlib
import io
import json
import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from av_fixtures import DEMO_CLASSES, DEMO_CONFIG
from deploy_helpers import (REENCODES, centre_head, demo_model,
                            deployment_tool, top1_margin)

pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')
export_onnx = deployment_tool('export_onnx')
onnx_infer = deployment_tool('onnx_infer')
DIFF = re.compile(r'largest absolute difference (\S+) \(atol')
FRONT = re.compile(r'frames max \|diff\| (\S+), normalised log-mel max '
                   r'\|diff\| (\S+)$', re.M)
FORBIDDEN = ('torch', 'torchaudio', 'torchvision', 'mmengine', 'mmcv',
             'mmaction', 'mmaction_avslowfast', 'decord')


@pytest.fixture(scope='module')
def checkpoint(deploy_media, tmp_path_factory):
    """Demo config, random weights (seed 0), classifier centred on the
    demo test split's features (``centre_head``); no class names."""
    torch.manual_seed(0)
    model, pipeline = demo_model()
    centre_head(model, pipeline, [v for k, v in deploy_media.items()
                                  if k.startswith('test_')])
    path = tmp_path_factory.mktemp('onnx_ckpt') / 'centred.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), str(path))
    return str(path)


@pytest.fixture(scope='module')
def exported(checkpoint, demo_label_map, deploy_media, tmp_path_factory):
    """``(model.onnx, stdout)`` of the export with the demo label map,
    checked on a demo test video."""
    out = tmp_path_factory.mktemp('onnx') / 'demo.onnx'
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = export_onnx.main([DEMO_CONFIG, checkpoint, str(out),
                                 '--label-map', demo_label_map, '--video',
                                 deploy_media['test_up_high']])
    assert code == 0, buffer.getvalue()
    return str(out), buffer.getvalue()


@pytest.fixture(scope='module')
def torch_model(checkpoint):
    from mmaction_avslowfast.apis import init_av_recognizer
    return init_av_recognizer(DEMO_CONFIG, checkpoint, 'cpu')


def test_export_prints_a_small_difference_and_writes_the_json(exported):
    import onnx
    model_path, stdout = exported
    diff = float(DIFF.search(stdout).group(1))
    print(f'export: largest absolute difference {diff:.3g}')
    assert diff <= 1e-4
    frames, logmel = map(float, FRONT.search(stdout).groups())
    assert frames == 0 and logmel <= 2e-3  # the runner's front end
    spec = json.load(open(model_path[:-len('.onnx')] + '.json'))
    assert spec['classes'] == DEMO_CLASSES
    assert spec['inputs'] == dict(imgs=[None, 3, 16, 32, 32],
                                  audios=[None, 1, 64, 80])
    video, audio = spec['video'], spec['audio']
    assert (video['clip_len'], video['frame_interval'],
            video['num_clips']) == (16, 2, 3)
    assert video['resize'] == dict(scale=[32, 32], keep_ratio=False,
                                   interpolation='bilinear')
    assert video['crop'] is None and video['mean'] == [114.75] * 3
    assert (audio['sample_rate'], audio['num_frames'], audio['n_mels'],
            audio['mean'], audio['std']) == (16000, 64, 80, -7.03, 4.66)
    assert spec['export']['max_abs_diff'] == pytest.approx(diff, rel=1e-2)
    graph = onnx.load(model_path).graph
    assert [i.name for i in graph.input] == ['imgs', 'audios']
    assert [o.name for o in graph.output] == ['scores']
    batch = [i.type.tensor_type.shape.dim[0] for i in graph.input]
    assert all(d.dim_param and not d.dim_value for d in batch)  # dynamic N
    assert not any(n.op_type == 'Unique' for n in graph.node)


def run_runner(capsys, video, model, *extra):
    code = onnx_infer.main([video, model, *extra])
    out, err = capsys.readouterr()
    rows = [line.rsplit(' ', 1) for line in out.splitlines()]
    return code, [(name, float(p)) for name, p in rows], err


CASES = ['test_left_low', 'test_left_high', 'test_right_low',
         'test_right_high', 'test_up_low', 'test_up_high'] + list(REENCODES)


@pytest.mark.parametrize('name', CASES)
def test_runner_matches_the_pytorch_demo(exported, torch_model,
                                         deploy_media, capsys, name):
    """Same top-1 as inference_av (tools/demo.py's audiovisual line) and
    every probability within 0.02 (measured <= 4.7e-5: the 4 decimals the
    runner prints; unrounded <= 5e-6, the audio front ends' rounding)."""
    from mmaction_avslowfast.apis import inference_av
    video = deploy_media[name]
    ref = inference_av(torch_model, video).pred_score.numpy()
    code, rows, _ = run_runner(capsys, video, exported[0], '--top-k', '6')
    assert code == 0 and len(rows) == 6
    got = np.zeros(6)
    for label, prob in rows:
        got[DEMO_CLASSES.index(label)] = prob
    assert rows[0][0] == DEMO_CLASSES[int(ref.argmax())]
    assert [p for _, p in rows] == sorted((p for _, p in rows),
                                          reverse=True)
    assert abs(got.sum() - 1) < 1e-3
    diff = np.abs(got - ref).max()
    print(f'{name}: top-1 {rows[0][0]} (margin {top1_margin(ref):.3f}), '
          f'largest probability difference {diff:.2g}')
    assert diff <= 0.02


def test_the_demo_predictions_differ_between_videos(exported, deploy_media,
                                                    capsys):
    """The centred classifier is no constant: the runner's top-1 differs
    across the demo test split (else the top-1 comparison shows little)."""
    tops = {run_runner(capsys, deploy_media[name], exported[0])[1][0][0]
            for name in CASES[:6]}
    assert len(tops) >= 3


def test_runner_imports_no_torch(exported, deploy_media):
    """In a fresh interpreter: the runner predicts, and afterwards none of
    torch, torchaudio, torchvision, mmengine, mmcv, mmaction,
    mmaction_avslowfast or decord is in sys.modules (onnxruntime, av and
    cv2 are: the check sees imports)."""
    folder = osp.dirname(onnx_infer.__file__)
    code = (
        'import json, sys\n'
        f'sys.path.insert(0, {folder!r})\n'
        'import onnx_infer\n'
        f'rc = onnx_infer.main([{deploy_media["stereo_48k"]!r}, '
        f'{exported[0]!r}, "--top-k", "3"])\n'
        'tops = sorted({m.split(".")[0] for m in sys.modules})\n'
        'print(json.dumps(dict(rc=rc, modules=tops)))\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert report['rc'] == 0 and len(lines) == 4
    assert all(line.rsplit(' ', 1)[0] in DEMO_CLASSES for line in lines[:3])
    loaded = set(report['modules'])
    assert {'onnxruntime', 'av', 'cv2', 'numpy'} <= loaded
    assert not loaded & set(FORBIDDEN), sorted(loaded & set(FORBIDDEN))


@pytest.mark.parametrize('config, named', [
    ('avslowfast_r50_charades.py', "Charades' multi-label head"),
    ('avslowfast_r50_epic100.py', "EPIC-Kitchens' verb and noun heads"),
    ('avslowfast_r50_ava22.py', 'the AVA detector'),
    ('avslowfast_r50_avs_pretrain_kinetics.py', 'pre-training model'),
])
def test_export_refuses_other_configs_by_name(tmp_path, capsys, config,
                                              named):
    path = osp.join(osp.dirname(DEMO_CONFIG), config)
    ckpt = tmp_path / 'none.pth'
    ckpt.write_bytes(b'')
    code = export_onnx.main([path, str(ckpt), str(tmp_path / 'm.onnx')])
    err = capsys.readouterr().err
    assert code == 1 and named in err and config in err
    assert not (tmp_path / 'm.onnx').exists()


def test_runner_refuses_bad_input(exported, deploy_media, tmp_path, capsys):
    model = exported[0]
    code, _, err = run_runner(capsys, str(tmp_path / 'missing.mp4'), model)
    assert code == 1 and 'no such video' in err and 'missing.mp4' in err
    alone = shutil.copy(model, tmp_path / 'alone.onnx')
    code, _, err = run_runner(capsys, deploy_media['short'], str(alone))
    assert code == 1 and 'no runner JSON' in err and 'alone.json' in err
    text = tmp_path / 'text.mp4'
    text.write_text('not a video')
    code, _, err = run_runner(capsys, str(text), model)
    assert code == 1 and 'text.mp4' in err
    with pytest.raises(SystemExit):
        onnx_infer.parse_args([deploy_media['short'], model, '--top-k', '0'])
    assert '--top-k must be >= 1' in capsys.readouterr().err
    code, rows, err = run_runner(capsys, deploy_media['no_audio'], model)
    assert code == 0 and len(rows) == 5 and 'no decodable audio' in err
