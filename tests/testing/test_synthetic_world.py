"""Content checks of the self-supervised demo's world
(mmaction_avslowfast/testing/synthetic_world.py, tools/make_selfsup_world.py):
decoded pictures and sounds, not only shapes."""
import os.path as osp
import runpy
import sys

import numpy as np
import pytest

from mmaction_avslowfast.audio import LogMelExtractor, decode_audio
from mmaction_avslowfast.testing.synthetic_media import mel_bin
from mmaction_avslowfast.testing.synthetic_world import (
    COLOURS, PITCHES, probe_event, probe_label_names, render_world,
    sample_events, write_world_video)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FPS, SIZE = 16, 64


def decode_frames(path):
    """RGB frames ``[T, H, W, 3]`` decoded with PyAV."""
    import av
    with av.open(path) as container:
        return np.stack([f.to_ndarray(format='rgb24')
                         for f in container.decode(video=0)])


def colour_mask(frames, colour, tol=60):
    """``[T, H, W]`` pixels within ``tol`` (L1) of ``colour``."""
    return np.abs(frames.astype(np.int32) - np.asarray(colour)).sum(-1) < tol


def measured_flashes(frames):
    """Per object, the first frames of its flashes, from decoded frames: the
    object's lane is where its colour shows; a flash is a frame in which
    its lane holds white pixels and (almost) none of its colour."""
    white = colour_mask(frames, (255, 255, 255), 90)
    out = []
    for colour in COLOURS:
        own = colour_mask(frames, colour)  # [T, H, W]
        rows = np.flatnonzero(own.sum(axis=(0, 2)) > 0)
        assert len(rows), f'colour {colour} never visible'
        lane = slice(rows.min(), rows.max() + 1)
        flashing = (white[:, lane].sum(axis=(1, 2)) > 20) & \
            (own[:, lane].sum(axis=(1, 2)) < 5)
        starts = np.flatnonzero(flashing & ~np.r_[False, flashing[:-1]])
        out.append(starts.tolist())
    return out


def tone_onsets(path):
    """Per colour, the video frames (rounded) where a burst of its pitch
    starts, found from the log-mel of the decoded audio track: frames whose
    loudest mel bin is the colour's (``mel_bin``, +-1) and that are loud."""
    wave, offset = decode_audio(path)
    assert abs(offset) < 1e-3
    extractor = LogMelExtractor()
    logmel = extractor(wave)  # [frames, 80], frame i at i * hop
    loud = logmel.max(1) > logmel.max() - 6  # within e^6 of the peak
    peak = logmel.argmax(1)
    onsets = []
    for pitch in PITCHES:
        on = loud & (np.abs(peak - mel_bin(pitch)) <= 1)
        starts = np.flatnonzero(on & ~np.r_[False, on[:-1]])
        # a window of n_fft samples starting at frame i ends at
        # (i * hop + n_fft) / sr; the burst (a Hann window) is loud from
        # about a quarter of its length on.
        times = (starts * extractor.hop_length + extractor.n_fft) / \
            extractor.sample_rate - 0.025
        onsets.append(np.round(times * FPS).astype(int).tolist())
    return onsets


def test_world_sound_follows_flashes(tmp_path):
    rng = np.random.RandomState(7)
    events = sample_events(rng, 3.0, rate=1.0)
    assert sum(len(e) for e in events) >= 4
    world = render_world(events, 3.0, rng)
    path = write_world_video(str(tmp_path / 'world.mp4'), world)

    frames = decode_frames(path)
    assert frames.shape == (48, SIZE, SIZE, 3)
    # flashes seen in the decoded picture = the world's event frames
    seen = measured_flashes(frames)
    assert seen == [e.tolist() for e in world['event_frames']]
    # ... and each colour's tone bursts start at those frames (+-1 frame)
    heard = tone_onsets(path)
    for k in range(len(COLOURS)):
        expected = world['event_frames'][k].tolist()
        assert len(heard[k]) == len(expected), (k, heard[k], expected)
        assert np.abs(np.asarray(heard[k]) - expected).max(initial=0) <= 1


def test_world_motion_has_no_walls_and_no_hint():
    """Objects move at constant velocity through the wrap-around edges:
    flashes leave the motion alone."""
    events = [np.asarray([5, 30]), np.asarray([12]), np.zeros(0, int),
              np.asarray([40])]
    flash = render_world(events, 4.0, np.random.RandomState(0))
    step = np.diff(flash['positions'], axis=0)
    step = (step + SIZE / 2) % SIZE - SIZE / 2
    assert np.all(np.abs(step) >= 1.5) and np.all(
        np.sign(step) == np.sign(step[:1]))


def test_probe_event_parts():
    """A probe clip's one event lies in its label's part of the clip, with
    the whole flash inside the clip; every object and every frame of a
    part can be drawn."""
    owners, frames = [set() for _ in range(4)], [set() for _ in range(4)]
    for seed in range(400):
        label = seed % 4
        events = probe_event(np.random.RandomState(seed), label,
                             flash_frames=2)
        owner = [k for k, e in enumerate(events) if len(e)]
        assert len(owner) == 1 and len(events[owner[0]]) == 1
        owners[label].add(owner[0])
        frames[label].add(int(events[owner[0]][0]))
    assert owners == [set(range(4))] * 4
    assert frames == [{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11},
                      {12, 13, 14}]
    assert probe_label_names() == ['0.00-0.25s', '0.25-0.50s',
                                   '0.50-0.75s', '0.75-1.00s']
    with pytest.raises(ValueError, match='not in'):
        probe_event(np.random.RandomState(0), 4)
    with pytest.raises(ValueError, match='cannot hold'):
        probe_event(np.random.RandomState(0), 7, num_bins=8,
                    flash_frames=3)


def test_make_selfsup_world_probe_labels(tmp_path, monkeypatch):
    out = tmp_path / 'selfsup'
    monkeypatch.setattr(sys, 'argv', [
        'make_selfsup_world.py', '--out', str(out), '--num-pretrain', '2',
        '--num-avs-val', '1', '--num-avs-test', '1', '--num-probe-train',
        '4', '--num-probe-val', '1', '--num-probe-test', '8', '--workers',
        '1'
    ])
    runpy.run_path(osp.join(ROOT, 'tools', 'make_selfsup_world.py'),
                   run_name='__main__')
    assert (out / 'label_map.txt').read_text().split() == [
        '0.00-0.25s', '0.25-0.50s', '0.50-0.75s', '0.75-1.00s']
    assert (out / 'pretrain_list.txt').read_text().split() == [
        'pretrain_00000.mp4', 'pretrain_00001.mp4']
    rows = [line.split() for line in
            (out / 'probe_test_list.txt').read_text().splitlines()]
    assert sorted(int(label) for _, label in rows) == [0, 0, 1, 1, 2, 2, 3, 3]
    for name, label in rows:
        path = str(out / 'probe_test' / name)
        frames = decode_frames(path)
        assert len(frames) == FPS  # 1 s
        # exactly one object flashes, once, in the label's quarter
        seen = measured_flashes(frames)
        assert sorted(len(s) for s in seen) == [0, 0, 0, 1], (name, seen)
        owner = next(k for k, s in enumerate(seen) if s)
        assert seen[owner][0] // 4 == int(label), (name, label, seen)
        # and the only tone is the flashing object's pitch, at that frame
        heard = tone_onsets(path)
        assert [len(h) for h in heard] == [int(k == owner) for k in range(4)]
        assert abs(heard[owner][0] - seen[owner][0]) <= 1
