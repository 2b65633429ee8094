"""Resize videos to a short side of ``--scale`` pixels, keeping the audio.

A drop-in for MMAction2's ``tools/data/resize_videos.py`` (the resize step
of its Kinetics preparation), with the same arguments and output layout.
MMAction2's script builds ``ffmpeg ... -vf scale=... -c:v libx264 -an OUT``
in both of its branches (landscape and portrait): ``-an`` drops the audio
stream, so every resized video is silent and an audio-visual model trained
on them gets no usable audio at all. This tool needs no ffmpeg binary (it
uses PyAV, a dependency of the plugin) and keeps the audio in sync:

- video: decoded, turned upright if the stream has a rotation (as ffmpeg's
  autorotate does), scaled (bicubic) so that the SHORT side is ``--scale``
  and the other one keeps the aspect ratio, rounded to an even number (as
  ffmpeg's ``scale=-2:N``), and encoded as H.264 (libx264, yuv420p, x264's
  defaults as ffmpeg's) in mp4/mkv/avi or VP9 (libvpx-vp9) in WebM. Every
  frame keeps its timestamp (frame rate and timing unchanged; AVI, which
  has no timestamps, gets the average frame rate). ``--dense`` sets a
  keyframe every 16 frames (MMAction2's ``-g 16``: faster seeking).
- audio: the packets are copied unchanged when the output container takes
  the codec (mp4: AAC, MP3, MP2, Opus, FLAC, ALAC, AC-3; mkv: any; WebM:
  Opus, Vorbis; AVI: AAC, MP3, MP2, AC-3, PCM); otherwise the audio is
  re-encoded at the source's sample rate and channel layout: AAC for
  mp4/mkv (e.g. Vorbis, or PCM, which FFmpeg >= 6.1 writes into mp4 in a
  form older FFmpeg builds such as decord's cannot read), Opus at 48 kHz
  (its only internal rate) for WebM, MP3 for AVI (AAC beyond 2 channels).
  Both streams keep their start times relative to each other (late audio
  stays late, early audio early); the earlier one starts at time 0.

One extension per run (``--ext``), as MMAction2's. Layout::

    --level 1:  SRC/NAME.EXT        -> OUT/NAME.EXT  (.mp4 with --to-mp4)
    --level 2:  SRC/CLASS/NAME.EXT  -> OUT/CLASS/NAME.EXT

Resumable: each video is written to a hidden temporary file beside its
output (``.NAME.resizing.EXT``) and renamed when complete, so a killed run
leaves no half-written file under the final name; videos whose output
exists are skipped. A file that cannot be converted is listed with its
reason and the run goes on. The summary counts converted / skipped
(already done) / failed (with reasons) / converted without an audio
stream. Exit code: 0 when the run went through (even if some files
failed: they are listed, and a re-run retries only them; and when no file
of that extension was found: nothing to do, said so); 1 when every file
tried failed (a broken installation, or not videos); 2 for usage
errors, including ``--remove-dup``, which is refused: it needs FFmpeg's
``mpdecimate`` filter, and the FFmpeg inside PyAV is built without it.

Usage::

    python tools/data/resize_videos.py data/kinetics400/videos_train \\
        data/kinetics400/videos_train_256p --level 2 --ext mp4 \\
        --scale 256 --num-worker 8
    python tools/data/resize_videos.py SRC OUT --ext webm --to-mp4
"""
import argparse
import glob
import os
import os.path as osp
import sys
import time
from multiprocessing import Pool

# the PyAV transcoding, beside this tool
from av_transcode import DENSE_GOP, MUXERS, ConversionError, convert_video

TMP_INFIX = '.resizing'  # .NAME.resizing.EXT: the file being written


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src_dir', type=str, help='source video directory')
    parser.add_argument('out_dir', type=str, help='output video directory')
    parser.add_argument(
        '--dense',
        action='store_true',
        help='whether to generate a faster cache (a keyframe every '
        f'{DENSE_GOP} frames)')
    parser.add_argument(
        '--level',
        type=int,
        choices=[1, 2],
        default=2,
        help='directory level of data')
    parser.add_argument(
        '--remove-dup',
        action='store_true',
        help='whether to remove duplicated frames (refused: needs '
        'FFmpeg\'s mpdecimate filter, absent from PyAV\'s FFmpeg)')
    parser.add_argument(
        '--ext',
        type=str,
        default='mp4',
        choices=['avi', 'mp4', 'webm', 'mkv'],
        help='video file extensions')
    parser.add_argument(
        '--to-mp4',
        action='store_true',
        help='whether to output videos in mp4 format')
    parser.add_argument(
        '--scale',
        type=int,
        default=256,
        help='resize image short side length keeping ratio (default: 256)')
    parser.add_argument(
        '--num-worker', type=int, default=8,
        help='number of workers (default: 8)')
    return parser.parse_args(argv)


def list_videos(src_dir, level, ext):
    """Relative paths of the ``*.ext`` files at ``level`` (sorted), found
    as MMAction2's script finds them."""
    pattern = osp.join(src_dir, *['*'] * level) + '.' + ext
    rels = []
    for path in glob.glob(pattern):
        parts = osp.normpath(path).split(os.sep)[-level:]
        if parts[-1].endswith(TMP_INFIX + '.' + ext):
            continue  # our own temporary file (out_dir == src_dir)
        if osp.isfile(path):
            rels.append(osp.join(*parts))
    return sorted(rels)


def output_rel(rel, to_mp4):
    """Output path (relative) of a source path."""
    return osp.splitext(rel)[0] + '.mp4' if to_mp4 else rel


def temp_path(dst):
    """Hidden temporary name beside ``dst``, same extension (globs such as
    MMAction2's ``*/*.mp4`` do not match it)."""
    folder, name = osp.split(dst)
    base, ext = osp.splitext(name)
    return osp.join(folder, f'.{base}{TMP_INFIX}{ext}')


def convert_one(job):
    """Worker: convert one video atomically; returns a result dict with
    ``rel``, ``status`` (``'converted'`` / ``'failed'``), ``reason``,
    ``audio``, ``notes``."""
    src_dir, out_dir, rel, out_rel, scale, dense, muxer = job
    src, dst = osp.join(src_dir, rel), osp.join(out_dir, out_rel)
    tmp = temp_path(dst)
    result = dict(rel=rel, out=out_rel, status='failed', reason=None,
                  audio=None, notes=[])
    try:
        if not osp.getsize(src):
            raise ConversionError('empty file (0 bytes)')
        os.makedirs(osp.dirname(dst) or '.', exist_ok=True)
        info = convert_video(src, tmp, scale, dense, muxer)
        os.replace(tmp, dst)
        result.update(status='converted', audio=info['audio'],
                      notes=info['notes'])
    except Exception as err:  # noqa: BLE001 - never fatal: report it
        reason = str(err) if isinstance(err, ConversionError) else \
            f'{type(err).__name__}: {err}'
        result['reason'] = reason
        if osp.exists(tmp):
            os.remove(tmp)
    return result


def run_jobs(jobs, workers):
    """:func:`convert_one` of every job with a progress bar on stderr."""
    from mmengine.utils import ProgressBar
    bar = ProgressBar(len(jobs), file=sys.stderr)
    results = []
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            results.append(convert_one(job))
            bar.update()
    else:
        with Pool(workers) as pool:
            for result in pool.imap_unordered(convert_one, jobs):
                results.append(result)
                bar.update()
    sys.stderr.write('\n')
    return sorted(results, key=lambda r: r['rel'])


def format_summary(results, skipped):
    """Summary lines: converted / skipped / failed (reasons) / without
    audio."""
    converted = [r for r in results if r['status'] == 'converted']
    failed = [r for r in results if r['status'] == 'failed']
    silent = [r for r in converted if r['audio'] is None]
    copied = sum(1 for r in converted if (r['audio'] or '').startswith(
        'copy '))
    lines = [
        f'converted: {len(converted)} (audio copied: {copied}, re-encoded: '
        f'{len(converted) - copied - len(silent)}, without audio: '
        f'{len(silent)})',
        f'skipped (already done): {skipped}',
        f'failed: {len(failed)}'
    ]
    lines += [f'  {r["rel"]}: {r["reason"]}' for r in failed]
    lines.append(f'without an audio stream (converted, silent): '
                 f'{len(silent)}')
    lines += [f'  {r["rel"]}' for r in silent]
    noted = [r for r in converted if r['notes']]
    if noted:
        lines.append(f'converted with notes: {len(noted)}')
        lines += [f'  {r["rel"]}: {"; ".join(r["notes"])}' for r in noted]
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.remove_dup:
        print('error: --remove-dup is not supported: it needs FFmpeg\'s '
              'mpdecimate filter, and the FFmpeg inside PyAV is built '
              'without it (see av.filter.filters_available). Resize '
              'without --remove-dup.', file=sys.stderr)
        return 2
    if args.scale < 2 or args.scale % 2:
        print(f'error: --scale must be an even number >= 2 (H.264 needs '
              f'even dimensions), got {args.scale}', file=sys.stderr)
        return 2
    if not osp.isdir(args.src_dir):
        print(f'error: source folder {args.src_dir!r} does not exist',
              file=sys.stderr)
        return 2
    if not osp.isdir(args.out_dir):
        print(f'Creating folder: {args.out_dir}')
        os.makedirs(args.out_dir)
    muxer = 'mp4' if args.to_mp4 else MUXERS[args.ext]
    print('Reading videos from folder: ', args.src_dir)
    print('Extension of videos: ', args.ext)
    rels = list_videos(args.src_dir, args.level, args.ext)
    todo, skipped = [], 0
    for rel in rels:
        out_rel = output_rel(rel, args.to_mp4)
        if osp.isfile(osp.join(args.out_dir, out_rel)):
            skipped += 1
        else:
            todo.append((args.src_dir, args.out_dir, rel, out_rel,
                         args.scale, args.dense, muxer))
    print('Total number of videos found: ', len(rels))
    print('Total number of videos transfer finished: ', skipped)
    if not rels:
        # one run per extension (as MMAction2's): an extension the set does
        # not have is nothing to do, not an error
        print(f'nothing to convert: no *.{args.ext} file at level '
              f'{args.level} under {args.src_dir} (check --ext and --level '
              'if you expected some)')
        return 0
    workers = max(1, min(args.num_worker, len(todo)))
    print(f'Resizing {len(todo)} video(s) to short side {args.scale} '
          f'({muxer}) with {workers} worker(s)', flush=True)
    start = time.time()
    results = run_jobs(todo, workers)
    print('\nSummary:\n' + format_summary(results, skipped))
    failed = sum(1 for r in results if r['status'] == 'failed')
    print(f'done in {time.time() - start:.1f} s; outputs in {args.out_dir}')
    return 1 if todo and failed == len(todo) else 0


if __name__ == '__main__':
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    sys.exit(main())
