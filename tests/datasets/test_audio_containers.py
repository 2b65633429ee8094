"""Audio of every container users have (mp4, mov, mkv, webm, avi, ts,
MPEG-PS, flv), each with its usual codecs, through
``LoadAudioFromVideo`` + ``AudioLogMelClips``, checked by content: a tone
switch lands on its log-mel frame and the clip starting at frame 0 of the
10-clip test sampling holds its tone (not silence)."""
import av
import numpy as np
import pytest
from conftest import HIGH_HZ, LOW_HZ, SWITCH_TIME
from test_audio_decoding import switch_frame
from test_audio_transforms import SILENCE, high_tone_frames

from mmaction.datasets.transforms import SampleFrames
from mmaction_avslowfast.audio import AudioDecodeError, AudioSpanReader
from mmaction_avslowfast.audio import span_reader as span_reader_module
from mmaction_avslowfast.datasets.transforms import (AudioLogMelClips,
                                                     LoadAudioFromVideo)
from mmaction_avslowfast.testing.synthetic_media import (truncate_file,
                                                       write_av_video)

# Log-mel frames of the 2-s clips of ``switch_frame`` per second.
FRAMES_PER_S = 128 / 2.0
# LAME's encoder delay (576 + 529 samples): AVI cannot signal it, so every
# FFmpeg-based reader hears MP3-in-AVI audio that late.
LAME_DELAY = 1105

# name -> (file name, write_av_video arguments, lateness in s). Stereo
# 44.1 kHz (Opus, Vorbis: 48 kHz); codecs by container unless given. The
# other containers state the encoder delay (edit list, CodecDelay, or an
# audio start before the video: ts, MPEG-PS, flv).
CONTAINERS = {
    'mp4': ('h264_aac.mp4', {}, 0.0),
    'mov': ('h264_aac.mov', {}, 0.0),
    'mkv': ('h264_aac.mkv', {}, 0.0),
    'webm': ('vp8_opus.webm', dict(sample_rate=48000), 0.0),
    'webm-vorbis': ('vp9_vorbis.webm',
                    dict(sample_rate=48000, video_codec='libvpx-vp9',
                         audio_codec='vorbis'), 0.0),
    'avi': ('mpeg4_mp3.avi', {}, LAME_DELAY / 44100),
    'ts': ('h264_aac.ts', {}, 0.0),
    'mpg': ('mpeg2_mp2.mpg', {}, 0.0),
    'vob': ('mpeg2_mp2.vob', dict(container_format='vob'), 0.0),
    'flv': ('flv1_mp3.flv', {}, 0.0),
    'flv-h264': ('h264_aac.flv',
                 dict(video_codec='libx264', audio_codec='aac'), 0.0),
}


def write(directory, name, sample_rate=44100, channels=2, **kwargs):
    return write_av_video(
        str(directory / name), duration=4.0, fps=30, size=(64, 48),
        tone_schedule=[(0.0, LOW_HZ), (SWITCH_TIME, HIGH_HZ)],
        sample_rate=sample_rate, channels=channels, **kwargs)


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    """4-s videos, 500 Hz then 2 kHz from ``SWITCH_TIME`` on."""
    directory = tmp_path_factory.mktemp('containers')
    videos = {name: write(directory, filename, **kwargs)
              for name, (filename, kwargs, _) in CONTAINERS.items()}
    videos['avi-late'] = write(directory, 'late.avi', audio_start=0.5)
    videos['mp4-5.1'] = write(directory, 'surround.mp4', channels=6)
    return videos


def test_writer_uses_the_codecs_of_each_container(media):
    expected = {
        'mp4': ('h264', 'aac'), 'mov': ('h264', 'aac'),
        'mkv': ('h264', 'aac'),
        'webm': ('vp8', 'opus'), 'webm-vorbis': ('vp9', 'vorbis'),
        'avi': ('mpeg4', 'mp3'), 'ts': ('h264', 'aac'),
        'mpg': ('mpeg2video', 'mp2'), 'vob': ('mpeg2video', 'mp2'),
        'flv': ('flv1', 'mp3'), 'flv-h264': ('h264', 'aac'),
        'mp4-5.1': ('h264', 'aac')
    }
    for name, codecs in expected.items():
        with av.open(media[name]['path']) as container:
            video, audio = container.streams.video[0], \
                container.streams.audio[0]
            assert (video.codec_context.codec.canonical_name,
                    audio.codec_context.codec.canonical_name) == codecs, name
            assert audio.codec_context.channels == (
                6 if name == 'mp4-5.1' else 2)


def ten_test_clips(path, num_frames=120, with_negative=True):
    """The 10-clip test sampling (32 frames, interval 2: clip 0 starts at
    frame 0), through both audio transforms. Returns the results and the
    video time span of each clip."""
    sampler = SampleFrames(clip_len=32, frame_interval=2, num_clips=10,
                           test_mode=True)
    results = sampler(dict(total_frames=num_frames, start_index=0))
    results.update(filename=path, avg_fps=30.0)
    np.random.seed(0)
    results = LoadAudioFromVideo().transform(results)
    results = AudioLogMelClips(with_negative=with_negative).transform(
        results)
    inds = results['frame_inds'].reshape(10, 32)
    return results, np.stack([inds[:, 0], inds[:, -1]], 1) / 30.0


def check_clip_tones(spec, span, switch_time, audio_start=0.0,
                     audio_end=np.inf):
    """Every log-mel frame of a clip holds the tone heard at its time, or
    silence outside ``[audio_start, audio_end]`` (frames within 50 ms of a
    change are not checked)."""
    times = np.linspace(span[0], span[1], len(spec))
    audible = (times > audio_start + 0.05) & (times < audio_end - 0.05)
    silent = (times < audio_start - 0.05) | (times > audio_end + 0.05)
    sure = audible & (np.abs(times - switch_time) > 0.05)
    assert (spec[audible].max(-1) > SILENCE + 1).all()
    np.testing.assert_array_equal(
        high_tone_frames(spec)[sure], (times > switch_time)[sure])
    np.testing.assert_allclose(spec[silent], SILENCE, rtol=0, atol=0.5)


@pytest.mark.parametrize('name', CONTAINERS)
def test_tone_switch_lands_on_its_frame(media, name):
    """The clip across the switch (1-3 s) changes tone at frame 63.5, in
    every container (one frame = 15.6 ms); MP3 in AVI is later by the
    encoder delay the container cannot signal (1.6 frames)."""
    late = CONTAINERS[name][2]
    switch = switch_frame(media[name]['path'], SWITCH_TIME)
    assert abs(switch - 63.5 - late * FRAMES_PER_S) <= 1, switch


@pytest.mark.parametrize('name', CONTAINERS)
def test_ten_test_clips_hold_their_tones(media, name):
    """The 10x3 test sampling: every clip, including the one that starts at
    frame 0 (the AVI seek to before the stream start was refused there, and
    the default policy silently turned it into silence), holds the tones
    heard at its frames."""
    results, spans = ten_test_clips(media[name]['path'])
    assert results['audio_valid'] is True
    assert spans[0, 0] == 0.0
    audios = results['audios']
    assert audios.shape == (10, 2, 128, 80)
    for spec, span in zip(audios[:, 0], spans):
        check_clip_tones(spec, span, SWITCH_TIME + CONTAINERS[name][2])


def test_avi_with_late_audio(media):
    """AVI cannot store stream start times: 0.5 s of late audio is written
    as leading silence, which reads as silence."""
    switch_time = 0.5 + SWITCH_TIME + LAME_DELAY / 44100
    path = media['avi-late']['path']
    assert abs(switch_frame(path, switch_time) - 63.5) <= 1
    results, spans = ten_test_clips(path)
    assert results['audio_valid'] is True
    for spec, span in zip(results['audios'][:, 0], spans):
        check_clip_tones(spec, span, switch_time, audio_start=0.5)


def test_writer_refuses_early_audio_in_avi(tmp_path):
    with pytest.raises(ValueError, match='AVI cannot start the video'):
        write(tmp_path, 'early.avi', audio_start=-0.4)


def test_surround_audio(media):
    """5.1 AAC: channels are mixed to mono (mean) and the tones land in
    time."""
    path = media['mp4-5.1']['path']
    assert abs(switch_frame(path, SWITCH_TIME) - 63.5) <= 1
    results, spans = ten_test_clips(path)
    assert results['audio_valid'] is True
    for spec, span in zip(results['audios'][:, 0], spans):
        check_clip_tones(spec, span, SWITCH_TIME)


def test_truncated_avi(media, tmp_path):
    """An AVI cut in half (no index) decodes up to the cut; one cut before
    its first audio packet is reported as an error naming the file."""
    src = media['avi']['path']
    half = truncate_file(src, str(tmp_path / 'half.avi'), 0.5)
    audio_end = AudioSpanReader(half).read_all().size / 44100
    assert 1.0 < audio_end < 2.0
    results, spans = ten_test_clips(half)
    assert results['audio_valid'] is True
    for spec, span in zip(results['audios'][:, 0], spans):
        check_clip_tones(spec, span, SWITCH_TIME, audio_end=audio_end)

    stub = truncate_file(src, str(tmp_path / 'stub.avi'), 0.05)
    with pytest.raises(AudioDecodeError, match='stub.avi'):
        results = dict(filename=stub, frame_inds=np.arange(0, 61, 2),
                       num_clips=1, avg_fps=30.0)
        results = LoadAudioFromVideo(
            on_missing_audio='error').transform(results)
        AudioLogMelClips().transform(results)


# --------------------------------------------------------------------------
# Seeking in AVI


@pytest.mark.parametrize('rate,channels,bit_rate', [
    (44100, 2, None),  # 128 kbit/s MPEG-1: 3 frames of preroll suffice
    (48000, 2, 32000),  # smallest MPEG-1 frames: 10 frames needed
    (22050, 1, 8000),  # MPEG-2 (576-sample frames): 16 frames needed
])
def test_avi_span_reads_equal_the_whole_track(tmp_path, rate, channels,
                                              bit_rate):
    """Regression: a read near the start asked the AVI demuxer for a
    timestamp before the stream start, which it refuses (EPERM). Reads
    anywhere, from sample 0 on, equal a whole-track decode exactly (MP3
    frames need enough preroll for their bit reservoir), and the track
    length read from the last packets equals the decoded one."""
    path = write(tmp_path, 'mp3.avi', sample_rate=rate, channels=channels,
                 audio_bit_rate=bit_rate)['path']
    reader = AudioSpanReader(path)
    whole = reader.read_all()
    assert reader.seekable and reader.num_samples() == whole.size
    container = reader._container
    for first in list(range(0, 6000, 997)) + list(
            range(6000, whole.size, 4513)):
        wave, start = reader.read(first, first + 3000)
        assert start <= first
        assert wave.size == min(first + 3000, whole.size) - start
        np.testing.assert_array_equal(wave, whole[start:start + wave.size])
    assert reader._container is container  # seeks, does not reopen
    reader.close()


class _RefusingSeeks:
    """An input container whose demuxer refuses every seek (EPERM)."""

    def __init__(self, container):
        self._container = container
        self.seeks = 0

    def __getattr__(self, name):
        return getattr(self._container, name)

    def seek(self, *args, **kwargs):
        self.seeks += 1
        raise av.error.PermissionError(1, 'Operation not permitted')


def test_reads_when_the_demuxer_refuses_every_seek(media, monkeypatch):
    """If even the stream start is refused, the file is reopened and
    decoded from its first packet: the samples are still right."""
    path = media['mp4']['path']
    whole = AudioSpanReader(path).read_all()
    real_open = span_reader_module.open_for_audio
    opened = []

    def refusing_open(*args):
        container, fast = real_open(*args)
        opened.append(_RefusingSeeks(container))
        return opened[-1], fast

    monkeypatch.setattr(span_reader_module, 'open_for_audio', refusing_open)
    reader = AudioSpanReader(path)
    for first in (0, 50000, 120000):
        wave, start = reader.read(first, first + 5000)
        np.testing.assert_array_equal(wave, whole[start:start + wave.size])
        assert start <= first < start + wave.size
    assert sum(c.seeks for c in opened) >= 3 and len(opened) >= 4
