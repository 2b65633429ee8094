"""Audio decoding details behind the online pipeline: containers whose
audio and video start at different times, the short stream probe for mp4,
its fallbacks, the fast resampler and batched log-mel."""
import shutil

import numpy as np
import pytest
import torch
import torchaudio
from conftest import HIGH_HZ, LOW_HZ, SWITCH_TIME
from test_audio_transforms import decode_and_sample, high_tone_frames

from mmaction_avslowfast.datasets.transforms import (AudioLogMelClips,
                                                     LoadAudioFromVideo,
                                                     LogMelExtractor)
from mmaction_avslowfast.audio import (
    AudioSpanReader, WaveformResampler)
from mmaction_avslowfast.testing.synthetic_media import write_av_video

# (container format, extension): mp4/mov take the short probe, MPEG-TS a
# probe without video decoding, Matroska is probed fully.
CONTAINERS = [(None, 'mp4'), (None, 'mov'), ('matroska', 'mkv'),
              ('mpegts', 'ts')]
AUDIO_STARTS = [0.5, -0.4]  # audio starts 0.5 s after / 0.4 s before video


@pytest.fixture(scope='session')
def offset_videos(media_dir):
    """4-s stereo 44.1 kHz videos whose audio starts before or after the
    video, in several containers. The tone switches at ``SWITCH_TIME`` of
    audio-track time, i.e. at ``audio_start + SWITCH_TIME`` of video time.
    """
    videos = {}
    for fmt, ext in CONTAINERS:
        for start in AUDIO_STARTS:
            videos[(ext, start)] = write_av_video(
                str(media_dir / f'offset_{start:+.1f}.{ext}'),
                duration=4.0,
                fps=30,
                tone_schedule=[(0.0, LOW_HZ), (SWITCH_TIME, HIGH_HZ)],
                sample_rate=44100,
                channels=2,
                audio_start=start,
                container_format=fmt)
    return videos


def switch_frame(path, switch_time):
    """Index (of 128) where the high tone starts in the clip covering
    ``switch_time`` +- 1 s (video time, 30 fps): 63.5 when aligned."""
    first = int(round((switch_time - 1.0) * 30))
    frame_inds = np.arange(first, first + 61, 2)
    audios = decode_and_sample(path, frame_inds, 1)['audios']
    high = high_tone_frames(audios[0, 0])
    switch = int(np.argmax(high))
    assert high[switch:].all() and not high[:switch].any()
    return switch


@pytest.mark.parametrize('container', [ext for _, ext in CONTAINERS])
@pytest.mark.parametrize('audio_start', AUDIO_STARTS)
def test_alignment_when_audio_and_video_start_apart(offset_videos,
                                                    container, audio_start):
    """The tone switch lands where it is heard in video time, for audio
    that starts after or before the video, in every container. (One of the
    128 frames = 16.7 ms; without the stream start times the error would
    be 0.4-0.5 s = 24-30 frames.)"""
    info = offset_videos[(container, audio_start)]
    switch = switch_frame(info['path'], audio_start + SWITCH_TIME)
    assert abs(switch - 63.5) <= 1, switch


def reader_state(reader):
    return (reader.native_rate, reader.channels, reader.offset,
            reader._start_pts, reader._stream.duration,
            reader._stream.time_base, reader.num_samples())


def full_probe_reader(path):
    reader = AudioSpanReader(path)
    reader._open(fast_probe=False)
    return reader


@pytest.mark.parametrize('container', [ext for _, ext in CONTAINERS])
def test_short_probe_reads_the_same_stream_parameters(offset_videos,
                                                      container):
    for start in AUDIO_STARTS:
        path = offset_videos[(container, start)]['path']
        reader = AudioSpanReader(path)
        assert reader._fast_probe == (container in ('mp4', 'mov', 'ts'))
        if reader.seekable:
            assert reader_state(reader) == reader_state(
                full_probe_reader(path))
        else:  # Matroska without a stream duration: whole-track decoding
            assert reader.offset == pytest.approx(
                full_probe_reader(path).offset)
        reader.close()


@pytest.mark.parametrize('video_codec', ['libvpx', 'libvpx-vp9'])
def test_webm_probe_without_video_decoders(tmp_path, video_codec):
    """WebM (VP8 / VP9) is probed with audio decoders only and reads the
    full probe's stream parameters, audio early or late; H.264 in Matroska
    is probed fully (without decoding, its video start would be lost)."""
    for start in AUDIO_STARTS:
        path = write_av_video(
            str(tmp_path / f'{start}.webm'), duration=2.0, fps=30,
            tone_schedule=[(0.0, LOW_HZ)], sample_rate=48000, channels=2,
            audio_start=start, video_codec=video_codec)['path']
        reader = AudioSpanReader(path)
        assert reader._fast_probe
        full = full_probe_reader(path)
        assert reader.offset == pytest.approx(start, abs=0.02)
        assert (reader.offset, reader.native_rate, reader.channels,
                reader._start_pts) == (full.offset, full.native_rate,
                                       full.channels, full._start_pts)
        np.testing.assert_array_equal(reader.read_all(), full.read_all())
    h264 = write_av_video(
        str(tmp_path / 'h264.webm'), duration=2.0, fps=30,
        tone_schedule=[(0.0, LOW_HZ)], sample_rate=44100, channels=2,
        audio_start=0.5, container_format='matroska')['path']
    reader = AudioSpanReader(h264)
    assert not reader._fast_probe
    assert reader.offset == pytest.approx(0.5, abs=0.02)


def test_misnamed_matroska_file_is_probed_fully(offset_videos, tmp_path):
    """A Matroska file named .mp4 is detected after opening and probed
    fully (the short probe would misread its video start time)."""
    src = offset_videos[('mkv', 0.5)]['path']
    path = str(tmp_path / 'actually_matroska.mp4')
    shutil.copy(src, path)
    reader = AudioSpanReader(path)
    assert not reader._fast_probe
    assert reader.offset == pytest.approx(0.5, abs=1e-3)
    assert abs(switch_frame(path, 0.5 + SWITCH_TIME) - 63.5) <= 1


def test_header_rate_contradicted_by_decoder_reopens(tone_videos,
                                                     monkeypatch):
    """When a decoded frame contradicts the short probe's header (HE-AAC
    headers state half the output rate), the reader reopens with the full
    probe and the features are those of a correct header."""
    path = tone_videos['stereo44k']['path']
    frame_inds = np.concatenate([np.arange(60, 121, 2), np.arange(0, 61, 2)])

    def clips():
        np.random.seed(3)
        results = LoadAudioFromVideo().transform(
            dict(filename=path, frame_inds=frame_inds, num_clips=2,
                 avg_fps=30.0, start_index=0))
        return AudioLogMelClips(with_negative=True).transform(
            results)['audios']

    expected = clips()
    whole = AudioSpanReader(path).read_all()
    real_open = AudioSpanReader._open
    reopened = []

    def lying_header(self, fast_probe):
        real_open(self, fast_probe)
        if self._fast_probe:
            self.native_rate //= 2
        else:
            reopened.append(self.path)

    monkeypatch.setattr(AudioSpanReader, '_open', lying_header)
    np.testing.assert_array_equal(clips(), expected)
    assert reopened == [path]
    reader = AudioSpanReader(path)
    assert reader.native_rate == 22050  # the lie, until a frame is decoded
    np.testing.assert_array_equal(reader.read_all(), whole)
    assert reader.native_rate == 44100


@pytest.mark.parametrize('source', ['stereo44k', 'mono8k', 'mono16k'])
def test_track_length_from_packets_equals_decoded_length(tone_videos,
                                                         offset_videos,
                                                         source):
    paths = [tone_videos[source]['path']] + [
        offset_videos[(ext, start)]['path'] for ext in ('mp4', 'ts')
        for start in AUDIO_STARTS
    ]
    for path in paths:
        reader = AudioSpanReader(path)
        end = reader._sample_index(reader._start_pts +
                                   reader._stream.duration)
        assert reader.num_samples() == reader._decoded_end(end)
        assert reader.num_samples() == reader.read_all().size
        # mp4: from the sample index read with the header, without a seek
        indexed = reader._indexed_end(end)
        assert (indexed is not None) == path.endswith('.mp4')
        assert indexed in (None, reader.num_samples())


@pytest.mark.parametrize('orig_sr', [44100, 48000, 22050, 8000, 11025,
                                     96000, 16000])
def test_resampler_equals_torchaudio(orig_sr):
    rng = np.random.RandomState(orig_sr)
    resampler = WaveformResampler(orig_sr, 16000)
    waves = [rng.randn(n).astype(np.float32)
             for n in (1, 7, 441, 1000, 12345, 96001)]
    batched = resampler.batch(waves)
    for wave, together in zip(waves, batched):
        expected = torchaudio.functional.resample(
            torch.from_numpy(wave), orig_sr, 16000).numpy()
        alone = resampler(wave)
        assert alone.shape == together.shape == expected.shape
        np.testing.assert_allclose(alone, expected, rtol=0, atol=2e-6)
        np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    assert resampler(np.zeros(0, np.float32)).size == 0


def test_logmel_batch_equals_single_calls():
    rng = np.random.RandomState(0)
    extractor = LogMelExtractor()
    waves = [rng.randn(n).astype(np.float32) for n in (300, 512, 4000, 35000)]
    for wave, together in zip(waves, extractor.batch(waves)):
        alone = extractor(wave)
        assert together.shape == alone.shape
        np.testing.assert_allclose(together, alone, rtol=0, atol=1e-4)


def test_frame_collector_mean_survives_layout_changes():
    """Decoded frames are averaged over channels; a stream whose layout,
    sample format or rate changes mid-way is still averaged frame by
    frame."""
    import av
    from mmaction_avslowfast.audio.span_reader import _FrameCollector

    def frame(array, fmt, layout, rate=44100):
        f = av.AudioFrame.from_ndarray(array, format=fmt, layout=layout)
        f.sample_rate = rate
        return f

    rng = np.random.RandomState(0)
    stereo = rng.uniform(-1, 1, (2, 1024)).astype(np.float32)
    mono = rng.uniform(-1, 1, (1, 512)).astype(np.float32)
    ints = (rng.uniform(-1, 1, (1, 2 * 256)) * 32767).astype(np.int16)
    collector = _FrameCollector()
    collector.add(frame(stereo, 'fltp', 'stereo'))
    collector.add(frame(stereo[:, ::-1].copy(), 'fltp', 'stereo'))
    collector.add(frame(mono, 'fltp', 'mono'))
    collector.add(frame(ints, 's16', 'stereo'))  # packed L R L R ...
    packed = ints.reshape(-1, 2).T.astype(np.float32) / 32767
    expected = np.concatenate([
        stereo.mean(0), stereo[:, ::-1].mean(0), mono[0], packed.mean(0)])
    np.testing.assert_allclose(collector.mono(), expected, atol=1e-6)
    only_stereo = _FrameCollector()
    only_stereo.add(frame(stereo, 'fltp', 'stereo'))
    np.testing.assert_allclose(only_stereo.mono(), stereo.mean(0),
                               atol=1e-7)


def test_fragmented_mp4_short_probe_gives_the_full_probe_features(media_dir):
    """Fragmented mp4 (no sample tables in ``moov``; the short probe reads
    a different stream duration) still yields the features of a fully
    probed file."""
    path = write_av_video(
        str(media_dir / 'fragmented.mp4'), duration=4.0, fps=30,
        tone_schedule=[(0.0, LOW_HZ), (SWITCH_TIME, HIGH_HZ)],
        sample_rate=44100, channels=2,
        container_options={'movflags': 'frag_keyframe+empty_moov'})['path']
    frame_inds = np.concatenate([np.arange(0, 61, 2), np.arange(50, 111, 2)])

    def clips(fast_probe):
        np.random.seed(0)
        results = dict(filename=path, frame_inds=frame_inds, num_clips=2,
                       avg_fps=30.0, start_index=0)
        results = LoadAudioFromVideo().transform(results)
        if not fast_probe:
            results['audio_reader']._open(fast_probe=False)
        assert results['audio_reader']._fast_probe == fast_probe
        return AudioLogMelClips(with_negative=True).transform(
            results)['audios']

    np.testing.assert_array_equal(clips(True), clips(False))
    # Such a file has no edit list, so nothing tells a decoder to drop the
    # encoder's 1024 priming samples: the audio is 23 ms (1.4 frames) late
    # for any FFmpeg-based reader (PyAV and decord both read it so).
    assert abs(switch_frame(path, SWITCH_TIME) - 63.5 - 1.4) <= 1
