"""How closely the standalone ONNX runner reproduces PyTorch: top-1 and
probabilities of ``tools/deployment/onnx_infer.py`` against
``apis.inference_av`` (``tools/demo.py``'s audiovisual line) on a demo
data set's test split and on re-encodes of one test video per class
(AVI + MP3, Matroska with the audio 0.25 s late, 48 kHz stereo, 44.1 kHz
5.1: ``mmaction_avslowfast.testing.reencode``).

Typical use, after ``./tools/quickstart.sh`` (data/avdemo and the trained
checkpoint)::

    python tools/deployment/export_onnx.py configs/avslowfast_demo.py \\
        work_dirs/avslowfast_demo/best_acc_top1_epoch_3.pth demo.onnx \\
        --label-map data/avdemo/label_map.txt
    python benchmarks/onnx_parity.py configs/avslowfast_demo.py \\
        work_dirs/avslowfast_demo/best_acc_top1_epoch_3.pth demo.onnx \\
        --data data/avdemo

Prints one row per re-encode (both top-1s with their probabilities), the
agreement and the largest probability difference per group, and writes
``benchmarks/results/onnx_parity.json``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools', 'deployment'))
sys.path.insert(0, REPO)
import onnx_infer  # noqa: E402
from runner_spec import load_spec, spec_path  # noqa: E402

REENCODES = {  # name -> (extension, reencode() arguments)
    'avi_mp3': ('.avi', dict(sample_rate=44100)),
    'mkv_late_audio': ('.mkv', dict(audio_start=0.25)),
    'stereo_48k': ('.mp4', dict(sample_rate=48000)),
    'surround_51': ('.mp4', dict(sample_rate=44100, channels=6)),
}


def test_split(data: str) -> list:
    """``(relative path, label)`` of ``test_list_videos.txt``."""
    with open(osp.join(data, 'test_list_videos.txt')) as f:
        return [(line.split()[0], int(line.split()[1])) for line in f
                if line.strip()]


def compare(model, pipeline, session, spec, video: str) -> dict:
    from mmaction_avslowfast.apis import inference_av
    ref = inference_av(model, video, test_pipeline=pipeline)
    ref = ref.pred_score.numpy()
    got = onnx_infer.predict(video, None, spec, session)
    return dict(video=video, torch_top1=int(ref.argmax()),
                torch_prob=float(ref.max()), onnx_top1=int(got.argmax()),
                onnx_prob=float(got.max()),
                max_diff=float(np.abs(ref - got).max()))


def summary(rows: list) -> dict:
    return dict(videos=len(rows),
                same_top1=sum(r['torch_top1'] == r['onnx_top1']
                              for r in rows),
                max_diff=max(r['max_diff'] for r in rows))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('model', help='the exported MODEL.onnx')
    parser.add_argument('--data', default='data/avdemo')
    parser.add_argument('--out', default=osp.join(
        REPO, 'benchmarks', 'results', 'onnx_parity.json'))
    args = parser.parse_args(argv)
    from mmaction_avslowfast.apis import build_test_pipeline, \
        init_av_recognizer
    from mmaction_avslowfast.testing.reencode import reencode
    model = init_av_recognizer(args.config, args.checkpoint, 'cpu')
    pipeline = build_test_pipeline(model.cfg)
    spec = load_spec(spec_path(args.model))
    session = onnx_infer.load_session(args.model)
    names = spec['classes'] or [str(i) for i in range(spec['num_classes'])]
    split = test_split(args.data)
    root = osp.join(args.data, 'videos_test')
    groups = {'test split': [
        dict(compare(model, pipeline, session, spec, osp.join(root, rel)),
             label=label, video=rel) for rel, label in split]}
    firsts = {}
    for rel, label in split:
        firsts.setdefault(label, rel)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (ext, kwargs) in REENCODES.items():
            groups[name] = []
            for label, rel in sorted(firsts.items()):
                video = reencode(osp.join(root, rel), osp.join(
                    tmp, f'{osp.splitext(osp.basename(rel))[0]}{ext}'),
                    **kwargs)
                row = compare(model, pipeline, session, spec, video)
                groups[name].append(dict(row, label=label, video=osp.join(
                    name, osp.basename(video))))
    print(f'{"video":34s} {"tools/demo.py (PyTorch)":>28s} '
          f'{"onnx_infer.py":>24s} {"max |diff|":>10s}')
    for name, rows in groups.items():
        if name == 'test split':
            continue
        for r in rows:
            print(f'{r["video"]:34s} {names[r["torch_top1"]]:>20s} '
                  f'{r["torch_prob"]:.4f} {names[r["onnx_top1"]]:>16s} '
                  f'{r["onnx_prob"]:.4f} {r["max_diff"]:10.2e}')
    print()
    totals = {name: summary(rows) for name, rows in groups.items()}
    for name, s in totals.items():
        print(f'{name:16s} {s["same_top1"]}/{s["videos"]} same top-1, '
              f'largest probability difference {s["max_diff"]:.2e}')
    os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                       summary=totals, groups=groups), f, indent=2)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
