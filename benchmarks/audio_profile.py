"""Where the online audio time of a training sample goes, and its floor.

Used by ``benchmarks/data_pipeline.py`` (``--profile`` and the per-step
overhead); no timing here is a unit test.

- :class:`StepClock`: CPU time (``time.thread_time``: the audio work runs in
  the loader's thread; other processes on a shared machine do not count)
  of the steps of the audio path, attributed exclusively to the innermost
  step running: open/probe, seek, track length (the negatives' range),
  decode (demux + codec), downmix, resample, log-mel and
  alignment/copies (everything else inside the audio transforms: frame
  positions, the negative's draw, gathering the frames, normalising,
  laying out views, collecting decoded frames). It wraps the functions
  of :mod:`mmaction_avslowfast.audio` by name (what a version lacks is
  skipped), so the same split can be taken on an older checkout.
- :func:`floor_cost`: the floor of one sample, from bare PyAV calls: open
  the file (the opener the worker uses), seek to each span the sample's
  clip and negative read (one codec frame earlier), decode the frames that
  cover it, average the channels, resample the spans to the model's rate
  in one call; nothing else (no track length, no log-mel, no alignment,
  no checks). Spans are taken from the positions the worker computed.
  Decoded frames are collected as the worker's reader does (one
  ``av.AudioFifo`` per span).
"""
import importlib
import math
import time
from collections import Counter

import numpy as np

STEPS = ('open/probe', 'seek', 'track length', 'decode', 'downmix',
         'resample', 'log-mel', 'alignment/copies')
# (module, attribute path, step); 'track length' holds whatever runs inside
# it (a seek, demuxing / decoding the last packets).
_PATCHES = (
    ('span_reader', 'AudioSpanReader._open', 'open/probe'),
    ('span_reader', 'AudioSpanReader._seek_to_sample', 'seek'),
    ('span_reader', 'AudioSpanReader.num_samples', 'track length'),
    ('span_reader', 'AudioSpanReader._frames', 'decode'),
    ('span_reader', '_FrameCollector.add', 'alignment/copies'),
    ('span_reader', '_FrameCollector.mono', 'downmix'),
    ('resample', 'WaveformResampler.batch', 'resample'),
    ('resample', 'WaveformResampler.__call__', 'resample'),
    ('logmel', 'LogMelExtractor.batch', 'log-mel'),
    ('logmel', 'LogMelExtractor.__call__', 'log-mel'),
    ('logmel', 'LogMelExtractor.windows_logmel', 'log-mel'),
)
_STICKY = ('track length', )


class StepClock:
    """Exclusive thread CPU time per step of the audio path (see the module
    doc). ``with clock.installed():`` wraps the functions;
    ``clock.run(step, fn, *args)`` times a call as ``step`` (e.g. a whole
    transform as 'alignment/copies': its own code)."""

    def __init__(self) -> None:
        self.totals = Counter()
        self._stack = []
        self._last = 0.0
        self._undo = []

    def _push(self, step):
        now = time.thread_time()
        if self._stack:
            self.totals[self._stack[-1]] += now - self._last
        self._stack.append(step)
        self._last = now

    def _pop(self):
        now = time.thread_time()
        self.totals[self._stack.pop()] += now - self._last
        self._last = now

    def _active(self, step):
        return not (self._stack and self._stack[-1] in _STICKY
                    and step != self._stack[-1])

    def run(self, step, fn, *args, **kwargs):
        self._push(step)
        try:
            return fn(*args, **kwargs)
        finally:
            self._pop()

    def _wrap(self, fn, step):
        clock = self

        def timed(*args, **kwargs):
            if not clock._active(step):
                return fn(*args, **kwargs)
            clock._push(step)
            try:
                return fn(*args, **kwargs)
            finally:
                clock._pop()

        def timed_gen(*args, **kwargs):
            gen = fn(*args, **kwargs)
            while True:
                active = clock._active(step)
                if active:
                    clock._push(step)
                try:
                    item = next(gen)
                except StopIteration:
                    return
                finally:
                    if active:
                        clock._pop()
                yield item

        import inspect
        return timed_gen if inspect.isgeneratorfunction(fn) else timed

    def install(self):
        for module_name, attr, step in _PATCHES:
            try:
                module = importlib.import_module(
                    f'mmaction_avslowfast.audio.{module_name}')
            except ImportError:
                continue
            owner_name, _, name = attr.rpartition('.')
            owner = getattr(module, owner_name, None)
            fn = owner and owner.__dict__.get(name)
            if fn is None:
                continue
            setattr(owner, name, self._wrap(fn, step))
            self._undo.append((owner, name, fn))
        return self

    def uninstall(self):
        for owner, name, fn in reversed(self._undo):
            setattr(owner, name, fn)
        self._undo = []

    def take(self):
        """The totals since the last call (a Counter), and reset."""
        out, self.totals = self.totals, Counter()
        return out


def native_ranges(positions, native_rate, target_rate=16000, hop=256,
                  n_fft=512, total=None):
    """Native sample ranges ``[(first, stop)]`` that the log-mel frames
    read by ``positions`` (``[views, channels, frames]``, fractional frames
    of the track's log-mel) need: each view's first to last frame, with
    the resampler's filter width on both sides. Views are not merged."""
    ratio = native_rate / target_rate
    block = native_rate // math.gcd(int(native_rate), int(target_rate))
    width = math.ceil(6 * block / (min(block, target_rate // math.gcd(
        int(native_rate), int(target_rate))) * 0.99)) + block
    out = []
    for view in np.asarray(positions).reshape(-1, np.shape(positions)[-1]):
        lo = max(math.floor(view.min()), 0)
        hi = math.floor(view.max())
        if total is not None:
            hi = min(hi, total - 1)
        if hi < lo:
            continue
        out.append((max(int(lo * hop * ratio) - width, 0),
                    int(math.ceil((hi * hop + n_fft) * ratio)) + width))
    return out


def _channel_mean(fifo, channels, planar):
    """Mean over channels of what ``fifo`` (an ``av.AudioFifo``) holds."""
    arr = fifo.read().to_ndarray()
    arr = arr.reshape(channels, -1) if planar else arr.reshape(
        -1, channels).T
    if arr.dtype.kind in 'iu':
        arr = arr.astype(np.float32) / np.iinfo(arr.dtype).max
    return arr.mean(0, dtype=np.float32)


def floor_cost(path, ranges, resampler, open_fn):
    """Thread CPU seconds of the floor of one sample (module doc): open,
    seek and decode ``ranges`` (native samples), average the channels,
    resample with ``resampler.batch``. Returns ``(seconds, samples
    decoded)``."""
    import av
    start = time.thread_time()
    container, _ = open_fn(path)
    stream = container.streams.audio[0]
    for other in container.streams:
        if other.index != stream.index:
            other.discard = av.stream.Discard.all
    rate = stream.codec_context.sample_rate or 1
    tb = stream.time_base
    t0 = stream.start_time or 0
    frame = stream.codec_context.frame_size or 1024
    channels = stream.codec_context.channels
    waves, decoded, planar = [], 0, True
    for first, stop in ranges:
        target = t0 + int((first - frame) / (rate * tb))
        try:
            container.seek(max(target, t0), stream=stream, backward=True)
        except av.error.FFmpegError:
            container.seek(0)
        fifo = av.AudioFifo()
        for packet in container.demux(stream):
            done = False
            try:
                outs = packet.decode()
            except av.error.InvalidDataError:  # MPEG-PS after a seek
                continue
            for out in outs:
                planar = out.format.is_planar
                out.pts = None
                fifo.write(out)
                pos = 0 if packet.pts is None else \
                    (packet.pts - t0) * tb * rate
                done = pos + out.samples >= stop
            if done:
                break
        if fifo.samples:
            waves.append(_channel_mean(fifo, channels, planar))
            decoded += waves[-1].size
    container.close()
    resampler.batch(waves)
    return time.thread_time() - start, decoded


class PositionCapture:
    """Records the positions (and track length) the audio transforms read,
    by wrapping ``clip_frame_positions`` where the audio modules call it."""

    def __init__(self) -> None:
        self.positions, self.total = None, None
        self._undo = []

    def __enter__(self):
        for name in ('alignment', 'spans'):
            try:
                module = importlib.import_module(
                    f'mmaction_avslowfast.audio.{name}')
            except ImportError:
                continue
            fn = getattr(module, 'clip_frame_positions', None)
            if fn is None:
                continue
            self._undo.append((module, fn))
            setattr(module, 'clip_frame_positions', self._wrap(fn))
        return self

    def _wrap(self, fn):
        def capture(clips, num_frames, frame_rate, audio_offset=0.0,
                    total=0, *args, **kwargs):
            out = fn(clips, num_frames, frame_rate, audio_offset, total,
                     *args, **kwargs)
            self.positions, self.total = out, total
            return out
        return capture

    def __exit__(self, *exc):
        for module, fn in self._undo:
            setattr(module, 'clip_frame_positions', fn)
        self._undo = []


def audio_costs(entries, transforms, profile=False, rng=None):
    """Audio-only costs of each sample (thread CPU seconds): the worker
    path, the device path (if ``transforms`` has it), the floor and, with
    ``profile``, the worker path's split (a second, instrumented run).

    Args:
        entries: ``(key, path, seed, results)`` per sample; ``results``
            hold the sampled frames (``DecordInit`` + ``SampleFrames``).
        transforms (dict): ``'load'``, ``'worker'`` and optionally
            ``'device'`` (built ``LoadAudioFromVideo`` and
            ``AudioLogMelClips``).

    Returns:
        list[dict]: per entry ``key``, ``worker``, ``device``, ``floor``,
        ``decoded`` (native samples the floor decoded), ``split``.
    """
    from mmaction_avslowfast.audio import ResamplerCache
    from mmaction_avslowfast.audio.container import open_for_audio
    rng = rng or np.random.RandomState(0)
    resamplers = ResamplerCache(16000)
    clock = StepClock()
    out = []
    for key, path, seed, head in entries:
        row = dict(key=key)

        def run(clips, timed=True):
            np.random.seed(seed)
            results = dict(head)
            start = time.thread_time()
            results = clips(transforms['load'](results))
            assert results is not None and 'audios' in results
            return time.thread_time() - start

        with PositionCapture() as capture:
            row['worker'] = run(transforms['worker'])
        tasks = ['floor'] + (['device'] if 'device' in transforms else [])
        tasks += ['profile'] if profile else []
        rate = None
        for task in rng.permutation(tasks):
            if task == 'device':
                row['device'] = run(transforms['device'])
            elif task == 'floor':
                import av
                with av.open(path) as container:
                    rate = container.streams.audio[0].codec_context \
                        .sample_rate
                total = capture.total or None
                ranges = native_ranges(capture.positions, rate,
                                       total=total)
                row['floor'], row['decoded'] = floor_cost(
                    path, ranges, resamplers(rate), open_for_audio)
            else:
                clock.install()
                try:
                    clock.take()
                    np.random.seed(seed)
                    clock.run('alignment/copies', lambda r: transforms[
                        'worker'](transforms['load'](r)), dict(head))
                    row['split'] = dict(clock.take())
                finally:
                    clock.uninstall()
        out.append(row)
    return out
