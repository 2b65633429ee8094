"""Tell a file that is not a video at all from a damaged video.

FFmpeg gives both the same error (a text file renamed ``.mp4`` and an mp4
cut in half both read "Invalid data found when processing input (moov atom
not found)"). The first bytes tell them apart: every container FFmpeg reads
video from starts with a signature. Used by the checked loaders (the reason
of an unreadable sample) and by ``tools/data/check_dataset.py`` (the
``not_a_video`` flag).
"""
from typing import Optional

#: Bytes read from the start of a file.
HEAD_BYTES = 4096

# (offset, signatures, container)
_SIGNATURES = (
    (4, (b'ftyp', b'moov', b'mdat', b'free', b'skip', b'wide', b'pnot',
         b'styp', b'sidx', b'moof', b'uuid'), 'MP4/MOV'),
    (0, (b'\x1a\x45\xdf\xa3', ), 'Matroska/WebM'),
    (0, (b'FLV', ), 'FLV'),
    (0, (b'OggS', ), 'Ogg'),
    (0, (b'\x30\x26\xb2\x75\x8e\x66\xcf\x11', ), 'ASF/WMV'),
    (0, (b'.RMF', ), 'RealMedia'),
    (0, (b'GIF87a', b'GIF89a'), 'GIF'),
    (0, (b'\x00\x00\x01\xba', ), 'MPEG-PS'),
    (0, (b'\x00\x00\x00\x01', b'\x00\x00\x01'), 'MPEG elementary stream'),
)


def container_signature(head: bytes) -> Optional[str]:
    """The container whose signature ``head`` (the first bytes of a file,
    :data:`HEAD_BYTES` suffice) starts with, or None."""
    if head[:4] == b'RIFF':
        return 'AVI' if head[8:12] == b'AVI ' else 'RIFF'
    for offset, magics, name in _SIGNATURES:
        if head[offset:].startswith(magics):
            return name
    if len(head) > 188 and head[0] == head[188] == 0x47:
        return 'MPEG-TS'
    return None


def non_video_kind(head: bytes) -> str:
    """What a file without a container signature looks like, in a few
    words (never its content)."""
    if not head:
        return 'empty'
    if not head.strip(b'\x00'):
        return 'only zero bytes (an unfinished download or copy?)'
    start = head.lstrip().lower()
    if start.startswith((b'<!doctype html', b'<html')) or \
            (start.startswith(b'<') and b'<html' in start):
        return 'an HTML page (a failed download?)'
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError as err:  # a character cut at the end
        text = head[:err.start].decode('utf-8') if \
            err.start > len(head) - 4 else None
    if text is not None and all(c.isprintable() or c in '\t\r\n'
                                for c in text):
        return 'text'
    return 'unknown binary data'


def read_head(source) -> bytes:
    """First :data:`HEAD_BYTES` of a path or a seekable binary stream (the
    stream's position is kept)."""
    if hasattr(source, 'read'):
        where = source.tell()
        try:
            return source.read(HEAD_BYTES)
        finally:
            source.seek(where)
    with open(source, 'rb') as f:
        return f.read(HEAD_BYTES)


def not_a_video_reason(head: bytes) -> Optional[str]:
    """``'not a video file (no container signature: text)'``-style reason
    when ``head`` has no container signature, else None."""
    if container_signature(head) is not None:
        return None
    return f'not a video file (no container signature: {non_video_kind(head)})'
