"""Container I/O: decode an audio track, or sample ranges of it, with PyAV."""
from typing import Tuple

import numpy as np

from .container import (AudioDecodeError, SpanDecodeUnsupported,
                        StreamParametersChanged, _ProbeMismatch,
                        _stream_start, open_for_audio)


class AudioSpanReader:
    """Decode the whole audio track, or chosen sample ranges of it, with
    PyAV.

    The file is opened (and its headers read) once, in the constructor;
    :meth:`read` seeks to each requested range and decodes only a few
    codec frames before it (``preroll``: the first frame after a seek
    lacks its MDCT overlap, an MP3 frame also the bit reservoir of the
    previous ones). Sample ``i`` of the native-rate track is
    at ``(i / native_rate)`` s after the audio stream start, i.e. at
    ``offset + i / native_rate`` in video time; a whole-track decode puts
    the same sample at index ``i``.

    Args:
        path (str): Media file.

    Raises:
        AudioDecodeError: the file cannot be opened or has no audio stream.
    """

    preroll_frames = 3  # codec frames decoded before a requested range
    # An MP3 frame takes part of its data from the previous ones (the bit
    # reservoir: up to 511 bytes back for MPEG-1, 1152-sample frames, 255
    # for MPEG-2/2.5, 576-sample ones) and needs the previous frame's
    # MDCT overlap: ceil(511 / 60) + 1 = 10 frames for the smallest
    # MPEG-1 frames (32 kbit/s at 48 kHz, stereo: 60 data bytes), 24 + 1
    # for MPEG-2 at 8 kbit/s mono (11 bytes); measured the same, +1 here.
    mp3_preroll_frames = {1152: 11, 576: 26}

    def __init__(self, path: str) -> None:
        self.path = path
        self._container = None
        self._open(fast_probe=True)

    def _open(self, fast_probe: bool) -> None:
        """(Re)open the file and read the audio stream parameters."""
        self.close()
        self._container, self._fast_probe = open_for_audio(
            self.path, fast_probe)
        streams = self._container.streams
        if not streams.audio:
            self.close()
            if self._fast_probe:
                return self._open(fast_probe=False)
            raise AudioDecodeError(f'{self.path!r} has no audio stream')
        self._stream = streams.audio[0]
        import av
        for stream in streams:  # dropped by the demuxer (mov: not read)
            if stream.index != self._stream.index:
                stream.discard = av.stream.Discard.all
        codec = self._stream.codec_context
        if self._fast_probe and not (codec.sample_rate and codec.channels):
            return self._open(fast_probe=False)
        self.native_rate = codec.sample_rate
        self.channels = codec.channels
        self.frame_size = codec.frame_size or 1024
        self.preroll = (self.mp3_preroll_frames.get(self.frame_size, 26)
                        if codec.name in ('mp3', 'mp3float') else
                        self.preroll_frames)
        self.offset = _stream_start(self._stream) - _stream_start(
            next(iter(streams.video), None))
        self._start_pts = self._stream.start_time
        self._fresh = True  # nothing demuxed yet
        self._clamp_seeks = False  # demuxer refused targets before start
        self._checked = False  # no frame compared with the header yet
        self._pts_per_sample = None

    def _reopen_fully(self) -> 'StreamParametersChanged':
        """Reopen with the full probe after a decoded frame contradicted
        the short probe's header parameters (e.g. HE-AAC, whose header
        states half the output rate); returns the error to raise."""
        old = (self.native_rate, self.channels)
        self._open(fast_probe=False)
        return StreamParametersChanged(
            f'{self.path!r}: decoded audio has (rate, channels) '
            f'{(self.native_rate, self.channels)}, its header said {old}; '
            f'reopened with full probing')

    @property
    def seekable(self) -> bool:
        """Whether :meth:`read` and :meth:`num_samples` can be used (the
        stream start and duration are known, and the container is not
        MPEG-PS: its seeks may land past the target, and its audio parser
        then emits undecodable or mis-cut packets for several frames)."""
        return (self._start_pts is not None
                and self._stream.duration is not None
                and self._stream.time_base is not None
                and bool(self.native_rate)
                and self._container.format.name != 'mpeg')

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def _wrap(self, err: Exception) -> AudioDecodeError:
        return AudioDecodeError(
            f'PyAV cannot decode the audio of {self.path!r}: '
            f'{type(err).__name__}: {err}')

    def _sample_index(self, pts: int) -> int:
        if self._pts_per_sample is None:
            self._pts_per_sample = 1 / (self._stream.time_base *
                                        self.native_rate)
            self._unit_pts = self._pts_per_sample == 1
        if self._unit_pts:  # time base 1 / sample rate
            return pts - self._start_pts
        return int(round((pts - self._start_pts) / self._pts_per_sample))

    def _seek_to_sample(self, index: int) -> None:
        """Seek so that decoding starts at or before sample ``index``.

        Targets before the first packet rewind to the very first (priming)
        packet, which reproduces a whole-track decode exactly. Demuxers
        that refuse a target before the stream start (AVI, FLV: FFmpeg
        finds no index entry and fails with EPERM) are asked for the
        stream's first timestamp instead, from then on; if a seek is still
        refused, the file is reopened (decoding restarts at the first
        packet, which :meth:`read` skips forward from).
        """
        if index <= 0:
            target = self._start_pts - 10 * self.native_rate
        else:
            self._sample_index(self._start_pts)  # sets _pts_per_sample
            target = self._start_pts + int(index * self._pts_per_sample)
        if self._clamp_seeks:
            target = max(target, self._start_pts)
        self._fresh = False
        import av
        try:
            self._container.seek(
                int(target), stream=self._stream, backward=True)
        except av.error.FFmpegError:
            if target < self._start_pts:  # ask for the stream start
                self._clamp_seeks = True
                return self._seek_to_sample(index)
            self._open(self._fast_probe)  # at the first packet

    def _frames(self):
        for packet in self._container.demux(self._stream):
            for frame in packet.decode():
                if not self._checked:  # the first frame after opening
                    if self._fast_probe and (
                            frame.sample_rate != self.native_rate
                            or frame.layout.nb_channels != self.channels):
                        raise _ProbeMismatch()
                    self._checked = True
                yield frame

    def read_all(self) -> np.ndarray:
        """The whole track, channel mean, native rate, float32."""
        samples = _FrameCollector()
        try:
            if not self._fresh:
                self._seek_to_sample(-1)
            self._fresh = False
            for frame in self._frames():
                samples.add(frame)
        except _ProbeMismatch:
            self._reopen_fully()
            return self.read_all()
        except Exception as err:  # noqa: BLE001 - report any decode error
            raise self._wrap(err) from err
        return samples.mono()

    def num_samples(self) -> int:
        """Native samples of a whole-track decode, from the last packets
        (the decoder may emit more samples than the stream duration says,
        e.g. the AAC end padding).

        AAC decodes every packet to ``frame_size`` samples, so its count is
        the last packet's position plus one frame, read without decoding
        (unless the packet asks the decoder to trim samples); other codecs
        decode the last packets.
        """
        end = self._sample_index(self._start_pts + self._stream.duration)
        if self._stream.codec_context.name == 'aac':
            indexed = self._indexed_end(end)
            if indexed is not None:
                return indexed
            last = self._last_packet(end - 2 * self.frame_size)
            if last is not None and not last.has_sidedata('skip_samples'):
                return self._sample_index(last.pts) + self.frame_size
        return self._decoded_end(end)

    def _indexed_end(self, end: int):
        """AAC in the mov family: the last packet's position is the last
        entry of the demuxer's sample index (read with the header), so the
        track length is read without a seek. None when the index does not
        reach the stream's stated end (e.g. a fragmented mp4 indexes its
        fragments as they are read) or the container is not mov."""
        if not self._container.format.name.startswith('mov'):
            return None
        entries = self._stream.index_entries
        if not len(entries):
            return None
        last = entries[len(entries) - 1]
        stop = self._sample_index(last.timestamp) + self.frame_size
        return stop if 0 <= stop - end < self.frame_size else None

    def _last_packet(self, from_sample: int):
        """The last packet with a timestamp, demuxed from ``from_sample``
        on (None if there is none)."""
        last = None
        try:
            self._seek_to_sample(from_sample)
            for packet in self._container.demux(self._stream):
                if packet.size and packet.pts is not None:
                    last = packet
        except Exception as err:  # noqa: BLE001 - report any demux error
            raise self._wrap(err) from err
        return last

    def _decoded_end(self, end: int) -> int:
        """Track length from decoding the packets near ``end``."""
        try:
            self._seek_to_sample(end - 2 * self.frame_size)
            last = None
            for frame in self._frames():
                last = frame
        except _ProbeMismatch:
            raise self._reopen_fully() from None
        except Exception as err:  # noqa: BLE001 - report any decode error
            raise self._wrap(err) from err
        if last is None or last.pts is None:
            raise AudioDecodeError(
                f'the audio stream of {self.path!r} is empty')
        return self._sample_index(last.pts) + last.samples

    def read(self, first: int, stop: int) -> Tuple[np.ndarray, int]:
        """Native samples ``[first, stop)`` (channel mean, float32).

        Returns:
            tuple: ``(waveform, start)`` where ``start <= max(first, 0)``
            is the track index of ``waveform[0]``; the waveform ends at
            ``stop`` or at the end of the track. Raises
            :class:`SpanDecodeUnsupported` when the stream has no usable
            timestamps (decode the whole track instead).
        """
        first = max(first, 0)
        samples, start, expected = _FrameCollector(), None, None
        try:
            self._seek_to_sample(first - self.preroll * self.frame_size)
            for frame in self._frames():
                if frame.pts is None:
                    raise SpanDecodeUnsupported('frame without pts')
                index = self._sample_index(frame.pts)
                if index + frame.samples <= first:
                    continue
                if start is None:
                    if index > first:
                        raise SpanDecodeUnsupported(
                            f'seek went past sample {first}')
                    start = expected = index
                if index != expected:
                    raise SpanDecodeUnsupported(
                        f'audio frames are not contiguous at {index}')
                expected = index + frame.samples
                samples.add(frame)
                if expected >= stop:
                    break
        except _ProbeMismatch:
            raise self._reopen_fully() from None
        except (AudioDecodeError, SpanDecodeUnsupported):
            raise
        except Exception as err:  # noqa: BLE001 - report any decode error
            raise self._wrap(err) from err
        if start is None:
            return np.zeros(0, np.float32), first
        return samples.mono()[:stop - start], start


class _FrameCollector:
    """Collects consecutive decoded PyAV audio frames; :meth:`mono` returns
    their channel mean.

    Frames go into an ``av.AudioFifo`` (one C copy each; converting every
    frame to numpy costs more than decoding it). If the sample format,
    layout or rate changes mid-stream, collection goes on frame by frame
    (:func:`_frame_channels`). The change is detected here: PyAV 18's
    ``AudioFifo.write`` crashes the interpreter on a layout change instead
    of raising.
    """

    def __init__(self) -> None:
        import av
        self._fifo = av.AudioFifo()
        self._kind = None  # (format, layout, rate) of the FIFO's frames
        self._chunks = []  # per-channel arrays, once the FIFO is given up

    def add(self, frame) -> None:
        if self._fifo is not None:
            kind = (frame.format.name, frame.layout.name, frame.sample_rate)
            if self._kind is None:
                self._kind = kind
            if kind == self._kind:
                frame.pts = None  # the FIFO checks timestamps; read() did
                self._fifo.write(frame)
                return
            self._drain_fifo()
        self._chunks.append(_frame_channels(frame))

    def _drain_fifo(self) -> None:
        if self._fifo.samples:
            self._chunks.append(_frame_channels(self._fifo.read()))
        self._fifo = None

    def mono(self) -> np.ndarray:
        """Channel mean of everything added, float32 ``[samples]``."""
        if self._fifo is not None:
            self._drain_fifo()
        return _mono(self._chunks)


# PyAV sample format (planar suffix ``p`` removed) -> numpy dtype.
_SAMPLE_DTYPES = {
    'u8': np.uint8,
    's16': np.int16,
    's32': np.int32,
    's64': np.int64,
    'flt': np.float32,
    'dbl': np.float64,
}


def _frame_channels(frame) -> list:
    """Samples of a decoded PyAV audio frame, one ``[samples]`` array per
    channel.

    The arrays are views of the frame's buffers (``AudioFrame.to_ndarray``
    stacks the planes with ``np.vstack``, which costs more than decoding
    the frame).
    """
    fmt = frame.format
    dtype = _SAMPLE_DTYPES.get(fmt.name[:-1] if fmt.is_planar else fmt.name)
    channels = frame.layout.nb_channels
    if dtype is None:  # a format numpy cannot view: let PyAV convert
        arr = frame.to_ndarray()
        arr = (arr.reshape(channels, -1) if fmt.is_planar else
               arr.reshape(-1, channels).T)
        return list(arr)
    samples = frame.samples
    if fmt.is_planar:
        return [np.frombuffer(plane, dtype, samples)
                for plane in frame.planes[:channels]]
    packed = np.frombuffer(frame.planes[0], dtype, samples * channels)
    return [packed[k::channels] for k in range(channels)]


def _to_float(arr: np.ndarray) -> np.ndarray:
    """Samples as float32 in [-1, 1] (integer formats scaled; unsigned
    8-bit is offset by 128 as in WAV)."""
    if arr.dtype == np.uint8:
        return (arr.astype(np.float32) - 128.0) / 128.0
    if arr.dtype.kind == 'i':
        return arr.astype(np.float32) / np.iinfo(arr.dtype).max
    return arr.astype(np.float32, copy=False)


def _mono(chunks) -> np.ndarray:
    """Channel mean of consecutive decoded frames (each a list of
    per-channel arrays from :func:`_frame_channels`), float32. One
    vectorised pass per channel: per-frame means cost more than the
    decoding."""
    if not chunks:
        return np.zeros(0, np.float32)
    if len({(len(c), c[0].dtype) for c in chunks}) > 1:
        # the layout or format changed mid-stream: average frame by frame
        return np.concatenate([_mono([c]) for c in chunks])
    num_channels = len(chunks[0])
    mono = _to_float(np.concatenate([c[0] for c in chunks]))
    if num_channels == 1:
        return mono
    if not mono.flags.owndata:  # a view of the decoded samples
        mono = mono.copy()
    for k in range(1, num_channels):
        mono += _to_float(np.concatenate([c[k] for c in chunks]))
    mono /= np.float32(num_channels)
    return mono
