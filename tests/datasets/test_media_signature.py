"""media_signature: a file that is not a video at all (no container
signature) is told from a damaged video, without quoting its content."""
import io

import pytest

from mmaction_avslowfast.datasets.media_signature import (
    HEAD_BYTES, container_signature, non_video_kind, not_a_video_reason,
    read_head)
from mmaction_avslowfast.testing.synthetic_media import (truncate_file,
                                                       write_av_video)


@pytest.mark.parametrize('ext,name', [('mp4', 'MP4/MOV'),
                                      ('mkv', 'Matroska/WebM'),
                                      ('avi', 'AVI'), ('ts', 'MPEG-TS')])
def test_written_containers_and_their_truncated_copies(tmp_path, ext, name):
    path = str(tmp_path / f'v.{ext}')
    write_av_video(path, duration=1.0, fps=8, size=(32, 32))
    assert container_signature(read_head(path)) == name
    cut = truncate_file(path, str(tmp_path / f'cut.{ext}'), 0.3)
    assert container_signature(read_head(cut)) == name
    assert not_a_video_reason(read_head(cut)) is None


@pytest.mark.parametrize('head,kind', [
    (b'SECRET notes, one per line\n' * 40, 'text'),
    (b'x' + '\u00e9'.encode() * 3000, 'text'),  # cut inside a character
    (b'\n  <!DOCTYPE html><html><body>404</body></html>', 'an HTML page'),
    (b'<?xml version="1.0"?><html>Access denied</html>', 'an HTML page'),
    (bytes(5000), 'only zero bytes'),
    (bytes(range(256)) * 4, 'unknown binary data'),
])
def test_files_that_are_not_videos(head, kind):
    head = head[:HEAD_BYTES]
    assert container_signature(head) is None
    assert non_video_kind(head).startswith(kind)
    reason = not_a_video_reason(head)
    assert reason.startswith('not a video file (no container signature: ')
    assert b'SECRET' not in reason.encode() and '404' not in reason


def test_read_head_keeps_the_stream_position():
    stream = io.BytesIO(b'x' * 10000)
    stream.seek(7)
    assert read_head(stream) == b'x' * HEAD_BYTES
    assert stream.tell() == 7
