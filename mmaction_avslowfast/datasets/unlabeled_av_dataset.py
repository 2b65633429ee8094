"""Label-free audiovisual data set (self-supervised AVS pre-training)."""
import logging
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from mmengine.fileio import list_from_file
from mmengine.logging import print_log

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmaction.utils import ConfigType
from .audio_probe import has_audio_stream, probe_audio_streams
from .unreadable import UnreadableSampleMixin

__all__ = ['UnlabeledAVDataset', 'VIDEO_EXTENSIONS', 'has_audio_stream',
           'scan_videos']

#: Extensions :class:`UnlabeledAVDataset` scans for (case-insensitive).
VIDEO_EXTENSIONS = ('.mp4', '.m4v', '.avi', '.mkv', '.mov', '.webm', '.flv',
                    '.ts', '.mpg', '.mpeg', '.3gp', '.ogv')
_LOGGED_NAMES = 5  # file names quoted in the log line of filtered videos


def scan_videos(root: str,
                exts: Sequence[str] = VIDEO_EXTENSIONS) -> List[str]:
    """Every file below ``root`` whose extension is in ``exts``
    (case-insensitive; with or without the dot), as sorted paths relative
    to ``root`` with ``/`` separators. Hidden files and folders (name
    starting with ``.``, e.g. macOS ``._x.mp4`` resource forks) are
    skipped; symlinked folders are followed."""
    exts = {(e if e.startswith('.') else '.' + e).lower() for e in exts}
    names = []
    for folder, subdirs, files in os.walk(root, followlinks=True):
        subdirs[:] = [d for d in subdirs if not d.startswith('.')]
        for name in files:
            if not name.startswith('.') and \
                    osp.splitext(name)[1].lower() in exts:
                names.append(
                    osp.relpath(osp.join(folder, name), root).replace(
                        os.sep, '/'))
    return sorted(names)


@DATASETS.register_module()
class UnlabeledAVDataset(UnreadableSampleMixin, BaseActionDataset):
    """Videos with their audio and without labels, for self-supervised
    audiovisual pre-training (AVS).

    The videos come from a list file or from a folder scan:

    - list mode (``ann_file``): one path per line, relative to
      ``data_prefix.video``; only the first field (up to ``delimiter``) is
      read, so ``VideoDataset`` lists (``path label``) work and their labels
      are ignored. Blank lines and lines starting with ``#`` are skipped.
    - folder mode (``scan_folder=True``, ``ann_file`` empty): every file
      under ``data_prefix.video`` (recursively) whose extension is in
      ``video_exts`` (case-insensitive), in sorted path order so that every
      rank and run gets the same indices. Hidden files and folders (name
      starting with ``.``, e.g. macOS ``._x.mp4`` resource forks) are
      skipped.

    A data info is ``dict(filename=...)`` (plus ``sample_idx``, the index
    in the data set, which MMEngine adds and the packed sample's metainfo
    carries); there is no ``label``, so ``PackAVInputs`` packs samples
    without ``gt_label`` (no fake class).

    Videos without an audio stream are useless for AVS and, with
    ``filter_no_audio``, removed when the data set is built (validation
    and test sets cannot redraw a sample): each file's container header is
    read with PyAV (:func:`has_audio_stream`, in ``probe_threads``
    threads), the filtered files are kept in ``self.no_audio_files`` and
    logged as one WARNING line with their count and first names. Files
    that cannot be opened are kept: loading them raises
    :class:`~mmaction_avslowfast.datasets.unreadable.UnreadableMediaError`
    and ``on_unreadable`` decides (redraw, miss or error, as in
    ``AVVideoDataset``). ``filter_no_audio=False`` skips the probe (the
    audio transforms' ``on_missing_audio`` then handles those files).

    The probe is done once, not once per rank
    (:func:`~.audio_probe.probe_audio_streams`):

    - distributed run (``mmengine.dist``): rank 0 reads the cache and
      broadcasts its answers (one byte per file); the files it has no
      answer for are split over the ranks, each probes its share and the
      answers are all-gathered, so every file is opened by one rank only
      and a rank's share shrinks with the number of ranks. The ranks check
      that they list the same files. Every rank must build the data set,
      as MMEngine's runner does (``share_probe=False``: each rank probes
      every file);
    - ``probe_cache`` (a file; put it in the work dir or any writable
      place, since data folders are often read-only): the answers are kept
      across builds and runs, keyed by absolute path, size and mtime, so a
      later build (resume, ``mim test``, a relaunch) opens only new or
      changed files and ``stat``-s the others. Rank 0 reads and writes it;
      an unwritable cache is reported and the build goes on.

    One INFO line gives the files probed and those taken from the cache
    (``self.probe_counts``). The data-set checker's cleaned list cannot
    replace the probe: it keeps files without audio (a warning there), and
    a folder scan has no list. Cost (``benchmarks/data_io.py``, distinct
    10-s mp4 files, 2-core VM): about 0.7 ms of CPU per probed file, so a
    240 k list took 3 min on every rank; now each file is probed by one
    rank (8 ranks: 21 s each) and a later build costs rank 0 about 3 s
    (a ``stat`` per file and the cache's JSON).

    Args:
        ann_file (str, optional): List file; ``''`` or None with
            ``scan_folder``.
        pipeline (list[dict | callable]): Data transforms.
        data_prefix (dict): ``dict(video=folder)``: list paths are relative
            to it; the folder scanned with ``scan_folder``.
            Default: ``dict(video='')``.
        scan_folder (bool): Scan ``data_prefix.video`` instead of reading a
            list. Default: False.
        video_exts (Sequence[str]): Extensions of the scan.
            Default: :data:`VIDEO_EXTENSIONS`.
        filter_no_audio (bool): Drop videos without an audio stream at
            build time. Default: True.
        probe_threads (int): Threads of the audio-stream probe. Default: 4.
        probe_cache (str, optional): File caching the probe's answers (see
            above); relative paths are relative to the working directory.
            Default: None (no cache).
        share_probe (bool): In a distributed run, split the probe over the
            ranks (each file opened by one rank). Default: True.
        delimiter (str): Field separator of the list. Default: ``' '``.
        on_unreadable (str, optional): ``'redraw'`` (training default),
            ``'miss'`` or ``'error'`` (``test_mode`` default).
        test_mode (bool): Validation / test set. Default: False.
        easy_negative_offset (int, optional): When set to ``k``,
            ``get_data_info(i)`` adds ``avs_partner_filename``, the file of
            sample ``(i + k) mod N`` (``N`` samples after filtering): the
            index-fixed easy negative of ``AVSyncEvalAudio`` (AVS
            evaluation). ``k mod N`` must not be 0. Default: None.
        **kwargs: ``BaseActionDataset`` / MMEngine ``BaseDataset``
            arguments (``data_root``, ``indices``, ``lazy_init``, ...).
    """

    # ``sample_idx`` (the index in the data set) on every packed sample.
    sample_meta_keys = UnreadableSampleMixin.sample_meta_keys + \
        ('sample_idx', )

    def __init__(self,
                 ann_file: Optional[str] = '',
                 pipeline: List[Union[ConfigType, Callable]] = (),
                 data_prefix: ConfigType = dict(video=''),
                 scan_folder: bool = False,
                 video_exts: Sequence[str] = VIDEO_EXTENSIONS,
                 filter_no_audio: bool = True,
                 probe_threads: int = 4,
                 probe_cache: Optional[str] = None,
                 share_probe: bool = True,
                 delimiter: str = ' ',
                 easy_negative_offset: Optional[int] = None,
                 **kwargs) -> None:
        ann_file = ann_file or ''
        if easy_negative_offset is not None and (
                int(easy_negative_offset) != easy_negative_offset
                or easy_negative_offset <= 0):
            raise ValueError(
                'UnlabeledAVDataset: easy_negative_offset must be a positive '
                f'integer or None, got {easy_negative_offset!r}')
        self.easy_negative_offset = easy_negative_offset
        if scan_folder and ann_file:
            raise ValueError(
                f'UnlabeledAVDataset: scan_folder=True scans '
                f'data_prefix.video, but ann_file={ann_file!r} is given too; '
                f'set one of them')
        if not scan_folder and not ann_file:
            raise ValueError(
                'UnlabeledAVDataset needs ann_file (a list of videos) or '
                'scan_folder=True (scan data_prefix.video)')
        self.scan_folder = bool(scan_folder)
        self.video_exts = tuple(e.lower() if e.startswith('.') else
                                f'.{e.lower()}' for e in video_exts)
        self.filter_no_audio = bool(filter_no_audio)
        self.probe_threads = max(int(probe_threads), 1)
        self.probe_cache = probe_cache or None
        self.share_probe = bool(share_probe)
        self.probe_counts: dict = {}
        self.delimiter = delimiter
        self.no_audio_files: List[str] = []
        super().__init__(
            ann_file,
            pipeline=list(pipeline),
            data_prefix=data_prefix,
            **kwargs)

    # ---------------------------------------------------------------- list
    def load_data_list(self) -> List[dict]:
        """``[dict(filename=path), ...]`` from the list or the scan."""
        root = self.data_prefix.get('video') or ''
        names = self._scan(root) if self.scan_folder else self._read_list()
        return [dict(filename=osp.join(root, name)) for name in names]

    def _read_list(self) -> List[str]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'UnlabeledAVDataset: list file {self.ann_file!r} not found')
        names = []
        for line in list_from_file(self.ann_file):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            names.append(line.split(self.delimiter)[0])
        if not names:
            raise ValueError(
                f'UnlabeledAVDataset: list file {self.ann_file!r} names no '
                f'video')
        return names

    def _scan(self, root: str) -> List[str]:
        if not osp.isdir(root):
            raise FileNotFoundError(
                f'UnlabeledAVDataset: scan_folder=True but data_prefix.video '
                f'{root!r} is not a folder')
        names = scan_videos(root, self.video_exts)
        if not names:
            raise ValueError(
                f'UnlabeledAVDataset: no file with an extension in '
                f'{self.video_exts} under {root!r}')
        return names

    # -------------------------------------------------------------- filter
    def filter_data(self) -> List[dict]:
        """Drop the videos that open and have no audio stream (see the
        class docstring); files that cannot be opened are kept."""
        data_list = super().filter_data()
        if not self.filter_no_audio:
            return data_list
        paths = [info['filename'] for info in data_list]
        audio, self.probe_counts = probe_audio_streams(
            paths, self.probe_cache, self.probe_threads, self.share_probe)
        self._log_probe(self.probe_counts)
        self.no_audio_files = [p for p, a in zip(paths, audio) if a is False]
        if self.no_audio_files:
            shown = ', '.join(
                osp.basename(p) for p in self.no_audio_files[:_LOGGED_NAMES])
            more = len(self.no_audio_files) - _LOGGED_NAMES
            print_log(
                f'UnlabeledAVDataset: {len(self.no_audio_files)} of '
                f'{len(paths)} videos have no audio stream and are left out '
                f'({shown}' + (f' and {more} more' if more > 0 else '') +
                '); the list is in dataset.no_audio_files',
                logger='current',
                level=logging.WARNING)
        return [info for info, a in zip(data_list, audio) if a is not False]

    def _log_probe(self, counts: dict) -> None:
        """One INFO line: files probed, taken from the cache, by which
        rank; a WARNING when the cache file was ignored."""
        where = ''
        if counts['shared']:
            where = (f' over {counts["world_size"]} ranks ({counts["rank"]}: '
                     f'{counts["probed_here"]})')
        cache = ''
        if self.probe_cache:
            cache = (f', {counts["cached"]} from the cache '
                     f'{self.probe_cache!r}')
            if counts.get('load_error'):
                print_log(
                    f'UnlabeledAVDataset: ignored the audio-stream probe '
                    f'cache {self.probe_cache!r} ({counts["load_error"]}); '
                    f'it is rewritten', logger='current',
                    level=logging.WARNING)
        print_log(
            f'UnlabeledAVDataset: audio streams of '
            f'{counts["probed"] + counts["cached"]} videos: '
            f'{counts["probed"]} probed{where}{cache}',
            logger='current', level=logging.INFO)

    def get_data_info(self, idx: int) -> dict:
        """Data info of sample ``idx``; with ``easy_negative_offset=k``
        also ``avs_partner_filename`` = file of sample ``(idx + k) mod N``."""
        info = super().get_data_info(idx)
        if self.easy_negative_offset is not None:
            num = len(self)
            partner = (idx + int(self.easy_negative_offset)) % num
            if partner == idx % num:
                raise ValueError(
                    f'UnlabeledAVDataset: easy_negative_offset='
                    f'{self.easy_negative_offset} maps sample {idx} of {num} '
                    f'onto itself; the easy negative needs another video')
            info['avs_partner_filename'] = \
                super().get_data_info(partner)['filename']
        return info
