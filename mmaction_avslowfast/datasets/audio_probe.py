"""The build-time audio-stream probe of :class:`UnlabeledAVDataset`, done
once: answers cached in a file keyed by path, size and mtime, and, in a
distributed run, each file opened by one rank only (rank 0 reads the cache,
the files it lacks are split over the ranks, the answers gathered).

Without this, every rank opened every file of the list when the data set
was built (240 k Kinetics videos: minutes of CPU per rank, hours of CPU
for 64 ranks before the first step; ``benchmarks/data_io.py``).
"""
import hashlib
import json
import logging
import os
import os.path as osp
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from ..audio.container import AudioDecodeError, open_for_audio

#: Written in the cache file; a cache of another format or version is
#: ignored (and rewritten), so a change of :func:`has_audio_stream`'s
#: answers only needs a new version number.
CACHE_FORMAT = 'mmaction_avslowfast audio-stream probe'
CACHE_VERSION = 1

# answer <-> one character (what the ranks exchange: 1 byte per file);
# _MISS: no valid cache entry, to be probed
_CODES = {True: '1', False: '0', None: '-'}
_MISS = '?'
_ANSWERS = {c: a for a, c in _CODES.items()}
_CHUNK = 64  # files per thread-pool task


def has_audio_stream(path: str) -> Optional[bool]:
    """Whether a media file has an audio stream, from its container header.

    Opens the file with :func:`~mmaction_avslowfast.audio.container.
    open_for_audio` (the opener of the audio readers; short stream probing
    for mp4/mov) and decodes nothing.

    Returns:
        bool | None: None when the file cannot be opened (missing, empty,
        not a media file, truncated container).
    """
    try:
        container, _ = open_for_audio(path)
    except AudioDecodeError:
        return None
    with container:
        return len(container.streams.audio) > 0


class AudioProbeCache:
    """:func:`has_audio_stream` answers in a JSON file, keyed by absolute
    path; an entry holds the file's size and mtime (ns) when it was probed
    and is used only while both are unchanged (a replaced, re-encoded or
    touched file is probed again). Files that do not exist are never
    cached.

    The file is read once (:meth:`__init__`) and written, when something
    changed, by :meth:`save` (a temporary file renamed over it, so that a
    reader never sees half a file; entries of other lists sharing the file
    are kept). A missing, unreadable or foreign file reads as empty; a
    cache that cannot be written is reported in one WARNING line and the
    build goes on.

    Args:
        path (str): The cache file (its folder is created when saving).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries: Dict[str, list] = {}
        self.changed = False
        self.load_error: Optional[str] = None
        if not osp.exists(path):
            return
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
        except (OSError, ValueError) as err:
            self.load_error = f'{type(err).__name__}: {err}'
            return
        if not isinstance(data, dict) or data.get('format') != CACHE_FORMAT:
            self.load_error = 'not an audio-stream probe cache'
        elif data.get('version') != CACHE_VERSION:
            self.load_error = (f'version {data.get("version")}, this code '
                               f'writes {CACHE_VERSION}')
        elif isinstance(data.get('files'), dict):
            self.entries = data['files']

    def lookup(self, path: str) -> Tuple[Optional[os.stat_result], str]:
        """``(stat, code)`` of ``path``: ``code`` is the cached answer's
        character, or ``''`` when the file must be probed (no entry, size
        or mtime changed); ``stat`` is None when the file does not exist."""
        try:
            stat = os.stat(path)
        except OSError:
            return None, ''
        entry = self.entries.get(osp.abspath(path))
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return stat, entry[2]
        return stat, ''

    def store(self, path: str, stat: os.stat_result, code: str) -> None:
        self.entries[osp.abspath(path)] = [stat.st_size, stat.st_mtime_ns,
                                           code]
        self.changed = True

    def save(self) -> bool:
        """Write the entries (if changed); False, with a WARNING naming the
        file and the reason, when it cannot be written."""
        if not self.changed:
            return True
        folder = osp.dirname(osp.abspath(self.path))
        tmp = None
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix='.' + osp.basename(self.path), suffix='.tmp',
                dir=folder)
            with os.fdopen(fd, 'w', encoding='utf-8') as f:
                json.dump(dict(format=CACHE_FORMAT, version=CACHE_VERSION,
                               files=self.entries), f)
            os.replace(tmp, self.path)
        except OSError as err:
            if tmp is not None and osp.exists(tmp):
                os.remove(tmp)
            print_log(
                f'UnlabeledAVDataset: cannot write the audio-stream probe '
                f'cache {self.path!r} ({type(err).__name__}: {err}); the '
                f'next build probes the files again. Set probe_cache to a '
                f'writable file (e.g. in the work dir).',
                logger='current', level=logging.WARNING)
            return False
        self.changed = False
        return True


def _chunked(fn, items: Sequence, threads: int) -> list:
    """``[fn(x) for x in items]`` in ``threads`` threads, a chunk of items
    per task (one task per file costs more than a ``stat``)."""
    size = max(1, min(_CHUNK, -(-len(items) // threads)))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    with ThreadPoolExecutor(min(threads, max(len(chunks), 1))) as pool:
        return [r for chunk in pool.map(lambda c: [fn(x) for x in c],
                                        chunks) for r in chunk]


def _probe(paths: Sequence[str], threads: int) -> str:
    """:func:`has_audio_stream` of every path, one character each."""
    return ''.join(_chunked(lambda p: _CODES[has_audio_stream(p)], paths,
                            threads))


def _lookup(paths: Sequence[str], cache: Optional[AudioProbeCache],
            threads: int) -> Tuple[List[str], list]:
    """Cached answers (:data:`_MISS` where there is none) and ``stat``s."""
    if cache is None:
        return [_MISS] * len(paths), [None] * len(paths)
    found = _chunked(cache.lookup, paths, threads)
    return [code or _MISS for _, code in found], [st for st, _ in found]


def _store(cache: Optional[AudioProbeCache], paths: Sequence[str],
           stats: list, misses: List[int], codes: List[str]) -> dict:
    """Counts for the log; the probed answers go into the cache (saved)."""
    counts = dict(probed=len(misses), cached=len(paths) - len(misses))
    if cache is not None:
        for i in misses:
            if stats[i] is not None:
                cache.store(paths[i], stats[i], codes[i])
        if cache.load_error:
            counts['load_error'] = cache.load_error
        counts['saved'] = cache.save()
    return counts


def _digest(paths: Sequence[str]) -> str:
    return hashlib.sha1('\n'.join(paths).encode(
        'utf-8', 'surrogateescape')).hexdigest()


def probe_audio_streams(paths: Sequence[str],
                        cache_path: Optional[str] = None,
                        threads: int = 4,
                        share: bool = True) -> Tuple[List[Optional[bool]],
                                                     dict]:
    """:func:`has_audio_stream` of every path, each file opened once.

    With a cache file (``cache_path``) only files without a valid entry
    are opened (the others are ``stat``-ed). With ``share`` in a
    distributed run (``mmengine.dist``: world size > 1): rank 0 reads the
    cache and broadcasts its answers (one character per file); the files
    it lacks are split over the ranks (rank ``r`` probes every
    ``world_size``-th, from the ``r``-th), the answers are all-gathered and
    rank 0 writes the cache. Every rank checks that it lists the same files
    as rank 0 (a hash of the paths). Every rank must call this (MMEngine's
    runner builds every data set on every rank); in a data-loader worker
    (lazy initialisation) nothing is shared and the process answers
    itself.

    Returns:
        tuple: ``(answers, counts)``: per path True / False / None (cannot
        be opened), and ``dict(probed=, cached=, rank=, world_size=,
        shared=)`` plus ``probed_here`` (this rank's share) when shared,
        ``load_error`` / ``saved`` with a cache on the rank that read it.

    Raises:
        RuntimeError: on every rank, when a rank failed (the message names
            it and the error) or lists other files than rank 0.
    """
    from mmengine.dist import (all_gather_object, broadcast_object_list,
                               get_dist_info)
    from torch.utils.data import get_worker_info
    rank, world_size = get_dist_info()
    if not (share and world_size > 1 and get_worker_info() is None):
        cache = AudioProbeCache(cache_path) if cache_path else None
        codes, stats = _lookup(paths, cache, threads)
        misses = [i for i, c in enumerate(codes) if c == _MISS]
        for i, code in zip(misses, _probe([paths[i] for i in misses],
                                          threads)):
            codes[i] = code
        counts = _store(cache, paths, stats, misses, codes)
        counts.update(rank=rank, world_size=world_size, shared=False)
        return [_ANSWERS[c] for c in codes], counts

    # 1. rank 0: the cached answers; nobody raises before the collectives
    cache, stats, payload = None, None, [None]
    if rank == 0:
        try:
            cache = AudioProbeCache(cache_path) if cache_path else None
            codes, stats = _lookup(paths, cache, threads)
            payload = [(_digest(paths), ''.join(codes), None)]
        except Exception as err:  # noqa: BLE001 - the others must go on
            payload = [(None, None, f'{type(err).__name__}: {err}')]
    broadcast_object_list(payload, src=0)
    digest, codes, error_0 = payload[0]
    error = error_0 if rank == 0 else None  # reported by rank 0 only
    if error_0 is None and rank and digest != _digest(paths):
        error = (f'lists other files than rank 0 ({len(paths)} here, '
                 f'{len(codes)} there, or the same number in another order)'
                 f'; every rank must read the same list / folder')
    # 2. every rank probes its share of the misses
    mine, found = [], ''
    if error_0 is None and error is None:
        misses = [i for i, c in enumerate(codes) if c == _MISS]
        mine = misses[rank::world_size]
        try:
            found = _probe([paths[i] for i in mine], threads)
        except Exception as err:  # noqa: BLE001 - the others must go on
            error = f'{type(err).__name__}: {err}'
    gathered = all_gather_object((error, mine, found))
    failed = [(r, e) for r, (e, _, _) in enumerate(gathered) if e]
    if failed:
        raise RuntimeError(
            'UnlabeledAVDataset: the audio-stream probe failed: ' + '; '.join(
                f'rank {r}: {e}' for r, e in failed))
    # 3. everybody has every answer; rank 0 writes the cache
    codes = list(codes)
    for _, indices, found in gathered:
        for i, code in zip(indices, found):
            codes[i] = code
    if rank == 0:
        counts = _store(cache, paths, stats, misses, codes)
    else:
        counts = dict(probed=len(misses), cached=len(paths) - len(misses))
    counts.update(rank=rank, world_size=world_size, shared=True,
                  probed_here=len(mine))
    return [_ANSWERS[c] for c in codes], counts
