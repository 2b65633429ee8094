"""Export a single-label AVSlowFast recognizer (backbone + head + softmax) to
ONNX, for ``onnx_infer.py``.

The graph takes one view per row, ``imgs`` float32 ``[N, 3, T, H, W]``
(normalised frames) and ``audios`` float32 ``[N, 1, T_a, F]`` (normalised
log-mel), ``N`` dynamic, and returns ``scores`` float32 ``[N,
num_classes]``: each view's softmax probabilities (the runner averages the
views, ``average_clips='prob'``). It is traced with ``torch.export``
(``torch.onnx.export(dynamo=True)``, opset 18) with the backbone's
repeated-audio sharing off (``share_eval_audio=False``: its
``torch.unique`` has a data-dependent shape); modality blanking of the
config stays in the graph.

The export is then checked on real inputs: the config's test pipeline on
``--video`` (default: a synthesized 4-s video with a 44.1 kHz stereo tone)
through PyTorch and through onnxruntime; the largest absolute difference of
the view probabilities is printed and must be <= ``--atol`` (1e-4). The
runner's numpy front end is compared with the pipeline on the same video
(printed: frames and log-mel differences).
``MODEL.json`` is written beside ``MODEL.onnx`` (``runner_spec.py``).

Refused by name: the AVA detector, EPIC-Kitchens' verb and noun heads,
Charades' multi-label head (sigmoid + max over views), heads averaging
anything but probabilities, the self-supervised pre-training model, and
test pipelines with steps the runner does not reproduce.

Usage::

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx
        [--video VIDEO] [--label-map FILE|k400] [--atol 1e-4]
        [--cfg-options KEY=VALUE ...]
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from runner_spec import SpecError, spec_from_pipeline, spec_path  # noqa

OPSET = 18


class ExportRefused(ValueError):
    """A config whose model the export does not cover (message: which and
    why)."""


def check_exportable(model_cfg: dict, config_name: str) -> None:
    """Raise :class:`ExportRefused` unless the config's model is a
    single-label ``AVRecognizer3D`` whose head averages softmax
    probabilities (checked on the config, before anything is built)."""
    kind = model_cfg.get('type')
    head = model_cfg.get('cls_head') or {}
    average = head.get('average_clips')
    refusals = {
        'AVSlowFastDetector': 'the AVA detector (AVSlowFastDetector: '
        'per-box actions from RoI features)',
        'AVSPretrainer': 'the self-supervised pre-training model '
        '(AVSPretrainer: no classifier)',
    }
    why = refusals.get(kind)
    if why is None and kind != 'AVRecognizer3D':
        why = f'a {kind} (only AVRecognizer3D is exported)'
    elif why is None and not head:
        why = 'a recognizer without cls_head'
    elif why is None and head.get('type') == 'EpicKitchensHead':
        why = "EPIC-Kitchens' verb and noun heads (EpicKitchensHead)"
    elif why is None and (head.get('multi_class') or average == 'max'):
        why = ("Charades' multi-label head (sigmoid + max over views: "
               f"multi_class={head.get('multi_class')}, "
               f'average_clips={average!r})')
    elif why is None and average != 'prob':
        why = (f'a head with average_clips={average!r} (the graph returns '
               "probabilities: set model.cls_head.average_clips='prob')")
    if why is not None:
        raise ExportRefused(
            f'{config_name}: {why} is not exported; export_onnx.py covers '
            'single-label recognizers with a softmax head (the Kinetics and '
            'demo configs)')


def recognizer_spec(model, pipeline, classes=None) -> dict:
    """The runner JSON (``runner_spec.spec_from_pipeline``) of ``model``'s
    test ``pipeline``: its steps, the data preprocessor's settings, the
    head's view averaging and class count, and ``classes`` (names)."""
    preprocessors = model.cfg.model.data_preprocessor.get(
        'preprocessors', {})
    head = model.cls_head
    return spec_from_pipeline(pipeline.transforms, preprocessors,
                              head.average_clips, head.num_classes, classes)


def view_scores_module(recognizer):
    """``(imgs [N, 3, T, H, W], audios [N, 1, T_a, F]) -> softmax
    probabilities [N, num_classes]`` of ``recognizer`` (one view per row;
    the config's modality blanking applied), in eval mode. Turns the
    recognizer's ``backbone.share_eval_audio`` off (see the module doc)."""
    import torch

    class ViewScores(torch.nn.Module):

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, imgs, audios):
            inputs = self.model.backbone_inputs(
                dict(imgs=imgs[:, None], audios=audios[:, None]))
            feats = self.model.backbone(**inputs)
            return self.model.cls_head(feats).softmax(dim=-1)

    recognizer.backbone.share_eval_audio = False
    return ViewScores(recognizer).eval()


def default_check_video(folder: str) -> str:
    """A 4-s 340x256 video at 30 fps, 44.1 kHz stereo tone switching from
    440 to 1760 Hz (resampling and channel mixing on the way)."""
    from mmaction_avslowfast.testing.synthetic_media import write_av_video
    path = osp.join(folder, 'export_check.mp4')
    write_av_video(path, duration=4.0, fps=30, size=(340, 256),
                   tone_schedule=[(0.0, 440.0), (2.0, 1760.0)],
                   sample_rate=44100, channels=2)
    return path


def pipeline_inputs(model, pipeline, video: str):
    """The normalised test inputs of ``video``: ``(imgs [V, 3, T, H, W],
    audios [V, 1, T_a, F])`` float32 tensors, as ``test_step`` sees them."""
    import torch
    from mmengine.dataset import pseudo_collate

    from mmaction_avslowfast.apis.inference import (run_test_pipeline,
                                                     video_input)
    packed, _ = run_test_pipeline(pipeline, video_input(video))
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([packed]), False)
    return data['inputs']['imgs'][0], data['inputs']['audios'][0]


def export(module, example, out: str, opset: int = OPSET) -> None:
    """``torch.onnx.export(dynamo=True)`` with a dynamic batch, one file."""
    import torch
    batch = torch.export.Dim('N', min=1, max=4096)
    torch.onnx.export(
        module, example, out, dynamo=True, opset_version=opset,
        input_names=['imgs', 'audios'], output_names=['scores'],
        dynamic_shapes=dict(imgs={0: batch}, audios={0: batch}),
        external_data=False, verbose=False)


def check_with_onnxruntime(out: str, module, imgs, audios) -> float:
    """Largest absolute difference of the view probabilities, onnxruntime
    vs PyTorch, on ``imgs`` / ``audios`` and on their first view alone
    (another batch size)."""
    import onnxruntime as ort
    import torch
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    worst = 0.0
    for x, a in ((imgs, audios), (imgs[:1], audios[:1])):
        with torch.no_grad():
            ref = module(x, a).numpy()
        got = session.run(['scores'], dict(imgs=x.numpy(),
                                           audios=a.numpy()))[0]
        if got.shape != ref.shape:
            raise RuntimeError(f'onnxruntime returned {got.shape}, PyTorch '
                               f'{ref.shape}')
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst


def front_end_difference(video: str, spec: dict, imgs, audios) -> dict:
    """Largest absolute difference of the runner's views
    (``onnx_infer.prepare_inputs``) from the test pipeline's ``imgs`` /
    ``audios`` on ``video`` (frames are equal bit for bit; the log-mel
    differs by float rounding, ~3e-4 normalised)."""
    import onnx_infer
    prepared = onnx_infer.prepare_inputs(video, spec)
    if prepared.imgs.shape != tuple(imgs.shape) or \
            prepared.audios.shape != tuple(audios.shape):
        raise RuntimeError(
            f'the runner prepared imgs {prepared.imgs.shape} / audios '
            f'{prepared.audios.shape}; the test pipeline gives '
            f'{tuple(imgs.shape)} / {tuple(audios.shape)}')
    return dict(imgs=float(np.abs(prepared.imgs - imgs.numpy()).max()),
                audios=float(np.abs(prepared.audios - audios.numpy()).max()))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='MMAction2 config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('out', help='ONNX file to write (MODEL.json beside)')
    parser.add_argument('--video', help='video for the check (default: a '
                        'synthesized one)')
    parser.add_argument('--label-map', help="class names, one per line "
                        "('k400': the shipped Kinetics-400 map); default: "
                        "the checkpoint's dataset_meta classes")
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest allowed difference (default 1e-4)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    args = parser.parse_args(argv)
    if not args.out.endswith('.onnx'):
        parser.error(f'OUT must end in .onnx, got {args.out!r}')
    for name in ('config', 'checkpoint', 'video'):
        path = getattr(args, name)
        if path is not None and not osp.isfile(path):
            parser.error(f'{name} {path!r} is not a file')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from mmengine.config import Config

    from mmaction_avslowfast import apis
    start = time.time()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        check_exportable(cfg.model.to_dict(), osp.basename(args.config))
    except ExportRefused as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    model = apis.init_av_recognizer(cfg, args.checkpoint, 'cpu')
    try:
        pipeline = apis.build_test_pipeline(model.cfg)
        spec = recognizer_spec(model, pipeline, apis.class_names_of(
            model, model.cls_head.num_classes, args.label_map))
    except (SpecError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    module = view_scores_module(model)
    with tempfile.TemporaryDirectory() as tmp:
        video = args.video or default_check_video(tmp)
        imgs, audios = pipeline_inputs(model, pipeline, video)
        out_dir = osp.dirname(osp.abspath(args.out))
        os.makedirs(out_dir, exist_ok=True)
        export(module, (imgs[[0, -1]], audios[[0, -1]]), args.out)
        diff = check_with_onnxruntime(args.out, module, imgs, audios)
        front = front_end_difference(video, spec, imgs, audios)
    spec.update(
        model=osp.basename(args.out),
        inputs=dict(imgs=[None] + list(imgs.shape[1:]),
                    audios=[None] + list(audios.shape[1:])),
        export=dict(config=args.config, checkpoint=args.checkpoint,
                    torch=torch.__version__, opset=OPSET,
                    exporter='torch.onnx.export(dynamo=True)',
                    check_video=args.video or 'synthesized',
                    check_views=int(imgs.shape[0]), max_abs_diff=diff,
                    front_end_diff=front))
    with open(spec_path(args.out), 'w', encoding='utf-8') as f:
        json.dump(spec, f, indent=2)
    print(f'exported {args.out} ({osp.getsize(args.out) / 2**20:.1f} MiB) '
          f'and {spec_path(args.out)} in {time.time() - start:.0f} s')
    print(f'inputs imgs [N, {", ".join(map(str, imgs.shape[1:]))}], audios '
          f'[N, {", ".join(map(str, audios.shape[1:]))}] -> scores [N, '
          f'{model.cls_head.num_classes}]; {imgs.shape[0]} view(s) per video')
    print(f'onnxruntime vs PyTorch on {imgs.shape[0]} view(s) of '
          f'{args.video or "a synthesized video"}: largest absolute '
          f'difference {diff:.3g} (atol {args.atol:g})')
    print('onnx_infer.py\'s front end vs the test pipeline on that video: '
          f'frames max |diff| {front["imgs"]:.3g}, normalised log-mel max '
          f'|diff| {front["audios"]:.3g}')
    if not diff <= args.atol:
        print(f'error: the difference {diff:.3g} exceeds {args.atol:g}',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
