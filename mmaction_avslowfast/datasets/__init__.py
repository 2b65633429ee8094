from . import ava_audio_dataset, av_video_dataset, transforms  # noqa: F401
from .av_video_dataset import AVVideoDataset
from .unreadable import (UnreadableMediaError, UnreadableSampleMixin,
                         media_event)

__all__ = [
    'AVVideoDataset', 'UnreadableMediaError', 'UnreadableSampleMixin',
    'media_event'
]
