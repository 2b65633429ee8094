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


# Options for FFmpeg's stream probing (``avformat_find_stream_info``) when
# opening an mp4/mov file. By default it decodes the first H.264 frames to
# guess the video decoding delay and reads up to 5 MB of packets, which is
# 85 % of the cost of opening a Kinetics-sized mp4 (2.5 ms -> 0.35 ms,
# measured). For the mov family everything we use (stream start times,
# durations, time bases, codec parameters) is read from the ``moov``
# header; the audio rate and channel count are checked against the first
# decoded frame (:class:`AudioSpanReader` reopens with the full probe if
# they differ, e.g. HE-AAC, whose header states half the rate). Other
# containers (Matroska/WebM, MPEG-TS, ...) derive stream start times from
# the probed packets, and these options change them (e.g. a Matroska
# video start of 0.4 s reads as 0), so they are probed fully.
_MOV_EXTENSIONS = ('.mp4', '.m4a', '.m4v', '.mov', '.3gp', '.3g2')
_FAST_MOV_PROBE = {'skip_frame': 'all', 'probesize': '32'}


def open_for_audio(path: str, fast_probe: bool = True):
    """Open a media file with PyAV to read its audio.

    Args:
        path (str): Media file.
        fast_probe (bool): Use the short stream probing for mp4/mov files
            (see ``_FAST_MOV_PROBE``; other formats, files that are not
            mp4/mov inside and files the short probe cannot open are
            probed fully). Callers must then check the audio sample rate
            and channel count against a decoded frame. Default: True.

    Returns:
        tuple: ``(container, fast)``: the open ``av`` input container and
        whether the short probing was used.

    Raises:
        AudioDecodeError: the file cannot be opened (names it and the
            reason).
    """
    import av
    container = None
    if fast_probe and osp.splitext(path)[1].lower() in _MOV_EXTENSIONS:
        try:
            container = av.open(path, options=_FAST_MOV_PROBE)
        except Exception:  # noqa: BLE001 - the full probe reports it
            container = None
        if container is not None and not container.format.name.startswith(
                'mov'):  # misnamed file
            container.close()
            container = None
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
