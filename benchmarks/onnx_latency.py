"""Milliseconds per video on CPU: the ONNX export in onnxruntime against
PyTorch, on the same views.

For each config (random weights; timing does not depend on them) the
model is exported with ``tools/deployment/export_onnx.py``'s functions and
one synthesized video is predicted, in paired rounds (both engines back to
back each round; medians over rounds; the demo, ~100x cheaper and the
most disturbed by other load, gets 5x ``--rounds``):

- ``model``: the same normalised views ``[V, ...]`` through PyTorch's test
  forward (backbone with the shipped ``share_eval_audio``: the audio
  pathway once per clip, head, softmax averaged over the views) and
  through onnxruntime (one view per row: the audio pathway once per view);
- ``end to end``: the video file to averaged probabilities, PyTorch =
  ``apis.inference_av`` (decord frames, PyAV span audio, torch DSP, the
  model) and the runner = ``onnx_infer.predict`` (PyAV frames, whole-track
  audio, numpy DSP, onnxruntime).

Configs: the demo (3 clips of 16 frames at 32 px; its 2-s 64x64 test
clip) and ``configs/avslowfast_r50_kinetics.py`` (R50 4x16, 32 frames,
3 crops of 256 px; on a CPU ``--kinetics-clips 2`` of the protocol's 10,
grouped as in ``benchmarks/speed.py``; a 10-s 340x256 30-fps video with
44.1 kHz stereo audio).

Usage::

    python benchmarks/onnx_latency.py [--rounds 5] [--threads 2]
        [--kinetics-clips 2] [--skip-kinetics]
        [--out benchmarks/results/onnx_latency_cpu.json]
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools', 'deployment'))
sys.path.insert(0, REPO)
import export_onnx  # noqa: E402
import onnx_infer  # noqa: E402


def make_videos(folder: str) -> dict:
    """config name -> synthesized video."""
    from mmaction_avslowfast.testing.synthetic_media import write_av_video
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import make_demo_dataset
    make_demo_dataset.main(['--out', osp.join(folder, 'avdemo'),
                            '--train-per-class', '0', '--val-per-class',
                            '0', '--test-per-class', '1'])
    kinetics = write_av_video(
        osp.join(folder, 'kinetics_like.mp4'), duration=10.0, fps=30,
        size=(340, 256), tone_schedule=[(0.0, 440.0), (5.0, 1760.0)],
        sample_rate=44100, channels=2)['path']
    return dict(demo=osp.join(folder, 'avdemo', 'videos_test', 'left_low',
                              'left_low_0000.mp4'), kinetics=kinetics)


def prepare(name: str, config: str, cfg_options: dict, video: str,
            folder: str, threads: int) -> dict:
    """Model, pipeline, export, session and inputs of one config."""
    from mmengine.config import Config

    from mmaction_avslowfast import apis
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(cfg_options)
    torch.manual_seed(0)
    model = apis.init_av_recognizer(cfg, None, 'cpu')
    pipeline = apis.build_test_pipeline(model.cfg)
    spec = export_onnx.recognizer_spec(model, pipeline)
    imgs, audios = export_onnx.pipeline_inputs(model, pipeline, video)
    path = osp.join(folder, f'{name}.onnx')
    start = time.time()
    export_onnx.export(export_onnx.view_scores_module(model),
                       (imgs[[0, -1]], audios[[0, -1]]), path)
    export_s = time.time() - start
    model.backbone.share_eval_audio = True  # PyTorch as shipped
    return dict(model=model, pipeline=pipeline, spec=spec, path=path,
                session=onnx_infer.load_session(path, threads), imgs=imgs,
                audios=audios, video=video, export_s=export_s)


def torch_model_step(case) -> None:
    """PyTorch's test forward of the views (``average_clips='prob'``)."""
    model = case['model']
    with torch.no_grad():
        feats = model.backbone(imgs=case['imgs'], audios=case['audios'])
        model.cls_head(feats).softmax(-1).mean(0)


def onnx_model_step(case) -> None:
    case['session'].run(['scores'], dict(imgs=case['imgs'].numpy(),
                                         audios=case['audios'].numpy()))


def torch_end_to_end(case) -> None:
    from mmaction_avslowfast.apis import inference_av
    inference_av(case['model'], case['video'], test_pipeline=case['pipeline'])


def onnx_end_to_end(case) -> None:
    onnx_infer.predict(case['video'], case['path'], case['spec'],
                       case['session'])


def timed_ms(fn, case) -> float:
    start = time.perf_counter()
    fn(case)
    return (time.perf_counter() - start) * 1e3


def measure(case, rounds: int) -> list:
    """Rows (stage, engine, median and min ms, ratio median/min/max)."""
    rows = []
    for stage, (ref_fn, onnx_fn) in (
            ('model', (torch_model_step, onnx_model_step)),
            ('end to end', (torch_end_to_end, onnx_end_to_end))):
        ref_fn(case), onnx_fn(case)  # warm-up (allocations, caches)
        ref, got = [], []
        for _ in range(rounds):
            ref.append(timed_ms(ref_fn, case))
            got.append(timed_ms(onnx_fn, case))
        ratios = [g / r for g, r in zip(got, ref)]
        rows.append(dict(stage=stage, engine='pytorch',
                         ms=statistics.median(ref), ms_min=min(ref),
                         ratio=1.0))
        rows.append(dict(stage=stage, engine='onnxruntime',
                         ms=statistics.median(got), ms_min=min(got),
                         ratio=statistics.median(ratios),
                         ratio_min=min(ratios), ratio_max=max(ratios)))
    return rows


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--threads', type=int, default=2,
                        help='threads of both engines (default 2)')
    parser.add_argument('--kinetics-clips', type=int, default=2,
                        help='test clips of the Kinetics config (x 3 crops)')
    parser.add_argument('--skip-kinetics', action='store_true')
    parser.add_argument('--out', default=osp.join(
        REPO, 'benchmarks', 'results', 'onnx_latency_cpu.json'))
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.threads < 1 or args.kinetics_clips < 1:
        parser.error('--rounds, --threads and --kinetics-clips must be >= 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import onnxruntime
    torch.set_num_threads(args.threads)
    configs = dict(demo=(osp.join(REPO, 'configs', 'avslowfast_demo.py'),
                         {}))
    if not args.skip_kinetics:
        configs['kinetics'] = (
            osp.join(REPO, 'configs', 'avslowfast_r50_kinetics.py'),
            {'test_pipeline.1.num_clips': args.kinetics_clips})
    results = []
    with tempfile.TemporaryDirectory() as folder:
        videos = make_videos(folder)
        for name, (config, options) in configs.items():
            case = prepare(name, config, options, videos[name], folder,
                           args.threads)
            views = tuple(case['imgs'].shape)
            rounds = args.rounds * (5 if name == 'demo' else 1)
            for row in measure(case, rounds):
                results.append(dict(row, config=osp.relpath(config, REPO),
                                    rounds=rounds,
                                    views=views[0], view_shape=views[1:],
                                    export_s=round(case['export_s'], 1)))
    print(f'CPU ({platform.machine()}), {args.threads} threads, torch '
          f'{torch.__version__}, onnxruntime {onnxruntime.__version__}, '
          f'median of {args.rounds} paired rounds (demo: '
          f'{5 * args.rounds})')
    header = (f'{"config":34s} {"views":>5s} {"stage":10s} {"engine":12s} '
              f'{"ms/video":>9s} {"(min)":>9s} {"x PyTorch [min, max]":>22s}')
    print(header + '\n' + '-' * len(header))
    for r in results:
        spread = (f'{r["ratio"]:.2f} [{r["ratio_min"]:.2f}, '
                  f'{r["ratio_max"]:.2f}]' if 'ratio_min' in r else '1.00')
        print(f'{r["config"]:34s} {r["views"]:5d} {r["stage"]:10s} '
              f'{r["engine"]:12s} {r["ms"]:9.1f} {r["ms_min"]:9.1f} '
              f'{spread:>22s}')
    os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(device=f'CPU ({platform.machine()}, {args.threads} '
                       'threads)', torch=torch.__version__,
                       onnxruntime=onnxruntime.__version__,
                       rounds=args.rounds,
                       command='python benchmarks/onnx_latency.py ' +
                       ' '.join(argv if argv is not None else sys.argv[1:]),
                       rows=results), f, indent=2)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
