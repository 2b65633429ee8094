"""Recognition data set of video files with their audio."""
from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS
from .unreadable import UnreadableSampleMixin


@DATASETS.register_module()
class AVVideoDataset(UnreadableSampleMixin, VideoDataset):
    """MMAction2's ``VideoDataset`` (``path label`` lists, same arguments and
    override keys ``ann_file`` / ``data_prefix.video``) that survives
    unreadable files.

    A video that cannot be read is redrawn in training, counted as a miss or
    reported, following ``on_unreadable`` (see
    :mod:`mmaction_avslowfast.datasets.unreadable`); every packed sample
    carries its ``filename`` in the metainfo.

    Args:
        on_unreadable (str, optional): ``'redraw'`` (training default),
            ``'miss'`` or ``'error'`` (``test_mode`` default).
        **kwargs: ``VideoDataset`` arguments.
    """
