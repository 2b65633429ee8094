"""The build-time audio-stream probe of UnlabeledAVDataset is done once: a
cache keyed by path, size and mtime (a second build opens no file, a changed
file is probed again, read-only data folders and unwritable caches work),
and in a distributed run only rank 0 opens files."""
import json
import logging
import os
import os.path as osp
import socket
import subprocess
import sys

import av
import pytest
from mmengine.registry import init_default_scope

from mmaction.registry import DATASETS
from mmaction_avslowfast.datasets.audio_probe import (CACHE_FORMAT,
                                                      AudioProbeCache)
from mmaction_avslowfast.testing.synthetic_media import write_av_video

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# name -> has an audio stream (None: cannot be opened)
VIDEOS = {'a.mp4': True, 'b.mkv': True, 'c.avi': True, 'mute.mp4': False,
          'zero.mp4': None}


def write_videos(folder):
    for i, (name, audio) in enumerate(VIDEOS.items()):
        if audio is None:
            (folder / name).write_bytes(b'')
        else:
            write_av_video(str(folder / name), duration=1.0, fps=16,
                           size=(32, 32), color_seed=i, with_audio=audio)
    (folder / 'list.txt').write_text(''.join(f'{n}\n' for n in VIDEOS))


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / 'data'
    folder.mkdir()
    write_videos(folder)
    return folder


@pytest.fixture
def opened(monkeypatch):
    """Paths passed to ``av.open`` (every open of a media file)."""
    paths = []
    real_open = av.open

    def counting_open(path, *args, **kwargs):
        paths.append(osp.basename(str(path)))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(av, 'open', counting_open)
    return paths


def build(data, cache, **kwargs):
    init_default_scope('mmaction')
    return DATASETS.build(
        dict(type='UnlabeledAVDataset', ann_file=str(data / 'list.txt'),
             data_prefix=dict(video=str(data)), probe_cache=cache,
             pipeline=[], **kwargs))


def names(ds):
    return [osp.basename(ds.get_data_info(i)['filename'])
            for i in range(len(ds))]


KEPT = ['a.mp4', 'b.mkv', 'c.avi', 'zero.mp4']


def test_second_build_opens_no_file(data, tmp_path, opened, log_lines):
    cache = str(tmp_path / 'work_dir' / 'probe.json')
    first = build(data, cache)
    assert names(first) == KEPT
    assert [osp.basename(p) for p in first.no_audio_files] == ['mute.mp4']
    assert set(opened) == set(VIDEOS)
    assert first.probe_counts['probed'] == 5
    with open(cache) as f:
        stored = json.load(f)
    assert stored['format'] == CACHE_FORMAT
    assert {osp.basename(k): v[2] for k, v in stored['files'].items()} == {
        'a.mp4': '1', 'b.mkv': '1', 'c.avi': '1', 'mute.mp4': '0',
        'zero.mp4': '-'}
    size = os.stat(data / 'a.mp4').st_size
    assert stored['files'][str(data / 'a.mp4')][0] == size

    opened.clear()
    log_lines.clear()
    second = build(data, cache)
    assert opened == []
    assert names(second) == KEPT
    assert second.no_audio_files == first.no_audio_files
    assert second.probe_counts == dict(probed=0, cached=5, saved=True,
                                       rank=0, world_size=1, shared=False)
    info = [m for lvl, m in log_lines if 'audio streams of' in m]
    assert info == [f'UnlabeledAVDataset: audio streams of 5 videos: 0 '
                    f'probed, 5 from the cache {cache!r}']
    warnings = [m for lvl, m in log_lines if lvl == logging.WARNING]
    assert len(warnings) == 1 and '1 of 5 videos have no audio' in \
        warnings[0]


def test_changed_file_is_probed_again(data, tmp_path, opened):
    cache = str(tmp_path / 'probe.json')
    build(data, cache)
    # a.mp4 replaced by a video without audio (new size and mtime)
    write_av_video(str(data / 'a.mp4'), duration=1.0, fps=16, size=(32, 32),
                   with_audio=False)
    opened.clear()
    ds = build(data, cache)
    assert set(opened) == {'a.mp4'}
    assert names(ds) == ['b.mkv', 'c.avi', 'zero.mp4']
    # only the mtime changes (touched): probed again
    st = os.stat(data / 'b.mkv')
    os.utime(data / 'b.mkv', ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    opened.clear()
    build(data, cache)
    assert set(opened) == {'b.mkv'}
    # only the size changes (mtime put back): probed again, now unreadable
    st = os.stat(data / 'mute.mp4')
    with open(data / 'mute.mp4', 'r+b') as f:
        f.truncate(100)
    os.utime(data / 'mute.mp4', ns=(st.st_atime_ns, st.st_mtime_ns))
    opened.clear()
    ds = build(data, cache)
    assert set(opened) == {'mute.mp4'}
    assert names(ds) == ['b.mkv', 'c.avi', 'mute.mp4', 'zero.mp4']
    opened.clear()
    build(data, cache)
    assert opened == []


def test_read_only_data_folder(data, tmp_path, opened):
    before = sorted(os.listdir(data))
    modes = {p: os.stat(p).st_mode for p in [data, *data.iterdir()]}
    for path in modes:
        os.chmod(path, 0o555 if path == data else 0o444)
    try:
        cache = str(tmp_path / 'work_dir' / 'probe.json')
        assert names(build(data, cache)) == KEPT
        opened.clear()
        assert names(build(data, cache)) == KEPT
        assert opened == []
        assert sorted(os.listdir(data)) == before  # nothing written there
    finally:
        for path, mode in modes.items():
            os.chmod(path, mode)


def test_unwritable_or_foreign_cache_is_reported(data, tmp_path, opened,
                                                 log_lines):
    (tmp_path / 'a_file').write_text('x')
    cache = str(tmp_path / 'a_file' / 'probe.json')  # parent is a file
    assert names(build(data, cache)) == KEPT
    warnings = [m for lvl, m in log_lines if lvl == logging.WARNING and
                'cannot write' in m]
    assert len(warnings) == 1 and cache in warnings[0]
    opened.clear()
    build(data, cache)
    assert set(opened) == set(VIDEOS)  # nothing cached: probed again

    foreign = tmp_path / 'foreign.json'
    foreign.write_text('{"not": "a cache"')
    log_lines.clear()
    assert names(build(data, str(foreign))) == KEPT
    assert any('ignored the audio-stream probe cache' in m and
               str(foreign) in m for _, m in log_lines)
    assert len(AudioProbeCache(str(foreign)).entries) == 5  # rewritten


WORKER = '''
import json, os.path as osp, sys
import av
import torch.distributed as dist
from mmengine.registry import init_default_scope
import mmaction_avslowfast  # noqa: F401
from mmaction.registry import DATASETS

data, cache, out = sys.argv[1:4]
opened = []
real_open = av.open
def counting_open(path, *args, **kwargs):
    opened.append(osp.basename(str(path)))
    return real_open(path, *args, **kwargs)
av.open = counting_open
dist.init_process_group('gloo')
init_default_scope('mmaction')
rank = dist.get_rank()
builds = []
# a first build, a second one (the cache), one where rank 1 lists other files
for ann in ('list.txt', 'list.txt', 'list.txt' if rank == 0 else 'other.txt'):
    opened.clear()
    result = {}
    try:
        ds = DATASETS.build(dict(
            type='UnlabeledAVDataset', ann_file=osp.join(data, ann),
            data_prefix=dict(video=data), probe_cache=cache, pipeline=[]))
        result.update(opened=list(opened), counts=ds.probe_counts,
                      names=[osp.basename(ds.get_data_info(i)['filename'])
                             for i in range(len(ds))],
                      no_audio=[osp.basename(p) for p in ds.no_audio_files])
    except RuntimeError as err:
        result.update(error=str(err))
    builds.append(result)
with open(osp.join(out, f'rank{rank}.json'), 'w') as f:
    json.dump(builds, f)
dist.destroy_process_group()
'''


def run_two_ranks(tmp_path, data, cache):
    script = tmp_path / 'worker.py'
    script.write_text(WORKER)
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    procs = []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE='2',
                   MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                   PYTHONPATH=REPO)
        procs.append(subprocess.Popen(
            [sys.executable, str(script), str(data), cache, str(tmp_path)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True))
    for proc in procs:
        output = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, output
    results = []
    for rank in range(2):
        with open(tmp_path / f'rank{rank}.json') as f:
            results.append(json.load(f))
    return results


def test_two_ranks_open_each_file_once(data, tmp_path):
    cache = str(tmp_path / 'probe.json')
    (data / 'other.txt').write_text('a.mp4\nb.mkv\n')
    (rank0, again0, other0), (rank1, again1, other1) = run_two_ranks(
        tmp_path, data, cache)
    # every file opened by one rank only (zero.mp4 twice: short, then full
    # probe), the misses split: rank 0 the 1st, 3rd, 5th, rank 1 the others
    assert set(rank0['opened']) == {'a.mp4', 'c.avi', 'zero.mp4'}
    assert set(rank1['opened']) == {'b.mkv', 'mute.mp4'}
    for res in (rank0, rank1):
        assert res['names'] == KEPT and res['no_audio'] == ['mute.mp4']
        assert res['counts']['shared'] and res['counts']['probed'] == 5
    assert [r['counts']['probed_here'] for r in (rank0, rank1)] == [3, 2]
    stored = AudioProbeCache(cache).entries  # written by rank 0
    assert {osp.basename(k): v[2] for k, v in stored.items()} == {
        'a.mp4': '1', 'b.mkv': '1', 'c.avi': '1', 'mute.mp4': '0',
        'zero.mp4': '-'}
    # a second build: rank 0 reads the cache, nobody opens a file
    assert again0['opened'] == [] and again1['opened'] == []
    assert again1['counts']['cached'] == 5 and again1['names'] == KEPT
    assert again1['no_audio'] == ['mute.mp4']
    # a rank that lists other files than rank 0: every rank stops, told so
    for res in (other0, other1):
        assert 'rank 1: lists other files than rank 0' in res['error']
