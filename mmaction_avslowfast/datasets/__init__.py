from . import (ava_audio_dataset, av_video_dataset, epic_kitchens,  # noqa
               transforms)
from .av_video_dataset import AVVideoDataset
from .charades import CharadesDataset
from .epic_kitchens import EpicKitchensDataset
from .unlabeled_av_dataset import UnlabeledAVDataset
from .unreadable import (UnreadableMediaError, UnreadableSampleMixin,
                         UnreadableSampleStop, media_event)

__all__ = [
    'AVVideoDataset', 'CharadesDataset', 'EpicKitchensDataset',
    'UnlabeledAVDataset', 'UnreadableMediaError', 'UnreadableSampleMixin',
    'UnreadableSampleStop', 'media_event'
]
