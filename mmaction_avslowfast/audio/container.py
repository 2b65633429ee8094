"""Container I/O: open a media file for its audio, read stream headers.

Errors raised by the audio readers (:class:`AudioDecodeError` and the
span-decoding signals) live here too.
"""
import os.path as osp


class AudioDecodeError(RuntimeError):
    """Audio of a file is missing or cannot be decoded (message names the
    file and the reason)."""


class SpanDecodeUnsupported(RuntimeError):
    """The stream cannot be decoded by ranges (no timestamps, gaps)."""


class StreamParametersChanged(SpanDecodeUnsupported):
    """The reader was reopened with different stream parameters; values
    derived from the old ones (sample ranges) must be recomputed."""


class _ProbeMismatch(Exception):
    """A decoded frame contradicts the stream header of a short probe."""


# Options for FFmpeg's stream probing (``avformat_find_stream_info``). By
# default it opens and runs the video decoder on the first frames (to
# guess the decoding delay and pixel format) and reads up to 5 MB of
# packets: 85 % of the cost of opening a Kinetics-sized mp4 and 10-20 ms
# for 720p H.264 or VP9, while the audio reader needs none of it.
# - mov family: everything we use (stream start times, durations, time
#   bases, codec parameters) is read from the ``moov`` header: no video
#   decoding, one packet (2.5 -> 0.35 ms per Kinetics file, measured).
# - MPEG-TS and WebM take their stream start times from the probed
#   packets: probed over the usual span, but with only audio decoders
#   allowed (``codec_whitelist``), so no video decoder is even opened
#   (854x480 H.264 TS 10.6 -> 1.1 ms, 640x360 VP9 WebM 8.7 -> 0.4 ms;
#   the same stream parameters and start times, B-frames and late / early
#   audio included: tests/datasets/test_audio_decoding.py).
# - Matroska with H.264 (or any video codec but VP8 / VP9 / AV1, what WebM
#   allows; checked after opening) and every other container are probed
#   fully: without decoding, an H.264 Matroska video start of 0.4 s reads
#   as the audio's.
# The audio rate and channel count of a short probe are checked against
# the first decoded frame (:class:`AudioSpanReader` reopens with the full
# probe if they differ, e.g. HE-AAC, whose header states half the rate).
_MOV_EXTENSIONS = ('.mp4', '.m4a', '.m4v', '.mov', '.3gp', '.3g2')
_FAST_MOV_PROBE = {'skip_frame': 'all', 'probesize': '32'}
# extension -> (probe options, demuxer name prefix, video codecs allowed)
_FAST_PROBES = dict(
    [(ext, (_FAST_MOV_PROBE, 'mov', None)) for ext in _MOV_EXTENSIONS] +
    [(ext, ({}, 'mpegts', None)) for ext in ('.ts', '.m2ts', '.mts')] +
    [('.webm', ({}, 'matroska', ('vp8', 'vp9', 'av1')))])
_AUDIO_DECODERS = []


def _audio_decoders() -> str:
    """FFmpeg's audio decoders, comma-separated (``codec_whitelist``)."""
    if not _AUDIO_DECODERS:
        import av
        for name in sorted(av.codecs_available):
            try:
                if av.Codec(name, 'r').type == 'audio':
                    _AUDIO_DECODERS.append(name)
            except Exception:  # noqa: BLE001 - an encoder only
                continue
    return ','.join(_AUDIO_DECODERS)


def _short_probe(path: str):
    """The container opened with the short probe of its extension, or None
    (no short probe for it, not what the extension says, or an error)."""
    import av
    options, family, video_codecs = _FAST_PROBES.get(
        osp.splitext(path)[1].lower(), (None, None, None))
    if options is None:
        return None
    try:
        container = av.open(path, options=dict(
            options, codec_whitelist=_audio_decoders()))
    except Exception:  # noqa: BLE001 - the full probe reports it
        return None
    if not container.format.name.startswith(family) or (
            video_codecs is not None and any(
                v.codec_context.name not in video_codecs
                for v in container.streams.video)):
        container.close()  # misnamed file, or start times need decoding
        return None
    return container


def open_for_audio(path: str, fast_probe: bool = True):
    """Open a media file with PyAV to read its audio.

    Args:
        path (str): Media file.
        fast_probe (bool): Use the short stream probing of mp4/mov, MPEG-TS
            and WebM files (see ``_FAST_PROBES``; other formats, files that
            are not what their extension says and files the short probe
            cannot open are probed fully). Callers must then check the
            audio sample rate and channel count against a decoded frame.
            Default: True.

    Returns:
        tuple: ``(container, fast)``: the open ``av`` input container and
        whether the short probing was used.

    Raises:
        AudioDecodeError: the file cannot be opened (names it and the
            reason).
    """
    import av
    container = _short_probe(path) if fast_probe else None
    if container is not None:
        return container, True
    try:
        return av.open(path), False
    except Exception as err:  # noqa: BLE001 - report any open error
        raise AudioDecodeError(
            f'cannot open {path!r}: {type(err).__name__}: {err}') from err


def _stream_start(stream) -> float:
    if stream is None or stream.start_time is None:
        return 0.0
    return float(stream.start_time * stream.time_base)
