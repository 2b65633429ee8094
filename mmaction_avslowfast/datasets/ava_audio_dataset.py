import os
import os.path as osp
from typing import Dict, Optional

from mmaction.datasets import AVADataset
from mmaction.registry import DATASETS
from .unreadable import UnreadableSampleMixin


@DATASETS.register_module()
class AVAAudioDataset(UnreadableSampleMixin, AVADataset):
    """``AVADataset`` whose samples also name the audio of their 15-min cut.

    AVA audio comes from ``videos_15min`` (the ``ffmpeg -ss 900 -t 901``
    cuts, with their audio): time 0 of such a file is ``timestamp_start``
    (900 s). The keyframe clip's frame indices (``SampleAVAFrames``) are
    relative to that cut, so ``AudioLogMelClips`` (which maps
    ``(frame_ind - start_index) / fps`` to seconds) reads the matching
    log-mel span from the file in ``audio_path``.

    Compared with ``AVADataset`` this adds to every sample:

    - ``audio_path``: ``<data_prefix['audio']>/<video_id>.<ext>``, the file is
      looked up by its stem (AVA mixes ``.mp4``, ``.mkv`` and ``.webm``). A
      video without such a file gets ``<data_prefix['audio']>/<video_id>``,
      which ``LoadAudioFromVideo`` reports as missing audio and handles with
      its ``on_missing_audio`` policy (as for recognition). Without
      ``data_prefix['audio']`` the audio is read from ``filename`` (video
      mode) by ``LoadAudioFromVideo``.
    - ``logmel_path``: ``<data_prefix['logmel']>/<video_id>.npy`` when that
      prefix is set, the full-track log-mel of the cut precomputed by
      ``tools/data/extract_logmel.py videos_15min <logmel folder>``, for
      ``LoadLogMel(logmel_root=<logmel folder>)`` (decoding a 15-min track
      per sample online is slow at AVA scale).
    - in video mode (``use_frames=False``), ``filename`` gets the file's real
      extension (``AVADataset`` leaves ``<prefix>/<video_id>`` without one).

    Unreadable frames or videos follow ``on_unreadable`` (redrawn in
    training, counted as misses or reported in ``test_mode``; see
    :mod:`mmaction_avslowfast.datasets.unreadable`).

    Args:
        on_unreadable (str, optional): ``'redraw'`` (training default),
            ``'miss'`` or ``'error'`` (``test_mode`` default).
        start_index (int, optional): Index of the first frame: default 1 for
            rawframes (``img_00001.jpg``), 0 for video files (decord indices).
        **kwargs: ``AVADataset`` arguments. ``data_prefix`` may contain
            ``img`` (rawframes folder or ``videos_15min`` for video mode) and
            ``audio`` (folder of the 15-min cuts holding the audio) and
            ``logmel`` (folder of their precomputed log-mel).
    """

    def __init__(self,
                 *args,
                 start_index: Optional[int] = None,
                 use_frames: bool = True,
                 **kwargs) -> None:
        if start_index is None:
            start_index = 1 if use_frames else 0
        self._stem_index: Dict[str, Dict[str, str]] = {}
        super().__init__(
            *args, start_index=start_index, use_frames=use_frames, **kwargs)

    def _files_by_stem(self, folder: str) -> Dict[str, str]:
        if folder not in self._stem_index:
            index = {}
            if osp.isdir(folder):
                for name in sorted(os.listdir(folder)):
                    index.setdefault(osp.splitext(name)[0], name)
            self._stem_index[folder] = index
        return self._stem_index[folder]

    def _media_path(self, folder: str, video_id: str) -> Optional[str]:
        name = self._files_by_stem(folder).get(video_id)
        return None if name is None else osp.join(folder, name)

    def load_data_list(self) -> list:
        data_list = super().load_data_list()
        audio_root = self.data_prefix.get('audio')
        logmel_root = self.data_prefix.get('logmel')
        video_root = self.data_prefix.get('img') or ''
        for info in data_list:
            video_id = info['video_id']
            if not self.use_frames:
                path = self._media_path(video_root, video_id)
                if path is None:
                    raise FileNotFoundError(
                        f'AVAAudioDataset: no video file named {video_id}.* '
                        f"in data_prefix['img'] = {video_root!r}")
                info['filename'] = path
            if audio_root is not None:
                info['audio_path'] = self._media_path(
                    audio_root, video_id) or osp.join(audio_root, video_id)
            if logmel_root is not None:
                info['logmel_path'] = osp.join(logmel_root, video_id + '.npy')
        return data_list
