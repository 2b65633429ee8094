"""Audio pipeline: decoding, reference log-mel, alignment, negatives, views,
missing-audio policies."""
import logging
import math

import numpy as np
import pytest
import torch
from conftest import HIGH_HZ, LOW_HZ
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope

from mmaction_avslowfast.datasets.transforms import (
    AlignAudioViews, AudioDecodeError, AudioFreqMask, AudioGainJitter,
    AudioLogMelClips, AudioTimeMask, LoadAudioFromVideo, LogMelExtractor,
    decode_audio, logmel_clips, silence_value)
from mmaction_avslowfast.audio import (
    LOGMEL_MEAN, LOGMEL_STD, sample_negative_start)
from mmaction_avslowfast.testing.synthetic_media import mel_bin

SILENCE = silence_value()


def high_tone_frames(spec):
    """Bool per spectrogram frame: the 2 kHz tone dominates the 500 Hz one."""
    return spec[:, mel_bin(HIGH_HZ)] > spec[:, mel_bin(LOW_HZ)]


def run_pipeline(transforms, results):
    init_default_scope('mmaction')
    return Compose(transforms)(results)


def decode_and_sample(path, frame_inds, num_clips, fps=30.0, **audio_kwargs):
    results = dict(
        filename=path,
        frame_inds=np.asarray(frame_inds, np.int32),
        num_clips=num_clips,
        avg_fps=fps,
        start_index=0)
    results = LoadAudioFromVideo(**audio_kwargs).transform(results)
    return AudioLogMelClips().transform(results)


# --------------------------------------------------------------------------
# Reference log-mel recipe


@pytest.mark.parametrize('num_samples', [16000 * 3 + 123, 700])
def test_logmel_matches_librosa(num_samples):
    librosa = pytest.importorskip('librosa')
    rng = np.random.RandomState(num_samples)
    wave = (rng.randn(num_samples) * 0.1).astype(np.float32)
    ours = LogMelExtractor()(wave)
    ref = librosa.feature.melspectrogram(
        y=wave,
        sr=16000,
        n_fft=512,
        win_length=512,
        hop_length=256,
        n_mels=80,
        htk=True,
        center=False).T
    ref = np.log(ref + 1e-8)
    assert ours.shape == ref.shape
    diff = np.abs((ours - LOGMEL_MEAN) / LOGMEL_STD -
                  (ref - LOGMEL_MEAN) / LOGMEL_STD).max()
    print(f'librosa vs torchaudio normalised log-mel max abs diff: {diff:.2e}')
    assert diff < 1e-3


def test_logmel_shorter_than_window():
    logmel = LogMelExtractor()(np.zeros(300, np.float32))
    assert logmel.shape == (0, 80)
    clips = logmel_clips(logmel, np.array([[0.0, 0.5]]), 62.5)
    assert clips.shape == (1, 1, 128, 80)
    np.testing.assert_allclose(clips, SILENCE, rtol=0, atol=1e-5)


# --------------------------------------------------------------------------
# Decoding and time alignment


@pytest.mark.parametrize('source', ['stereo44k', 'mono8k', 'mono16k'])
def test_decode_any_source(tone_videos, source):
    info = tone_videos[source]
    wave, offset = decode_audio(info['path'], 16000)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) / 16000 - info['duration']) < 0.1
    assert abs(offset) < 1e-6
    # Mono mix of the channels (mean, as the reference): stereo is
    # 0.5 * (1 + 0.8) / 2 = 0.45 peak; RMS of a sine is peak / sqrt(2).
    expected_rms = 0.5 * (0.9 if info['channels'] == 2 else 1.0) / 2**0.5
    rms = np.sqrt(np.mean(wave[8000:24000]**2))
    assert abs(rms - expected_rms) < 0.02, rms


def test_decord_audio_backend_was_removed():
    """A config still naming the removed decord audio reader stops with
    the option and the reader it should use; the old positional backend
    argument of ``decode_audio`` is refused too."""
    with pytest.raises(ValueError, match=r"backend='decord'.*PyAV is the "
                       'only audio reader'):
        LoadAudioFromVideo(backend='decord')
    assert 'backend' not in repr(LoadAudioFromVideo(backend='pyav'))
    with pytest.raises(TypeError, match='PyAV is the only audio reader'):
        decode_audio('any.mp4', 16000, 'decord')


@pytest.mark.parametrize('source', ['stereo44k', 'mono8k'])
def test_alignment_by_content(tone_videos, source):
    """The clip covering seconds 2-4 holds the second tone only, the clip
    covering 0-1.9 s the first only, and a clip across the switch changes
    tone at the switch time."""
    path = tone_videos[source]['path']
    clip_after = np.arange(60, 121, 2)  # 2.0 s .. 4.0 s at 30 fps
    clip_before = np.arange(0, 61, 2) * 28 // 30  # 0.0 s .. 1.87 s
    clip_across = np.arange(30, 91, 2)  # 1.0 s .. 3.0 s, switch at 2.0 s
    frame_inds = np.concatenate([clip_after, clip_before, clip_across])
    results = decode_and_sample(path, frame_inds, 3)
    audios = results['audios']
    assert audios.shape == (3, 1, 128, 80)
    assert results['audio_valid'] is True
    assert high_tone_frames(audios[0, 0]).all()
    assert not high_tone_frames(audios[1, 0]).any()
    # 1 s .. 3 s over 128 frames: the switch (2 s) is at frame 63.5.
    switch = np.argmax(high_tone_frames(audios[2, 0]))
    assert high_tone_frames(audios[2, 0])[switch:].all()
    assert abs(switch - 63.5) <= 2, switch


def test_clips_at_start_and_end(tone_videos):
    info = tone_videos['mono16k']
    last = info['num_frames'] - 1
    frame_inds = np.concatenate(
        [np.arange(0, 57, 2),
         np.arange(last - 56, last + 1, 2)])
    audios = decode_and_sample(info['path'], frame_inds, 2)['audios']
    assert audios.shape == (2, 1, 128, 80)
    assert np.isfinite(audios).all()
    # Both clips lie inside the track: no silence padding.
    assert (audios.max(axis=-1) > SILENCE + 1).all()
    assert not high_tone_frames(audios[0, 0]).any()
    assert high_tone_frames(audios[1, 0]).all()


def test_audio_shorter_than_clip_is_padded_with_silence(short_audio_video):
    # Clip 0.5 s .. 2.5 s, audio ends at 1.0 s.
    audios = decode_and_sample(short_audio_video['path'],
                               np.arange(15, 76, 2), 1)['audios'][0, 0]
    frame_time = 0.5 + np.arange(128) * 2.0 / 127
    assert (audios[frame_time < 0.9].max(axis=-1) > SILENCE + 1).all()
    np.testing.assert_allclose(
        audios[frame_time > 1.1], SILENCE, rtol=0, atol=1e-4)


def test_single_frame_clip(tone_videos):
    audios = decode_and_sample(tone_videos['mono16k']['path'], [90], 1)
    spec = audios['audios'][0, 0]
    assert spec.shape == (128, 80)
    assert (spec == spec[0]).all()  # zero-length span: one frame repeated
    assert high_tone_frames(spec).all()


# --------------------------------------------------------------------------
# Hard negatives


def test_negative_is_far_same_track_and_clamped():
    total, gap, length = 400, 32, 133.0
    # Features whose value is their frame index reveal where a slice came
    # from.
    logmel = np.repeat(np.arange(total, dtype=np.float32)[:, None], 80, 1)
    rng = np.random.RandomState(0)
    for start in [0.0, 10.0, 150.0, 266.0]:
        spans = np.array([[start, start + length]]) / 62.5
        for _ in range(50):
            clips = logmel_clips(
                logmel, spans, 62.5, with_negative=True, negative_gap=gap,
                mean=0.0, std=1.0, rng=rng)
            assert clips.shape == (1, 2, 128, 80)
            pos, neg = clips[0, 0, :, 0], clips[0, 1, :, 0]
            assert pos[0] == math.floor(start)
            assert abs(neg[0] - pos[0]) >= gap - 1
            # Same track, same span length, inside the track.
            assert 0 <= neg[0] and neg[-1] <= total - 1
            assert abs((neg[-1] - neg[0]) - (pos[-1] - pos[0])) <= 1


def test_negative_when_track_is_too_short():
    for start in [0.0, 5.0, 20.0, 380.0]:
        neg = sample_negative_start(start, 30.0, 40, 32)
        assert abs(neg - start) >= 32


def test_negative_from_video(tone_videos):
    """Negative of the clip at 3-5 s comes from the same file, >= 0.5 s
    away: it differs from the positive but matches a slice of the same
    track."""
    path = tone_videos['mono8k']['path']
    results = dict(
        filename=path,
        frame_inds=np.arange(90, 151, 2, dtype=np.int32),
        num_clips=1,
        avg_fps=30.0)
    results = LoadAudioFromVideo().transform(results)
    track = LogMelExtractor()(decode_audio(path)[0])
    track = (track - LOGMEL_MEAN) / LOGMEL_STD
    np.random.seed(3)
    audios = AudioLogMelClips(with_negative=True).transform(results)['audios']
    assert audios.shape == (1, 2, 128, 80)
    neg = audios[0, 1]
    # Locate the negative's first frame in the full track.
    first = np.argmin(np.abs(track - neg[0]).max(axis=1))
    assert np.abs(track[first] - neg[0]).max() < 1e-5
    assert abs(first - 3.0 * 62.5) >= 32 - 1
    assert not np.allclose(neg, audios[0, 0])


@pytest.mark.parametrize('with_negative', [False, True])
def test_span_decode_equals_whole_track(tone_videos, with_negative):
    """The default (PyAV) path decodes only the clip / negative spans; its
    features equal the whole-track ones at the start, middle and end."""
    info = tone_videos['stereo44k']
    path, last = info['path'], info['num_frames'] - 1
    wave, offset = decode_audio(path)
    track = LogMelExtractor()(wave)
    starts = [0, last // 2 - 31, last - 62]
    frame_inds = np.concatenate([np.arange(s, s + 63, 2) for s in starts])
    spans = np.stack([[s / 30.0, (s + 62) / 30.0] for s in starts])
    for seed in range(3):
        results = dict(filename=path, frame_inds=frame_inds, num_clips=3,
                       avg_fps=30.0, start_index=0)
        results = LoadAudioFromVideo().transform(results)
        assert 'audio_waveform' not in results  # nothing decoded yet
        np.random.seed(seed)
        spanned = AudioLogMelClips(with_negative=with_negative).transform(
            results)['audios']
        np.random.seed(seed)
        whole = logmel_clips(track, spans, 62.5, offset,
                             with_negative=with_negative)
        assert spanned.shape == whole.shape == (
            3, 2 if with_negative else 1, 128, 80)
        assert np.abs(spanned - whole).max() < 1e-3


# --------------------------------------------------------------------------
# Multi-view test layout and packing


# 10 test clips of 4 frames at interval 2
TEN_CLIP_SAMPLING = [
    dict(type='DecordInit'),
    dict(
        type='SampleFrames',
        clip_len=4,
        frame_interval=2,
        num_clips=10,
        test_mode=True),
]


def test_ten_clips_three_crops_layout(tone_videos):
    from mmaction.models import MultiModalDataPreprocessor
    from mmengine.dataset import pseudo_collate
    path = tone_videos['mono16k']['path']
    np.random.seed(0)
    pipeline = [
        *TEN_CLIP_SAMPLING,
        dict(type='DecordDecode'),
        dict(type='LoadAudioFromVideo'),
        dict(type='AudioLogMelClips', with_negative=True),
        dict(type='Resize', scale=(-1, 32)),
        dict(type='ThreeCrop', crop_size=32),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='AlignAudioViews'),
        dict(
            type='PackActionInputs',
            collect_keys=('imgs', 'audios'),
            meta_keys=('img_shape', 'audio_valid')),
    ]
    packed = run_pipeline(pipeline, dict(filename=path, label=1,
                                         start_index=0, modality='RGB'))
    imgs, audios = packed['inputs']['imgs'], packed['inputs']['audios']
    assert tuple(imgs.shape) == (30, 3, 4, 32, 32)
    assert tuple(audios.shape) == (30, 2, 128, 80)
    assert packed['data_samples'].metainfo['audio_valid'] is True

    # Reference: the aligned audio of each temporal clip, computed alone.
    frame_inds = ten_clip_inds(path)
    per_clip = decode_and_sample(path, frame_inds, 10)['audios'][:, 0]
    for view in range(30):
        clip = view % 10  # FormatShape: view = crop * num_clips + clip
        np.testing.assert_allclose(
            audios[view, 0].numpy(), per_clip[clip], rtol=0, atol=1e-6)
    # The 3 crops share the audio (negatives included).
    assert torch.equal(audios[0], audios[10]) and torch.equal(
        audios[0], audios[20])
    # Temporal clips differ: early clips hold the low tone, late ones high.
    assert not high_tone_frames(per_clip[0]).any()
    assert high_tone_frames(per_clip[-1]).all()

    # MultiModalDataPreprocessor: video normalised, audio passed through.
    init_default_scope('mmaction')
    preproc = MultiModalDataPreprocessor(
        preprocessors=dict(
            imgs=dict(
                type='ActionDataPreprocessor',
                mean=[114.75] * 3,
                std=[57.375] * 3,
                format_shape='NCTHW'),
            audios=dict(type='ActionDataPreprocessor')))
    batch = preproc(pseudo_collate([packed, packed]), training=False)
    assert tuple(batch['inputs']['imgs'].shape) == (2, 30, 3, 4, 32, 32)
    assert tuple(batch['inputs']['audios'].shape) == (2, 30, 2, 128, 80)
    assert torch.equal(batch['inputs']['audios'][1], audios)


def ten_clip_inds(path):
    """The frame indices :data:`TEN_CLIP_SAMPLING` draws."""
    return run_pipeline(TEN_CLIP_SAMPLING,
                        dict(filename=path, start_index=0,
                             modality='RGB'))['frame_inds']


def test_align_views_errors_and_collapse():
    align = AlignAudioViews()
    audios = np.zeros((10, 1, 128, 80), np.float32)
    with pytest.raises(ValueError, match='cannot be paired'):
        align.transform(
            dict(imgs=np.zeros((25, 3, 4, 8, 8)), audios=audios,
                 num_clips=10))
    with pytest.raises(ValueError, match='num_clips'):
        align.transform(
            dict(imgs=np.zeros((30, 3, 4, 8, 8)), audios=audios,
                 num_clips=5))
    out = align.transform(
        dict(imgs=np.zeros((3, 4, 8, 8)), audios=audios[:1], num_clips=1))
    assert out['audios'].shape == (1, 128, 80)


def test_train_pipeline_flip_and_crop_leave_audio(tone_videos):
    path = tone_videos['stereo44k']['path']
    pipeline = [
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1),
        dict(type='DecordDecode'),
        dict(type='LoadAudioFromVideo'),
        dict(type='AudioLogMelClips', with_negative=True),
        dict(type='Resize', scale=(-1, 40)),
        dict(type='RandomResizedCrop'),
        dict(type='Resize', scale=(32, 32), keep_ratio=False),
        dict(type='Flip', flip_ratio=1.0),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='AlignAudioViews'),
        dict(type='PackActionInputs', collect_keys=('imgs', 'audios')),
    ]
    np.random.seed(1)
    packed = run_pipeline(pipeline, dict(filename=path, label=0,
                                         start_index=0, modality='RGB'))
    assert tuple(packed['inputs']['imgs'].shape) == (1, 3, 8, 32, 32)
    audios = packed['inputs']['audios']
    assert tuple(audios.shape) == (1, 2, 128, 80)
    np.random.seed(1)
    no_aug = run_pipeline(pipeline[:5], dict(filename=path, start_index=0,
                                             modality='RGB'))
    np.testing.assert_array_equal(audios[:, 0].numpy(),
                                  no_aug['audios'][:, 0])


# --------------------------------------------------------------------------
# Missing / unusable audio


def _silent_results(path):
    return dict(
        filename=path,
        frame_inds=np.arange(0, 32, 2, dtype=np.int32),
        num_clips=1,
        avg_fps=30.0)


def test_missing_audio_zeros(silent_video):
    results = LoadAudioFromVideo(on_missing_audio='zeros').transform(
        _silent_results(silent_video['path']))
    assert results['audio_valid'] is False
    audios = AudioLogMelClips(with_negative=True).transform(results)
    assert audios['audio_valid'] is False
    assert audios['audios'].shape == (1, 2, 128, 80)
    np.testing.assert_allclose(audios['audios'], SILENCE, rtol=0, atol=1e-5)


def test_missing_audio_error_names_file(silent_video):
    with pytest.raises(AudioDecodeError, match='no_audio.mp4.*no audio'):
        LoadAudioFromVideo(on_missing_audio='error').transform(
            _silent_results(silent_video['path']))


def test_missing_audio_skip_returns_none(silent_video, caplog):
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        out = LoadAudioFromVideo(on_missing_audio='skip').transform(
            _silent_results(silent_video['path']))
    finally:
        logger.removeHandler(handler)
    assert out is None
    assert any('no_audio.mp4' in r.getMessage() for r in records)


def test_bad_policy_is_rejected():
    with pytest.raises(ValueError, match='on_missing_audio'):
        LoadAudioFromVideo(on_missing_audio='ignore')


def test_skip_policy_refetches_in_video_dataset(tone_videos, silent_video,
                                                tmp_path):
    from mmaction.datasets import VideoDataset
    ann = tmp_path / 'ann.txt'
    ann.write_text(f"{silent_video['path']} 0\n"
                   f"{tone_videos['mono16k']['path']} 1\n")
    pipeline = [
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=1),
        dict(type='DecordDecode'),
        dict(type='LoadAudioFromVideo', on_missing_audio='skip'),
        dict(type='AudioLogMelClips'),
        dict(type='Resize', scale=(16, 16), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='AlignAudioViews'),
        dict(type='PackActionInputs', collect_keys=('imgs', 'audios')),
    ]
    init_default_scope('mmaction')
    dataset = VideoDataset(str(ann), pipeline, data_prefix=dict(video=''))
    for _ in range(3):
        sample = dataset[0]  # the silent video: another one is drawn
        assert sample['data_samples'].gt_label.item() == 1
        assert tuple(sample['inputs']['audios'].shape) == (1, 1, 128, 80)
    test_set = VideoDataset(
        str(ann), pipeline, data_prefix=dict(video=''), test_mode=True)
    with pytest.raises(Exception, match='None'):
        test_set[0]


def test_truncated_file(truncated_video):
    with pytest.raises(AudioDecodeError, match='truncated.mp4'):
        LoadAudioFromVideo(on_missing_audio='error').transform(
            _silent_results(truncated_video))
    out = LoadAudioFromVideo().transform(_silent_results(truncated_video))
    assert out['audio_valid'] is False
    # The video reader itself reports the corrupt file by path.
    with pytest.raises(Exception, match='truncated.mp4'):
        run_pipeline([dict(type='CheckedDecordInit')],
                     dict(filename=truncated_video, start_index=0,
                          modality='RGB'))


# --------------------------------------------------------------------------
# Augmentations


def test_gain_jitter_equals_scaled_waveform():
    rng = np.random.RandomState(0)
    wave = (rng.randn(16000) * 0.1).astype(np.float32)
    wave[8000:] = 0  # silence stays silence
    extractor = LogMelExtractor()
    spans = np.array([[0.0, 0.9]])
    base = logmel_clips(extractor(wave), spans, 62.5)
    gain_db = 6.0
    louder = logmel_clips(extractor(wave * 10**(gain_db / 20)), spans, 62.5)
    jitter = AudioGainJitter(prob=1.0, gain_db=(gain_db, gain_db))
    out = jitter.transform(dict(audios=base.copy()))['audios']
    assert np.abs(out - louder).max() < 1e-3
    assert np.abs(out - base).max() > 0.2


def test_time_and_freq_masks():
    audios = np.random.RandomState(0).randn(3, 2, 128, 80).astype(np.float32)
    np.random.seed(0)
    out = AudioTimeMask(prob=1.0, max_width=10).transform(
        dict(audios=audios.copy()))['audios']
    masked_t = (out == 0).all(axis=-1)  # [V, C, T]
    assert masked_t.any(axis=-1).all()
    assert (masked_t.sum(axis=-1) <= 10).all()
    np.testing.assert_array_equal(out[~masked_t], audios[~masked_t])
    out = AudioFreqMask(prob=1.0, max_width=5).transform(
        dict(audios=audios.copy()))['audios']
    masked_f = (out == 0).all(axis=2)  # [V, C, F]
    assert masked_f.any(axis=-1).all() and (masked_f.sum(-1) <= 5).all()
    untouched = AudioTimeMask(prob=0.0).transform(
        dict(audios=audios.copy()))['audios']
    np.testing.assert_array_equal(untouched, audios)
