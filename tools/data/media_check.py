"""Check one media file of a video dataset: video (decord + PyAV), audio.

:func:`check_media` is the per-file worker of
``tools/data/check_dataset.py``. It returns a plain dict (picklable,
JSON-ready) with the measured properties and the flags of :data:`FLAGS`:

- the file: ``missing``, ``empty``, ``not_a_video`` (no container
  signature at its start: a text or HTML file, zeros; see
  :mod:`mmaction_avslowfast.datasets.media_signature`);
- the video, read the way training reads it (decord ``VideoReader``):
  ``unreadable`` (a container that cannot be opened as a video: truncated
  or corrupt, no video stream, no frames), ``undecodable_frames`` and
  ``too_short`` (fewer frames than one clip);
- the audio (``audio_check.py``, PyAV as ``LoadAudioFromVideo`` reads
  it): ``no_audio``, ``audio_unreadable``, ``silent_audio``,
  ``audio_offset``, ``audio_shorter``.

Frame decoding: decord decodes the first, middle and last frame (every
frame with ``full_decode``); it raises on damage the H.264 decoder cannot
get past (e.g. a broken NAL unit), but it conceals other damage (e.g. a
garbled slice: FFmpeg logs ``error while decoding MB`` and returns a
patched picture, decord returns it without an error). PyAV's decoder
therefore decodes the same frames (from the preceding keyframes on) and
counts packets it rejects and frames it marks ``is_corrupt``; either
decoder failing sets ``undecodable_frames``.

Nothing of a file's content reaches the terminal: decord (and its FFmpeg)
runs with fd 1 and 2 sent to ``/dev/null``, and only on files PyAV opened
with a video stream; FFmpeg lines are only quoted from binary demuxers.
"""
import os
import os.path as osp
import re
import sys
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import Dict, List, Optional

from audio_check import audio_flags, check_audio

#: flag -> (kind, meaning). ``bad`` files are dropped from the cleaned list
#: (``too_short`` too with ``--drop-short``); ``warning`` and ``info`` flags
#: are reported only.
FLAGS = OrderedDict([
    ('missing', ('bad', 'listed file does not exist')),
    ('empty', ('bad', 'file has zero bytes')),
    ('not_a_video', ('bad', 'no video container signature (text, HTML...)')),
    ('unreadable', ('bad', 'truncated or corrupt container, no video')),
    ('undecodable_frames', ('bad', 'decord or PyAV fails on frames')),
    ('too_short', ('warning', 'fewer frames than one clip')),
    ('no_audio', ('warning', 'no audio stream (training feeds silence)')),
    ('audio_unreadable', ('warning', 'audio stream cannot be decoded')),
    ('silent_audio', ('warning', 'audio peak below the threshold')),
    ('audio_offset', ('info', '|audio start - video start| too large')),
    ('audio_shorter', ('info', 'audio much shorter than the video')),
])
BAD_FLAGS = tuple(f for f, (kind, _) in FLAGS.items() if kind == 'bad')

# Log lines of these FFmpeg demuxers are quoted in reasons (e.g. ``moov
# atom not found``); text demuxers (subtitles, playlists) may quote the
# file's content, so their lines are not.
_BINARY_DEMUXERS = ('mov', 'matroska', 'avi', 'flv', 'mpegts', 'ogg', 'asf')
_DECORD_CHUNK = 32  # frames per decord batch with full_decode
_MAX_REASON = 160


@contextmanager
def quiet_fds():
    """Send whatever native code writes to fd 1 and 2 to ``/dev/null``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved + [null]:
            os.close(fd)


@contextmanager
def ffmpeg_errors():
    """Capture FFmpeg's error lines of PyAV calls (``(level, context,
    message)`` tuples), with PyAV's folding of repeated lines off (it emits
    a held-back repeat with the next line, i.e. into another capture)."""
    import av.logging
    old = av.logging.get_level(), av.logging.get_skip_repeated()
    av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)
    try:
        with av.logging.Capture(local=False) as logs:
            yield logs
    finally:
        av.logging.set_level(old[0])
        av.logging.set_skip_repeated(old[1])


def _short(err) -> str:
    """First line of an error message, without decord's source locations,
    cut to ``_MAX_REASON`` characters."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ''
    text = re.sub(r'(\[[\d:]+\] )?\S+\.cc:\d+: ', '', text)
    text = f'{type(err).__name__}: {text}' if text else type(err).__name__
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON] + '...'


def _demuxer_lines(logs) -> str:
    lines = [msg.strip() for _, name, msg in logs
             if name and name.startswith(_BINARY_DEMUXERS)]
    return '; '.join(dict.fromkeys(lines))[:_MAX_REASON]


def sample_indices(num_frames: int, full: bool) -> List[int]:
    """Frames decoded by the check: first, middle, last (or all)."""
    if full:
        return list(range(num_frames))
    return sorted({0, num_frames // 2, num_frames - 1})


def decord_check(path: str, full_decode: bool) -> Dict:
    """Open ``path`` with decord like ``DecordInit`` and decode frames.

    Returns dict with ``num_frames``, ``fps``, ``width``, ``height`` and
    ``open_error`` / ``decode_error`` (None when fine). Decoding stops at
    the first failing batch, which is named (a reader is unusable after an
    error; which frame fails first varies with decord's decoding thread).
    """
    out = dict(num_frames=0, fps=0.0, width=0, height=0, open_error=None,
               decode_error=None)
    with quiet_fds():
        import decord
        try:
            reader = decord.VideoReader(path, num_threads=1)
            out['num_frames'] = len(reader)
            out['fps'] = float(reader.get_avg_fps())
        except Exception as err:  # noqa: BLE001 - report any open error
            out['open_error'] = f'decord: {_short(err)}'
            return out
        indices = sample_indices(out['num_frames'], full_decode)
        chunks = [indices[i:i + _DECORD_CHUNK]
                  for i in range(0, len(indices), _DECORD_CHUNK)]
        for chunk in chunks:
            try:
                frames = reader.get_batch(chunk).asnumpy()
                out['height'], out['width'] = frames.shape[1:3]
            except Exception as err:  # noqa: BLE001 - report it
                frames = (', '.join(map(str, chunk)) if len(chunk) <= 3
                          else f'{chunk[0]}-{chunk[-1]}')
                out['decode_error'] = (
                    f'decord cannot decode frames {frames} of '
                    f'{out["num_frames"]}: {_short(err)}')
                break
    return out


def pyav_decode_errors(container, stream, num_frames: int,
                       full_decode: bool) -> Optional[str]:
    """Decode video frames with PyAV; describe decoder errors or None.

    Without ``full_decode`` only the first, middle and last frame are
    decoded (each from the keyframe before it, after a seek). Errors are
    packets the decoder rejects and frames from the keyframe on that it
    marks ``is_corrupt`` (concealed damage).
    """
    rate = stream.average_rate or stream.guessed_rate
    start = stream.start_time or 0
    if full_decode or not rate or not stream.time_base or num_frames < 1:
        targets = [None]  # one pass over every packet
    else:
        to_pts = float(1 / (rate * stream.time_base))
        targets = [start + int(i * to_pts)
                   for i in sample_indices(num_frames, False)]
    rejected = corrupt = 0
    with ffmpeg_errors() as logs:
        for target in targets:
            if target is not None:
                try:
                    container.seek(target, stream=stream, backward=True)
                except Exception:  # noqa: BLE001 - decode from the start
                    container.seek(0)
            done, key_pts = False, None
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except Exception:  # noqa: BLE001 - the decoder rejected it
                    rejected += 1
                    continue
                for frame in frames:
                    if key_pts is None and frame.key_frame:
                        key_pts = -1 if frame.pts is None else frame.pts
                    # frames shown before the keyframe may miss references
                    # from before the seek (open GOP): not damage
                    corrupt += bool(frame.is_corrupt and key_pts is not None
                                    and (frame.pts or 0) >= key_pts)
                    done = target is not None and (frame.pts is None or
                                                   frame.pts >= target)
                if done:
                    break
    if not (rejected or corrupt):
        return None
    msgs = '; '.join(list(dict.fromkeys(m.strip() for _, _, m in logs))[:2])
    what = ' and '.join(
        text for n, text in ((rejected, f'{rejected} packet(s) rejected'),
                             (corrupt, f'{corrupt} damaged frame(s)')) if n)
    reason = f'PyAV decoder: {what}' + (f' ({msgs})' if msgs else '')
    return reason[:_MAX_REASON * 2]


def new_record(path: str) -> Dict:
    """A record with every field of :func:`check_media` (JSON/CSV rows)."""
    return OrderedDict(
        path=path, flags=[], bad=False, reasons=OrderedDict(), size_bytes=0,
        format=None, num_frames=None, fps=None, width=None, height=None,
        duration=None, has_audio=None, sample_rate=None, channels=None,
        audio_duration=None, audio_offset=None, audio_peak=None,
        check_seconds=None)


def check_media(path: str,
                clip_frames: int = 0,
                full_decode: bool = False,
                audio_seconds: float = 60.0,
                silence_threshold: float = 1e-4,
                offset_tolerance: float = 0.1,
                drop_short: bool = False) -> Dict:
    """Check one file; see the module docstring. Never raises.

    Args:
        path (str): The file.
        clip_frames (int): Frames one clip spans (``clip_len *
            frame_interval``); 0 disables ``too_short``.
        full_decode (bool): Decode every video frame and the whole audio.
        audio_seconds (float): Audio decoded for the silence check.
        silence_threshold (float): ``silent_audio`` below this peak.
        offset_tolerance (float): ``audio_offset`` above this |offset| (s).
        drop_short (bool): Count ``too_short`` as bad.

    Returns:
        dict: :func:`new_record` fields filled in.
    """
    start = time.time()
    rec = new_record(path)

    def flag(name, reason):
        rec['flags'].append(name)
        rec['reasons'][name] = reason

    try:
        _check_into(rec, flag, path, clip_frames, full_decode, audio_seconds,
                    silence_threshold, offset_tolerance)
    except Exception as err:  # noqa: BLE001 - a check must not stop a scan
        flag('unreadable', f'checker error: {_short(err)}')
    bad = set(BAD_FLAGS) | ({'too_short'} if drop_short else set())
    rec['bad'] = bool(bad & set(rec['flags']))
    rec['check_seconds'] = round(time.time() - start, 3)
    return rec


def _check_into(rec, flag, path, clip_frames, full_decode, audio_seconds,
                silence_threshold, offset_tolerance) -> None:
    import av
    if not osp.isfile(path):
        return flag('missing', 'no such file')
    rec['size_bytes'] = osp.getsize(path)
    if not rec['size_bytes']:
        return flag('empty', '0 bytes')
    from mmaction_avslowfast.datasets.media_signature import (
        container_signature, non_video_kind, read_head)
    head = read_head(path)
    signature = container_signature(head)
    with ffmpeg_errors() as logs:
        try:
            container = av.open(path)
        except Exception as err:  # noqa: BLE001 - not a media file
            if signature is None:
                return flag('not_a_video', 'no container signature: ' +
                            non_video_kind(head))
            lines = _demuxer_lines(logs)
            msg = getattr(err, 'strerror', None) or _short(err)
            return flag('unreadable', f'truncated or corrupt {signature} '
                        f'container: PyAV cannot open it: {msg}' +
                        (f' ({lines})' if lines else ''))
    with container:
        rec['format'] = container.format.name
        vstream = next(iter(container.streams.video), None)
        astream = next(iter(container.streams.audio), None)
        if vstream is None:
            return flag(
                'unreadable' if signature else 'not_a_video',
                f'no video stream ({container.format.name})' +
                ('' if signature else
                 f'; no container signature: {non_video_kind(head)}'))
        rec['has_audio'] = astream is not None
        video = decord_check(path, full_decode)
        if video['open_error']:
            return flag('unreadable', video['open_error'])
        if not video['num_frames']:
            return flag('unreadable', 'decord reads 0 frames')
        rec.update(num_frames=video['num_frames'],
                   fps=round(video['fps'], 4),
                   width=video['width'] or vstream.codec_context.width,
                   height=video['height'] or vstream.codec_context.height)
        if video['fps'] > 0:
            rec['duration'] = round(video['num_frames'] / video['fps'], 4)
        pyav_error = pyav_decode_errors(container, vstream,
                                        video['num_frames'], full_decode)
        errors = [e for e in (video['decode_error'], pyav_error) if e]
        if errors:
            flag('undecodable_frames', '; '.join(errors))
    if clip_frames and rec['num_frames'] < clip_frames:
        flag('too_short', f'{rec["num_frames"]} frames < one clip of '
             f'{clip_frames} frames')
    if not rec['has_audio']:
        return flag('no_audio', 'no audio stream')
    audio_flags(rec, flag, check_audio(path, audio_seconds, full_decode),
                silence_threshold, offset_tolerance)
