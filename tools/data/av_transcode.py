"""PyAV transcoding for ``resize_videos.py``: one video re-encoded so that
its short side is ``scale`` pixels, its audio copied or re-encoded in sync
(what is copied and what is re-encoded per output container: see
``resize_videos.py``). :func:`convert_video` raises :class:`ConversionError`
with the reason when a file cannot be converted.
"""
import os.path as osp
from fractions import Fraction

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
DENSE_GOP = 16  # MMAction2's --dense: ffmpeg -g 16


class ConversionError(RuntimeError):
    """A video cannot be converted (the message is the reason)."""



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
