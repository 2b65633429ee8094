"""Checked video loaders: a file or frame that cannot be read raises
:class:`VideoDecodeError` naming it and the reason (see
:mod:`mmaction_avslowfast.datasets.unreadable` for what the data sets do
with it). decord runs without its own stderr lines
(:func:`~mmaction_avslowfast.utils.compat.decoder_stderr_filtered`): the
reason travels in the error, and the log gets one line per file from
``MediaIssuesHook`` instead of decord's two per read."""
import io
import os.path as osp
import re
from typing import Dict

from mmaction.datasets.transforms import (DecordDecode, DecordInit,
                                          RawFrameDecode)
from mmaction.registry import TRANSFORMS
from ...utils.compat import decoder_stderr_filtered
from ..media_signature import (container_signature, not_a_video_reason,
                               read_head)
from ..unreadable import UnreadableMediaError

# Exceptions that are bugs in a pipeline, not defects of a file.
_PROGRAMMING_ERRORS = (KeyError, TypeError, AttributeError, NameError,
                       AssertionError)
_LOCAL_BACKENDS = ('disk', 'local')


class VideoDecodeError(UnreadableMediaError):
    """A video file (or frame) is missing, corrupt or unreadable."""


# decord prefixes its messages with "[hh:mm:ss] /path/to/source.cc:123: ".
_DECORD_PREFIX = re.compile(r'\[[0-9:]+\] \S+?\.cc:\d+: ')


def _reason(err: Exception, limit: int = 200) -> str:
    """``Type: first line of the message``, without decord's source
    locations and FFmpeg's errno (decoder messages can be long)."""
    text = getattr(err, 'strerror', None) or str(err)
    text = _DECORD_PREFIX.sub('', text).strip().splitlines()
    text = text[0] if text else ''
    return f'{type(err).__name__}: {text[:limit]}'


def _check_local_file(path: str) -> None:
    if not osp.isfile(path):
        raise VideoDecodeError(path, 'file not found')
    if osp.getsize(path) == 0:
        raise VideoDecodeError(path, 'empty file (0 bytes)')


def _diagnose(source) -> str:
    """Why a file is not a readable video, or '' (decord's messages say
    little: "Error reading N bytes"): not a video at all (no container
    signature, :mod:`~..media_signature`), else FFmpeg's own account through
    PyAV of the damaged container."""
    try:
        head = read_head(source)
    except OSError as err:
        return _reason(err)
    not_video = not_a_video_reason(head)
    if not_video:
        return not_video
    import av
    try:
        with av.open(source) as container:
            if not container.streams.video:
                return 'no video stream'
    except Exception as err:  # noqa: BLE001 - the diagnosis itself
        return (f'truncated or corrupt {container_signature(head)} '
                f'container: {_reason(err)}')
    return ''


def _check_video_bytes(path: str, data: bytes) -> None:
    """Reject bytes that are not a video before decord sees them (decord
    0.6.0 prints the bytes of a file it cannot open into the log)."""
    if not data:
        raise VideoDecodeError(path, 'empty file (0 bytes)')
    problem = _diagnose(io.BytesIO(data))
    if problem:
        raise VideoDecodeError(path, problem)


@TRANSFORMS.register_module()
class CheckedDecordInit(DecordInit):
    """``DecordInit`` that reports an unreadable video by its path.

    Same arguments and keys as ``DecordInit`` (reads ``filename``, adds
    ``video_reader``, ``total_frames``, ``avg_fps``). Local files
    (``io_backend='disk'``) are opened by path, not read into memory first:
    decord then names the path in its own log line instead of echoing the
    bytes of a non-video file, and a missing or empty file is reported
    before decord is called. Other backends read the bytes, which PyAV
    checks first. Every failure raises :class:`VideoDecodeError` naming
    the file and the reason, as does a video without frames.
    """

    def _get_video_reader(self, filename: str) -> object:
        if osp.splitext(filename)[0] == filename:
            filename = filename + '.mp4'  # as DecordInit
        import decord
        if self.io_backend in _LOCAL_BACKENDS:
            _check_local_file(filename)
            source = filename
        else:
            if self.file_client is None:
                from mmengine.fileio import FileClient
                self.file_client = FileClient(self.io_backend, **self.kwargs)
            data = self.file_client.get(filename)
            _check_video_bytes(filename, data)
            source = io.BytesIO(data)
        with decoder_stderr_filtered():
            return decord.VideoReader(source, num_threads=self.num_threads)

    def transform(self, results: Dict) -> Dict:
        path = results.get('filename')
        try:
            results = super().transform(results)
        except (VideoDecodeError, ) + _PROGRAMMING_ERRORS:
            raise
        except Exception as err:  # noqa: BLE001 - any reader error
            reason = _reason(err)
            if self.io_backend in _LOCAL_BACKENDS:
                # PyAV's account replaces decord's "Error reading <path>"
                reason = _diagnose(path) or reason
            raise VideoDecodeError(path, reason) from err
        if not results['total_frames']:
            raise VideoDecodeError(path, 'no video frames')
        return results


@TRANSFORMS.register_module()
class CheckedDecordDecode(DecordDecode):
    """``DecordDecode`` that reports frames the decoder rejects (corrupt or
    truncated data) as :class:`VideoDecodeError` naming the file."""

    def transform(self, results: Dict) -> Dict:
        try:
            with decoder_stderr_filtered():
                return super().transform(results)
        except _PROGRAMMING_ERRORS:
            raise
        except Exception as err:  # noqa: BLE001 - any decoder error
            raise VideoDecodeError(
                results.get('filename'),
                f'undecodable frames: {_reason(err)}') from err


@TRANSFORMS.register_module()
class CheckedRawFrameDecode(RawFrameDecode):
    """``RawFrameDecode`` that reports a missing or undecodable frame image
    as :class:`VideoDecodeError` naming the frame folder and the reason."""

    def transform(self, results: Dict) -> Dict:
        where = results.get('frame_dir')
        try:
            results = super().transform(results)
        except (KeyError, NameError, AssertionError):
            raise
        except Exception as err:  # noqa: BLE001 - missing file, bad image
            # (an undecodable image is None, so AttributeError counts too)
            raise VideoDecodeError(where, _reason(err)) from err
        if any(img is None for img in results['imgs']):
            raise VideoDecodeError(where, 'a frame image cannot be decoded')
        return results
