"""Video reader init that names the file when it cannot be opened."""
from typing import Dict

from mmaction.datasets.transforms import DecordInit
from mmaction.registry import TRANSFORMS


class VideoDecodeError(IOError):
    """A video file is missing, corrupt or unreadable (names the file)."""


@TRANSFORMS.register_module()
class CheckedDecordInit(DecordInit):
    """``DecordInit`` that reports an unreadable video with its path.

    MMAction2's ``DecordInit`` opens the video from bytes, so decord's error
    only says ``Error reading <N> bytes``. This subclass (same args, same
    keys: reads ``filename``, adds ``video_reader``, ``total_frames``,
    ``avg_fps``) re-raises as :class:`VideoDecodeError` naming the file and
    the reason.
    """

    def transform(self, results: Dict) -> Dict:
        try:
            return super().transform(results)
        except Exception as err:  # noqa: BLE001 - any reader error
            raise VideoDecodeError(
                f'cannot read video {results.get("filename")!r}: '
                f'{type(err).__name__}: {err}') from err
