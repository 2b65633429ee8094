"""Predict one video with a trained AVSlowFast recognizer: what do sound and
frames each contribute?

Runs the config's test pipeline on the video (its clips, views and score
averaging, as ``mmaction.apis.inference_recognizer``) and predicts it three
times: audiovisual; with the audio replaced by digital silence (the
normalised log-mel of ``log(1e-8)``, what a video without sound gets); with
the frames replaced by mean grey (zeros of the normalised input). Prints the
top-k classes of each and writes a picture: a strip of frames, the log-mel
of the whole audio track with the test clips boxed, and the top-k bars of
the three conditions side by side.

``--timeline`` also slides the model over the video (one clip every
``--stride`` s, ``--batch-size`` windows at a time), plots the top classes'
scores over time above the spectrogram and writes them next to the picture
as ``<out>_timeline.csv`` and ``<out>_timeline.json``.

``--cam`` also computes the Grad-CAM of the top-1 class (``--cam-class K``:
class K) on the first test view, at one stage per pathway (``--cam-layer
slow.res3,fast.res3,audio.res4``; default: the deepest stage with a map of
at least 4x4), and writes the picture ``<out stem>_cam.png`` (heat on the
frames and on the log-mel) and the maps ``<out stem>_cam.npz``
(``mmaction_avslowfast.apis.gradcam``).

Class names: ``--label-map FILE`` (one name per line; ``k400`` is the
Kinetics-400 map shipped with the package), else the ``classes`` of the
checkpoint's ``meta['dataset_meta']``, else class indices.

Usage::

    python tools/demo.py VIDEO CONFIG CHECKPOINT [--label-map FILE]
        [--out PICTURE.png] [--device cpu|cuda] [--topk 5]
        [--timeline] [--stride SECONDS] [--cam] [--cam-layer NAMES]
        [--cam-class K] [--cfg-options KEY=VALUE ...]
"""
import argparse
import os
import os.path as osp
import sys
import time


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('video', help='video file (with or without audio)')
    parser.add_argument('config', help='MMAction2 config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--label-map', help="class names, one per line ('k400': the "
        'shipped Kinetics-400 map)')
    parser.add_argument(
        '--out', help='picture to write (default: '
        'work_dirs/demo/<video name>.png)')
    parser.add_argument(
        '--device', default=None,
        help="'cpu', 'cuda', 'cuda:1', ... (default: cuda:0 if available, "
        'else cpu)')
    parser.add_argument('--topk', type=int, default=5,
                        help='classes printed and drawn per condition')
    parser.add_argument('--timeline', action='store_true',
                        help='also slide the model over the video')
    parser.add_argument('--stride', type=float, default=1.0,
                        help='seconds between timeline clips (default 1)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='timeline clips predicted together')
    parser.add_argument('--num-frames', type=int, default=8,
                        help='frames in the picture\'s strip')
    parser.add_argument(
        '--cam', action='store_true',
        help='also write the Grad-CAM picture <out stem>_cam.png and maps '
        '<out stem>_cam.npz (first test view)')
    parser.add_argument(
        '--cam-layer', help='Grad-CAM stages, pathway.stage, comma-'
        'separated, e.g. slow.res3,fast.res3,audio.res4 (default: per '
        'pathway the deepest stage with a map of at least 4x4)')
    parser.add_argument(
        '--cam-class', type=int,
        help='class index to explain (default: the top-1 class)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, as for mim train / test')
    args = parser.parse_args(argv)
    if args.topk < 1 or args.stride <= 0 or args.batch_size < 1:
        parser.error('--topk and --batch-size must be >= 1 and --stride > 0')
    if not args.cam and (args.cam_layer or args.cam_class is not None):
        parser.error('--cam-layer and --cam-class need --cam')
    return args


def describe_sampling(summary, comparison) -> str:
    """Lines about the video, its audio and the test clips."""
    sample = comparison.sample
    lines = [
        f'video: {summary.path}',
        f'  {summary.duration:.2f} s, {summary.num_frames} frames at '
        f'{summary.fps:.2f} fps, {summary.width}x{summary.height}'
    ]
    if summary.audio_rate:
        lines.append(f'  audio: {summary.audio_rate} Hz, '
                     f'{summary.audio_channels} channel(s)')
    if not sample.get('audio_valid', True):
        issue = sample.get('audio_issue') or summary.audio_issue
        lines.append(f'  no usable audio track ({issue}): the audio input is '
                     'digital silence, as with on_missing_audio=zeros')
    clip_len, interval = sample['clip_len'], sample.get('frame_interval', 1)
    lines.append(
        f'  test pipeline: {sample["num_clips"]} clip(s) x {clip_len} frames '
        f'(interval {interval}), {comparison.num_views} view(s) averaged')
    if comparison.looped:
        lines.append(
            f'  the video ({summary.num_frames} frames) is shorter than one '
            f'clip ({clip_len} x {interval} frames): SampleFrames loops its '
            'frames and the audio loops with them')
    return '\n'.join(lines)


def format_topk(comparison, topk: int, class_names) -> str:
    """One block of top-k classes per condition."""
    from mmaction_avslowfast.apis import CONDITION_TITLES, topk_classes
    blocks = []
    for name, scores in comparison.scores.items():
        title = CONDITION_TITLES[name]
        if name == 'audio_silenced':
            title += f' (normalised log-mel {comparison.silence:.3f})'
        elif name == 'frames_blanked':
            title += ' (zeros of the normalised input)'
        rows = [f'{title}:']
        for rank, item in enumerate(topk_classes(scores, topk, class_names),
                                    1):
            rows.append(f'  {rank}. {item.name:<32} {item.score:.4f}  '
                        f'[{item.index}]')
        blocks.append('\n'.join(rows))
    return '\n'.join(blocks)


def format_timeline(timeline, class_names) -> str:
    """Summary of a timeline: runs of windows with the same top-1 class."""
    from mmaction_avslowfast.apis.labels import class_label
    lines = [f'timeline: {len(timeline.starts)} clip(s), one every '
             f'{timeline.stride:g} s; top-1 over time (clip centres):']
    if timeline.looped:
        lines.append('  (one looped clip: the video is shorter than a clip)')
    for seg in timeline.top1_segments():
        lines.append(
            f'  {seg["start"]:7.2f} - {seg["end"]:7.2f} s  '
            f'{class_label(seg["label"], class_names):<32} '
            f'{seg["windows"]:4d} clip(s), mean score '
            f'{seg["mean_score"]:.3f}')
    return '\n'.join(lines)


def describe_cam(cam, class_names) -> str:
    """Lines about a Grad-CAM: the class, the layers and their map sizes."""
    from mmaction_avslowfast.apis.gradcam import PATHWAYS
    from mmaction_avslowfast.apis.labels import class_label
    sizes = ', '.join(
        f'{cam.layers[p]} ({"x".join(map(str, cam.map_sizes[p]))})'
        for p in PATHWAYS)
    return (f'Grad-CAM of {class_label(cam.label, class_names)} '
            f'[{cam.label}] (video score {cam.scores[cam.label]:.4f}) on '
            f'test view 0 (frames {cam.frame_inds[0]}-'
            f'{cam.frame_inds[-1]}): {sizes}')


def check_cam_args(model, args, num_classes: int) -> str:
    """Why ``--cam`` cannot run with this model and these options ('' if
    it can): not an AVSlowFast, an unknown stage (the valid ones listed),
    a class out of range."""
    from mmaction_avslowfast.apis import gradcam
    try:
        gradcam.parse_cam_layers(args.cam_layer,
                                 list(gradcam.cam_stages(model.backbone)))
    except (TypeError, ValueError) as err:
        return str(err)
    if args.cam_class is not None and not 0 <= args.cam_class < num_classes:
        return (f'--cam-class {args.cam_class} out of range: the model has '
                f'{num_classes} classes')
    return ''


def write_cam(model, args, pipeline, class_names, stem: str) -> int:
    """``--cam``: the Grad-CAM picture and maps next to the picture; the
    exit code (2: the model cannot be explained, e.g. a head with several
    score sets)."""
    from mmaction_avslowfast import apis, visualization
    try:
        cam = apis.av_gradcam(model, args.video, args.cam_layer,
                              args.cam_class, pipeline)
    except TypeError as err:
        print(f'error: --cam: {err}', file=sys.stderr)
        return 2
    print(describe_cam(cam, class_names))
    figure = visualization.build_cam_figure(
        cam, class_names, osp.basename(args.video))
    figure.savefig(f'{stem}_cam.png', dpi=80)
    cam.save_npz(f'{stem}_cam.npz')
    print(f'Grad-CAM: {stem}_cam.png, {stem}_cam.npz')
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from mmaction_avslowfast import apis, visualization
    from mmaction_avslowfast.datasets.transforms import (AudioLogMelClips,
                                                         VideoDecodeError)
    start = time.time()
    try:
        summary = apis.describe_video(args.video)
    except VideoDecodeError as err:  # names the file and the reason
        print(f'error: {err}', file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - any other reader error
        print(f'error: cannot read {args.video}: {err}', file=sys.stderr)
        return 1
    device = args.device or ('cuda:0' if torch.cuda.is_available() else
                             'cpu')
    model = apis.init_av_recognizer(args.config, args.checkpoint, device,
                                    args.cfg_options)
    pipeline = apis.build_test_pipeline(model.cfg)
    comparison = apis.compare_modalities(model, args.video, pipeline)
    num_classes = len(comparison.scores['audiovisual'])
    problem = check_cam_args(model, args, num_classes) if args.cam else ''
    if problem:
        print(f'error: --cam: {problem}', file=sys.stderr)
        return 2
    class_names = apis.class_names_of(model, num_classes, args.label_map)
    print(describe_sampling(summary, comparison))
    if getattr(model, 'blank_fills', {}):
        print(f'  note: the model blanks {model.blank_fills} itself '
              '(model.blank_modalities), in every condition')
    if class_names is None:
        print('  no class names (no --label-map, none in the checkpoint): '
              'printing class indices')
    print(format_topk(comparison, args.topk, class_names))

    out = args.out or osp.join(
        'work_dirs', 'demo',
        osp.splitext(osp.basename(args.video))[0] + '.png')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    timeline = None
    if args.timeline:
        timeline = apis.inference_timeline(model, args.video, args.stride,
                                           args.batch_size)
        print(format_timeline(timeline, class_names))
        stem = osp.splitext(out)[0]
        apis.save_timeline(
            timeline, f'{stem}_timeline.csv', f'{stem}_timeline.json',
            class_names, meta=dict(video=args.video, config=args.config,
                                   checkpoint=args.checkpoint))
        print(f'timeline scores: {stem}_timeline.csv, {stem}_timeline.json')
    frames, times = apis.frame_strip(args.video, args.num_frames)
    # the spectrogram panel uses the pipeline's own log-mel recipe
    extractor = next((t.extractor for t in pipeline.transforms
                      if isinstance(t, AudioLogMelClips)), None)
    figure = visualization.build_av_figure(
        summary, comparison, apis.track_logmel(args.video, extractor), frames,
        times, class_names, args.topk, timeline)
    figure.savefig(out, dpi=80)
    print(f'picture: {out} ({time.time() - start:.1f} s)')
    if args.cam:
        return write_cam(model, args, pipeline, class_names,
                         osp.splitext(out)[0])
    return 0


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    sys.exit(main())
