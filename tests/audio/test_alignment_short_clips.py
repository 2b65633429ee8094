"""Audio of clips longer than the video: the audio follows the frames the
sampler returns (looped, repeated), and regular clips are unchanged."""
import json
import math
from fractions import Fraction

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope

import mmaction_avslowfast  # noqa: F401  (registers modules, applies compat)
from mmaction_avslowfast.audio import (LogMelExtractor, clip_time_spans,
                                       decode_audio, logmel_clips,
                                       normalize_logmel,
                                       sample_negative_start, slice_logmel)
from mmaction_avslowfast.audio.alignment import (clip_frame_positions,
                                                 clip_frame_times)
from mmaction_avslowfast.testing.synthetic_media import (mel_bin,
                                                       write_av_video)

FPS = 30
RATE = 62.5  # log-mel frames per second
NUM_FRAMES = 128
# 8 video frames; frames 2k and 2k + 1 share a tone, so each frame that
# SampleFrames(frame_interval=2) picks has its own tone. After the video
# (8 / 30 s) the audio goes on at 250 Hz: reading past the looped frames
# (e.g. the clip as if the video continued) shows up.
PAIR_TONES = [500.0, 1000.0, 2000.0, 4000.0]
AFTER_HZ = 250.0
TONES = PAIR_TONES + [AFTER_HZ]
SCHEDULE = [(Fraction(2 * k, FPS), hz) for k, hz in enumerate(PAIR_TONES)]
SCHEDULE.append((Fraction(8, FPS), AFTER_HZ))


def dominant_tone(spec):
    """Index into ``TONES`` of the loudest tone of each spectrogram frame."""
    return np.argmax(spec[:, [mel_bin(hz) for hz in TONES]], axis=1)


def read_times(inds, num_frames=NUM_FRAMES, fps=FPS):
    """Video time (s) each output frame should hear, per the rule of
    ``AudioLogMelClips``: slot ``x = j (L - 1) / (num_frames - 1)``, time of
    frame ``inds[floor(x)]`` plus ``frac(x)`` regular steps."""
    steps = [b - a for a, b in zip(inds, inds[1:]) if b > a]
    step = max(steps, key=lambda s: (steps.count(s), s)) if steps else 0
    out = []
    for j in range(num_frames):
        x = Fraction(j * (len(inds) - 1), num_frames - 1)
        k = math.floor(x)
        out.append(float((inds[k] + (x - k) * step) / fps))
    return np.array(out), [math.floor(j * (len(inds) - 1) / (num_frames - 1))
                           for j in range(num_frames)]


def check_follows_frames(spec, inds):
    """Each output frame hears the tone of the frame its slot shows."""
    times, slots = read_times(inds)
    tone = dominant_tone(spec)
    starts = [float(t) for t, _ in SCHEDULE] + [math.inf]
    checked = 0
    for j, t in enumerate(times):
        # log-mel window of the frame read: [k * 16 ms, k * 16 ms + 32 ms)
        lo = math.floor(t * RATE) / RATE
        seg = np.searchsorted(starts, lo, side='right') - 1
        if lo + 2 / RATE <= starts[seg + 1] - 0.003:  # inside one tone
            assert tone[j] == seg, (j, t, tone[j], seg)
            checked += 1
    assert checked >= NUM_FRAMES // 3, checked
    # Slot level: the loudest tone of each sampled frame's output frames is
    # the tone of that frame (the pattern loops like the frames).
    for k, ind in enumerate(inds):
        mine = tone[np.asarray(slots) == k]
        assert np.bincount(mine).argmax() == ind // 2, (k, ind, mine)


@pytest.fixture(scope='module')
def short_video(tmp_path_factory):
    """8 frames at 30 fps (0.27 s) with 2 s of audio."""
    root = tmp_path_factory.mktemp('short_clips')
    return write_av_video(
        str(root / 'short.mp4'),
        duration=8 / FPS,
        fps=FPS,
        tone_schedule=[(float(t), hz) for t, hz in SCHEDULE],
        audio_duration=2.0,
        sample_rate=16000)


@pytest.fixture(scope='module')
def precomputed(short_video, tmp_path_factory):
    """The video's features as ``tools/data/extract_logmel.py`` writes them."""
    root = tmp_path_factory.mktemp('short_logmel')
    wave, offset = decode_audio(short_video['path'])
    extractor = LogMelExtractor()
    np.save(root / 'short.npy', extractor(wave))
    entry = dict(npy='short.npy', frame_rate=extractor.frame_rate,
                 offset=offset, valid=True)
    (root / 'index.jsonl').write_text(json.dumps(entry) + '\n')
    return str(root)


def sample(video, audio_loader, out_of_bound_opt, seed=0):
    init_default_scope('mmaction')
    pipeline = Compose([
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=8, frame_interval=2,
             num_clips=1, out_of_bound_opt=out_of_bound_opt),
        audio_loader,
        dict(type='AudioLogMelClips', with_negative=True),
    ])
    np.random.seed(seed)
    return pipeline(dict(filename=video['path'], start_index=0,
                         modality='RGB'))


EXPECTED_INDS = {
    'loop': [0, 2, 4, 6, 0, 2, 4, 6],
    'repeat_last': [0, 2, 4, 6, 6, 6, 6, 6],
}


@pytest.mark.parametrize('out_of_bound_opt', ['loop', 'repeat_last'])
def test_looped_clip_audio_follows_frames(short_video, out_of_bound_opt):
    results = sample(short_video, dict(type='LoadAudioFromVideo'),
                     out_of_bound_opt)
    inds = EXPECTED_INDS[out_of_bound_opt]
    assert results['frame_inds'].tolist() == inds
    assert abs(results['audio_offset']) < 1e-6
    audios = results['audios']
    assert audios.shape == (1, 2, NUM_FRAMES, 80)
    check_follows_frames(audios[0, 0], inds)
    # Same features (and negative draw) as the whole-track path.
    wave, offset = decode_audio(short_video['path'])
    np.random.seed(0)
    whole = logmel_clips(LogMelExtractor()(wave),
                         clip_frame_times(inds, 1, FPS), RATE, offset,
                         with_negative=True)
    assert np.abs(audios - whole).max() < 1e-3


def test_looped_clip_from_precomputed_features(short_video, precomputed):
    results = sample(
        short_video,
        dict(type='LoadLogMel', logmel_root=precomputed,
             video_root=short_video['path'].rsplit('/', 1)[0]), 'loop')
    assert results['audio_valid'] is True
    check_follows_frames(results['audios'][0, 0], EXPECTED_INDS['loop'])
    online = sample(short_video, dict(type='LoadAudioFromVideo'), 'loop')
    assert np.abs(results['audios'] - online['audios']).max() < 1e-3


@pytest.mark.parametrize('inds', [
    [0, 2, 4, 6, 0, 2, 4, 6],  # loop, 4 frames < clip
    [0, 2, 1, 0, 2, 1, 0, 2],  # loop, 3 frames
    [0, 2, 4, 4, 4, 4, 4, 4],  # repeat_last
    [0, 1, 2, 0, 1, 2, 0, 1],  # loop of 3 frames, frame_interval 4
    [0, 0, 0, 1, 3, 5, 7, 9],  # SampleAVAFrames clamped at the start
    [5, 5, 5, 5],  # one-frame video
])
def test_positions_of_irregular_clips(inds):
    """Features equal to their frame index show which frame each output
    frame read."""
    logmel = np.repeat(np.arange(100, dtype=np.float32)[:, None], 80, 1)
    audios = logmel_clips(logmel, clip_frame_times(inds, 1, FPS), RATE,
                          mean=0.0, std=1.0)
    times, _ = read_times(inds)
    np.testing.assert_array_equal(audios[0, 0, :, 0],
                                  np.floor(times * RATE + 1e-9))


def old_clip_frame_spans(spans, frame_rate, audio_offset=0.0, total=0,
                         with_negative=False, negative_gap=32, rng=None):
    """The linear spans (and negatives) of the code before looped clips
    were handled: the oracle regular clips must still match bit for bit.

    ``spans``: ``[num_clips, 2]`` clip times (s), video time; the other
    arguments as :func:`clip_frame_positions`'. Returns float64
    ``[num_clips, 1 or 2, 2]`` (start, end) frames.
    """
    frames = (np.asarray(spans, np.float64) - audio_offset) * frame_rate
    views = []
    for start, end in frames:
        channels = [(start, end)]
        if with_negative:
            neg = sample_negative_start(start, end - start, total,
                                        negative_gap, rng)
            channels.append((neg, neg + end - start))
        views.append(channels)
    return np.asarray(views, np.float64).reshape(len(frames), -1, 2)


def test_regular_clips_are_bit_for_bit_unchanged():
    """Strictly increasing, evenly spaced clips read exactly
    ``floor(linspace(start, end, num_frames))`` of the first/last frame
    times (the formula before per-frame alignment), negatives included."""
    rng = np.random.RandomState(0)
    for trial in range(300):
        num_clips, clip_len = rng.randint(1, 5), rng.randint(1, 65)
        interval, fps = rng.randint(1, 9), rng.uniform(5, 60)
        starts = rng.randint(0, 3000, num_clips)
        inds = (starts[:, None] + interval * np.arange(clip_len)).ravel()
        start_index, time_offset = rng.randint(0, 2), rng.uniform(-3, 3)
        frame_rate, num_frames = rng.uniform(20, 100), rng.randint(2, 257)
        audio_offset, total = rng.uniform(-1, 1), rng.randint(0, 20000)
        clips = clip_frame_times(inds, num_clips, fps, start_index,
                                 time_offset)
        assert clips.regular.all()
        logmel = rng.randn(total, 3).astype(np.float32)
        # old: clip_time_spans -> clip_frame_spans -> slice_logmel
        spans = clip_time_spans(inds, num_clips, fps, start_index,
                                time_offset)
        draw = np.random.RandomState(trial)
        old_spans = old_clip_frame_spans(spans, frame_rate, audio_offset,
                                         total, True, 32, draw)
        old_pos = np.stack([[np.linspace(s, e, num_frames) for s, e in view]
                            for view in old_spans])
        old = normalize_logmel(np.stack([
            np.stack([slice_logmel(logmel, s, e, num_frames)
                      for s, e in view]) for view in old_spans]))
        draw = np.random.RandomState(trial)
        pos = clip_frame_positions(clips, num_frames, frame_rate,
                                   audio_offset, total, True, 32, draw)
        np.testing.assert_array_equal(pos, old_pos)
        draw = np.random.RandomState(trial)
        new = logmel_clips(logmel, clips, frame_rate, audio_offset,
                           num_frames, True, 32, rng=draw)
        np.testing.assert_array_equal(new, old)


@pytest.mark.parametrize('first', [0, 90, 190])  # video frames
def test_negative_of_looped_clip_is_the_shifted_pattern(first):
    inds = np.array([0, 2, 4, 6, 0, 2, 4, 6]) + first
    total, gap = 420, 32  # log-mel frames (6.7 s, 201 video frames)
    clips = clip_frame_times(inds, 1, FPS)
    assert not clips.regular[0]
    for seed in range(20):
        pos, neg = clip_frame_positions(clips, NUM_FRAMES, RATE, total=total,
                                        with_negative=True,
                                        negative_gap=gap,
                                        rng=np.random.RandomState(seed))[0]
        shift = neg - pos
        assert np.ptp(shift) < 1e-9  # the same looped pattern, shifted
        assert abs(shift[0]) >= gap - 1e-9
        # The draw of sample_negative_start for the covered range.
        lo, hi = pos.min(), pos.max()
        expected = sample_negative_start(lo, hi - lo, total, gap,
                                         np.random.RandomState(seed)) - lo
        assert abs(shift[0] - expected) < 1e-9
        assert neg.min() >= 0 and neg.max() <= total - 1  # inside the track
    # Through logmel_clips: the negative channel loops like the positive.
    logmel = np.repeat(np.arange(total, dtype=np.float32)[:, None], 80, 1)
    audios = logmel_clips(logmel, clips, RATE, with_negative=True,
                          negative_gap=gap, mean=0.0, std=1.0,
                          rng=np.random.RandomState(1))[0, :, :, 0]
    delta = audios[1] - audios[0]
    assert delta.max() - delta.min() <= 1 and abs(delta).min() >= gap - 1
    times, _ = read_times(list(inds))
    np.testing.assert_array_equal(audios[0], np.floor(times * RATE + 1e-9))
