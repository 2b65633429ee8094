"""Recognition data set of video files with their audio."""
from typing import Optional

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

    def __init__(self,
                 *args,
                 on_unreadable: Optional[str] = None,
                 test_mode: bool = False,
                 **kwargs) -> None:
        self._init_unreadable(on_unreadable, test_mode)
        super().__init__(*args, test_mode=test_mode, **kwargs)
