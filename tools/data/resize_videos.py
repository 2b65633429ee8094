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
failed: they are listed, and a re-run retries only them); 1 when there
was nothing to convert because no file matched, or when every file tried
failed (a wrong --ext/--level or a broken installation); 2 for usage
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
from fractions import Fraction
from multiprocessing import Pool

# --ext -> FFmpeg muxer of the output (--to-mp4: always mp4).
MUXERS = {'mp4': 'mp4', 'mkv': 'matroska', 'avi': 'avi', 'webm': 'webm'}
# Video encoder per output muxer (MMAction2: libx264 everywhere; WebM
# takes only VP8/VP9/AV1).
VIDEO_ENCODERS = {'webm': 'libvpx-vp9'}
VP9_OPTIONS = {'crf': '32', 'b': '0', 'deadline': 'good', 'cpu-used': '4',
               'row-mt': '1'}
# Audio codecs whose packets are copied into each output muxer (FFmpeg's
# codec names). Anything else is re-encoded. (FFmpeg's mp4 muxer also
# accepts Vorbis, but as experimental: it is re-encoded.)
# PCM is not copied into mp4: FFmpeg >= 6.1 writes it as 'ipcm', which
# older FFmpeg builds (decord 0.6.0's 4.1) cannot decode.
COPY_CODECS = {
    'mp4': {'aac', 'mp3', 'mp2', 'opus', 'flac', 'alac', 'ac3', 'eac3'},
    'matroska': None,  # whatever the muxer takes
    'webm': {'opus', 'vorbis'},
    'avi': {'aac', 'mp3', 'mp2', 'ac3', 'pcm_s16le', 'pcm_u8'},
}
TMP_INFIX = '.resizing'  # .NAME.resizing.EXT: the file being written
DENSE_GOP = 16  # MMAction2's --dense: ffmpeg -g 16


class ConversionError(RuntimeError):
    """A video cannot be converted (the message is the reason)."""


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
        help='resize image short side length keeping ratio')
    parser.add_argument(
        '--num-worker', type=int, default=8, help='number of workers')
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


def scaled_size(width, height, scale):
    """Output ``(width, height)``: the short side ``scale``, the other one
    ``round(long * scale / short)`` to an even number, as ffmpeg's
    ``scale=-2:N`` (landscape) / ``scale=N:-2`` (portrait and square)
    compute it."""

    def rescale_even(long, short):  # av_rescale(scale, long, short*2)*2
        den = short * 2
        return max(2, (2 * scale * long + den) // (2 * den) * 2)

    if width > height:
        return rescale_even(width, height), scale
    return scale, rescale_even(height, width)


def _rotation_filters(rotation):
    """Filters that turn a frame upright, as ffmpeg's autorotate does
    (``rotation``: PyAV's ``VideoFrame.rotation``, counter-clockwise)."""
    rotation = int(round(rotation or 0)) % 360
    return {90: [('transpose', 'cclock')], 270: [('transpose', 'clock')],
            180: [('hflip', None), ('vflip', None)]}.get(rotation, [])


def _seconds(pts, time_base):
    return float(pts * time_base) if pts is not None else 0.0


def _first_frame(path):
    """Rotation and size of the first decodable video frame."""
    import av
    try:
        probe = av.open(path)
    except av.error.FFmpegError as err:
        raise ConversionError(
            f'cannot open as a video ({err.strerror}): not a video, '
            'truncated or damaged') from err
    with probe:
        if not probe.streams.video:
            raise ConversionError('no video stream')
        stream = probe.streams.video[0]
        try:
            for frame in probe.decode(stream):
                return frame.rotation, frame.width, frame.height
        except av.error.FFmpegError as err:
            raise ConversionError(
                f'cannot decode the video ({err.strerror})') from err
    raise ConversionError('no video frame could be decoded')


def _audio_plan(ain, muxer):
    """``(copy, encoder, rate)`` for the source audio stream ``ain``."""
    import av
    name = ain.codec_context.codec.canonical_name
    allowed = COPY_CODECS[muxer]
    if allowed is None or name in allowed:
        if _muxer_takes(muxer, ain):
            return True, None, ain.codec_context.sample_rate
    channels = ain.codec_context.channels
    rate = ain.codec_context.sample_rate
    if muxer == 'webm':
        encoder = 'libopus'
    elif muxer == 'avi' and channels <= 2:
        encoder = 'libmp3lame'
    else:
        encoder = 'aac'
    if encoder == 'libopus':
        # Opus runs at 48 kHz inside (decoders output 48 kHz); encoding
        # at a lower rate shifts the audio (FFmpeg's WebM muxer then
        # states the priming in the wrong unit: 13 ms late at 16 kHz)
        rate = 48000
    rates = av.codec.Codec(encoder, 'w').audio_rates
    if rates and rate not in rates:
        rate = min((r for r in rates if r >= rate), default=max(rates))
    return False, encoder, rate


def _muxer_takes(muxer, ain):
    """Whether FFmpeg's ``muxer`` writes a header for a copy of ``ain``."""
    import io

    import av
    probe = av.open(io.BytesIO(), 'w', format=muxer)
    try:
        probe.add_stream_from_template(ain)
        probe.start_encoding()
        return True
    except (ValueError, av.error.FFmpegError):
        return False
    finally:
        try:
            probe.close()
        except av.error.FFmpegError:
            pass


_DEFAULT_LAYOUTS = {1: 'mono', 2: 'stereo', 3: '2.1', 4: 'quad', 5: '5.0',
                    6: '5.1', 7: '6.1', 8: '7.1'}  # FFmpeg's defaults


def _layout(codec_context):
    """The source's channel layout; the default one for its channel count
    when the order is unspecified (e.g. PCM in Matroska: '1 channels')."""
    name = codec_context.layout.name
    if name.endswith('channels'):
        return _DEFAULT_LAYOUTS.get(codec_context.channels, name)
    return name


def _audio_bit_rate(encoder, channels):
    per_channel = 64000
    rate = per_channel * max(channels, 1)
    return min(rate, 320000) if encoder == 'libmp3lame' else rate


class _VideoPipe:
    """Decoded frames -> upright, scaled yuv420p frames -> encoder."""

    def __init__(self, vin, vout, size, rotation, origin, out_tb):
        self.vin, self.vout, self.origin = vin, vout, origin
        self.size, self.rotation = size, rotation
        self.in_tb, self.out_tb = vin.time_base, out_tb
        self.graph = self.graph_key = None
        self.last_pts = None
        self.frames = self.dropped = 0
        self.step = None  # pts step for frames without a timestamp

    def _build_graph(self, frame):
        """The filter graph for frames like ``frame`` (rebuilt when the
        stream changes size or pixel format, as ffmpeg reconfigures)."""
        import av
        self.graph = av.filter.Graph()
        nodes = [self.graph.add_buffer(
            width=frame.width, height=frame.height, format=frame.format,
            time_base=self.out_tb)]
        for name, arg in _rotation_filters(self.rotation):
            nodes.append(self.graph.add(name, arg))
        width, height = self.size
        nodes.append(self.graph.add('scale',
                                    f'{width}:{height}:flags=bicubic'))
        nodes.append(self.graph.add('format', 'yuv420p'))
        nodes.append(self.graph.add('buffersink'))
        self.graph.link_nodes(*nodes).configure()
        self.graph_key = (frame.width, frame.height, frame.format.name)

    def push(self, frame):
        """Filter and encode a decoded frame (``None``: flush); returns
        the packets to mux."""
        if frame is not None:
            frame.pts = self._pts(frame)
            if frame.pts is None:
                self.dropped += 1
                return []
            frame.time_base = self.out_tb
            if self.graph_key != (frame.width, frame.height,
                                  frame.format.name):
                self._build_graph(frame)
        packets = []
        if self.graph is not None:
            self.graph.push(frame)
            packets = self._pull()
        if frame is None:
            packets.extend(self.vout.encode(None))
        return packets

    def _pull(self):
        import av
        packets = []
        while True:
            try:
                out = self.graph.pull()
            except (BlockingIOError, EOFError):
                break
            except av.error.FFmpegError as err:
                if err.errno in (11, 541478725):  # EAGAIN, EOF
                    break
                raise
            out.time_base = self.out_tb
            out.pict_type = av.video.frame.PictureType.NONE  # as ffmpeg
            packets.extend(self.vout.encode(out))
            self.frames += 1
        return packets

    def _pts(self, frame):
        """Output timestamp (encoder time base), strictly increasing; None
        to drop the frame (a timestamp repeated, e.g. by AVI rounding)."""
        if frame.pts is None:
            if self.last_pts is None:
                pts = 0
            else:
                if self.step is None:
                    rate = self.vin.average_rate or Fraction(30)
                    self.step = max(1, round(1 / (rate * self.out_tb)))
                pts = self.last_pts + self.step
        else:
            pts = round((frame.pts * self.in_tb - self.origin) / self.out_tb)
        if self.last_pts is not None and pts <= self.last_pts:
            return None
        self.last_pts = pts
        return pts


class _AudioEncoder:
    """Decoded audio frames -> the output encoder (which converts the
    sample format, frame size and, where it must, the rate): contiguous
    timestamps from the first frame's, relative to the video start."""

    def __init__(self, aout, origin):
        self.aout, self.origin = aout, origin
        self.next_pts = None  # in samples of the decoded rate

    def push(self, frame):
        if frame is not None:
            rate = frame.sample_rate
            if self.next_pts is None:
                start = (frame.pts * frame.time_base
                         if frame.pts is not None else 0)
                self.next_pts = round((start - self.origin) * rate)
            frame.pts = self.next_pts
            frame.time_base = Fraction(1, rate)
            self.next_pts += frame.samples
        return self.aout.encode(frame)


def _origin(vin, ain):
    """Source time that becomes 0 in the output: the earliest stream
    start, as ffmpeg shifts (so no stream needs a negative timestamp,
    which mp4 would cut off with an edit list and Matroska would shift
    anyway); both streams keep their offset to each other."""
    starts = [Fraction(s.start_time) * s.time_base for s in (vin, ain)
              if s is not None and s.start_time is not None]
    return min(starts, default=Fraction(0))


def _add_video_stream(out, vin, size, muxer, dense):
    """The output video stream; returns ``(stream, time_base)``."""
    rate = vin.average_rate or vin.guessed_rate or Fraction(30)
    vout = out.add_stream(VIDEO_ENCODERS.get(muxer, 'libx264'), rate=rate)
    vout.width, vout.height = size
    vout.pix_fmt = 'yuv420p'
    if muxer == 'webm':
        vout.options = dict(VP9_OPTIONS)
    elif muxer == 'avi':
        # AVI stores the decoding order only: B-frames would make readers
        # that use timestamps see the video late
        vout.options = {'bf': '0'}
    if dense:
        vout.codec_context.gop_size = DENSE_GOP
    # every frame keeps its timestamp; AVI has none: frames are counted
    # at the frame rate
    time_base = 1 / Fraction(rate) if muxer == 'avi' else vin.time_base
    vout.codec_context.time_base = time_base
    return vout, time_base


def _add_audio_stream(out, ain, muxer, origin):
    """The output audio stream: a copy of ``ain`` or an encoder. Returns
    ``(stream, encoder or None, description, notes)``."""
    copy, encoder, rate = _audio_plan(ain, muxer)
    name = ain.codec_context.codec.canonical_name
    notes = []
    if muxer == 'avi':
        offset = _seconds(ain.start_time, ain.time_base) - float(origin)
        if abs(offset) > 0.001:
            notes.append(f'audio offset {offset * 1000:.0f} ms lost (AVI '
                         'cannot store it)')
    if copy:
        return out.add_stream_from_template(ain), None, f'copy {name}', \
            notes
    aout = out.add_stream(encoder, rate=rate)
    aout.layout = _layout(ain.codec_context)
    aout.bit_rate = _audio_bit_rate(encoder, ain.codec_context.channels)
    description = f'{name} -> {aout.codec_context.codec.canonical_name}'
    if rate != ain.codec_context.sample_rate:
        description += f' ({rate} Hz)'
    return aout, _AudioEncoder(aout, origin), description, notes


def convert_video(src, dst, scale=256, dense=False, muxer=None):
    """Write ``src`` resized to short side ``scale`` (audio kept) to
    ``dst`` (not atomic: see :func:`convert_one`).

    Returns:
        dict: ``size`` (w, h), ``frames``, ``audio`` (None without an
        audio stream, else ``'copy <codec>'`` or ``'<codec> -> <codec>'``)
        and ``notes`` (list of str).
    """
    import av
    muxer = muxer or MUXERS[osp.splitext(dst)[1][1:].lower()]
    rotation, width, height = _first_frame(src)
    if rotation and int(round(rotation)) % 180:
        width, height = height, width
    size = scaled_size(width, height, scale)
    audio_desc, notes, bad_packets = None, [], 0
    with av.open(src) as inp:
        vin = inp.streams.video[0]
        vin.thread_type = 'AUTO'
        ain = inp.streams.audio[0] if inp.streams.audio else None
        origin = _origin(vin, ain)
        out = av.open(dst, 'w', format=muxer)
        try:
            vout, out_tb = _add_video_stream(out, vin, size, muxer, dense)
            video = _VideoPipe(vin, vout, size, rotation, origin, out_tb)
            audio = None
            if ain is not None:
                aout, audio, audio_desc, notes = _add_audio_stream(
                    out, ain, muxer, origin)
                shift = round(origin / ain.time_base)
            for packet in inp.demux([vin] + ([ain] if ain else [])):
                if packet.stream is ain and audio is None:  # copy
                    if packet.dts is None:
                        packet.dts = packet.pts
                    if packet.size == 0 or packet.dts is None:
                        continue  # the demuxer's end marker
                    if packet.pts is not None:
                        packet.pts -= shift
                    packet.dts -= shift
                    packet.stream = aout
                    out.mux(packet)
                    continue
                pipe = audio if packet.stream is ain else video
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    bad_packets += 1
                    continue
                for frame in frames:
                    out.mux(pipe.push(frame))
            out.mux(video.push(None))
            if audio is not None:
                out.mux(audio.push(None))
            if video.frames == 0:
                raise ConversionError('no video frame could be decoded')
        except BaseException:
            try:  # the error that stopped it is the one to report
                out.close()
            except Exception:  # noqa: BLE001
                pass
            raise
        out.close()
    if bad_packets:
        notes.append(f'{bad_packets} undecodable packet(s) skipped')
    if video.dropped:
        notes.append(f'{video.dropped} frame(s) with a repeated timestamp '
                     'dropped')
    return dict(size=size, frames=video.frames, audio=audio_desc,
                notes=notes)


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
        print(f'error: no *.{args.ext} file at level {args.level} under '
              f'{args.src_dir} (check --ext and --level)', file=sys.stderr)
        return 1
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
