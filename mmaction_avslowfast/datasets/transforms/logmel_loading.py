"""Precomputed log-mel features (``tools/data/extract_logmel.py``) as input."""
import json
import os.path as osp
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from .audio_loading import _check_policy, _handle_missing


@TRANSFORMS.register_module()
class LoadLogMel(BaseTransform):
    """Load the precomputed full-track log-mel of a sample.

    Reads the ``.npy`` written by ``tools/data/extract_logmel.py``
    (un-normalised ``log(mel + 1e-8)``, ``[T, 80]``, float16 or float32) and
    its entry in the index (``index.jsonl`` in ``logmel_root``) for the audio
    offset and frame rate. :class:`AudioLogMelClips` then slices it exactly
    like the online path.

    File lookup: ``logmel_path`` if present in the results, else
    ``logmel_root / relpath(filename, video_root)`` with the extension
    replaced by ``.npy``.

    Required keys: ``logmel_path`` or ``filename``.

    Added keys: ``audio_logmel`` (float32 ``[T, F]``), ``audio_frame_rate``,
    ``audio_offset``, ``audio_valid``.

    Args:
        logmel_root (str): Folder written by ``tools/data/extract_logmel.py``.
        video_root (str): The videos' root (the dataset's
            ``data_prefix['video']``) to make ``filename`` relative.
        index_file (str): Index name inside ``logmel_root``.
            Default: ``'index.jsonl'``.
        on_missing_audio (str): Policy when the file, its index entry or
            its audio is missing: ``'zeros'`` | ``'skip'`` | ``'error'``.
    """

    def __init__(self,
                 logmel_root: str,
                 video_root: str = '',
                 index_file: str = 'index.jsonl',
                 on_missing_audio: str = 'zeros') -> None:
        self.logmel_root = logmel_root
        self.video_root = video_root
        self.index_file = index_file
        self.on_missing_audio = _check_policy(on_missing_audio)
        self._index = None

    def _load_index(self) -> Dict[str, Dict]:
        if self._index is None:
            path = osp.join(self.logmel_root, self.index_file)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'LoadLogMel: index {path!r} not found; run '
                    f'tools/data/extract_logmel.py first')
            index = {}
            with open(path) as f:
                for line in f:
                    if line.strip():
                        entry = json.loads(line)
                        index[entry['npy']] = entry
            self._index = index
        return self._index

    def _relative_npy(self, results: Dict) -> str:
        if 'logmel_path' in results:
            return osp.relpath(results['logmel_path'], self.logmel_root)
        rel = osp.relpath(results['filename'], self.video_root or '.') \
            if self.video_root else results['filename']
        return osp.splitext(rel)[0] + '.npy'

    def transform(self, results: Dict) -> Optional[Dict]:
        rel = self._relative_npy(results)
        path = osp.join(self.logmel_root, rel)
        entry = self._load_index().get(rel)
        results['audio_offset'] = 0.0
        results['audio_frame_rate'] = 62.5
        if entry is None:
            reason = f'no entry in {self.index_file}'
        elif not entry.get('valid', True):
            reason = entry.get('reason', 'no audio')
        elif not osp.isfile(path):
            reason = 'precomputed .npy file is missing'
        else:
            reason = None
        if reason is not None:
            results['audio_logmel'] = np.zeros((0, 80), np.float32)
            return _handle_missing(self.on_missing_audio, results, path,
                                   reason)
        results['audio_frame_rate'] = float(entry['frame_rate'])
        results['audio_offset'] = float(entry['offset'])
        results['audio_logmel'] = np.load(path).astype(np.float32)
        results['audio_valid'] = True
        return results

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(logmel_root='{self.logmel_root}',"
                f" video_root='{self.video_root}', "
                f"on_missing_audio='{self.on_missing_audio}')")
