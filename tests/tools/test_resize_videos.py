"""tools/data/resize_videos.py: resized videos keep their audio, in sync.

Every output is checked by content against its source, both decoded with
PyAV: short side == --scale with the aspect kept, the same frames at the
same times, the tone switch (440 Hz -> 1760 Hz, found in the decoded
waveform) within 15 ms of the source's, the audio duration and its start
relative to the video kept, 5.1 kept 6 channels. Tiny media (96x72, 2 s).
"""
import contextlib
import io
import os
import os.path as osp

import av
import numpy as np
import pytest
from tool_helpers import load_tool

from mmaction_avslowfast.audio import AudioSpanReader
from mmaction_avslowfast.testing.synthetic_media import (truncate_file,
                                                       write_av_video)

rv = load_tool('data/resize_videos.py')
transcode = load_tool('data/av_transcode.py')

LOW_HZ, HIGH_HZ, SWITCH = 440.0, 1760.0, 1.0
SCALE = 64
SYNC_TOLERANCE = 0.015  # s, tone switch of the output vs the source
# Audio duration: a re-encode may pad the end up to one codec frame
# (AAC: 1024 samples, 64 ms at 16 kHz).
DURATION_TOLERANCE = 0.07


def make(path, **kwargs):
    """A 2-s 96x72 video: 440 Hz, then 1760 Hz from 1.0 s (audio time)."""
    args = dict(duration=2.0, fps=30, size=(96, 72),
                tone_schedule=[(0.0, LOW_HZ), (SWITCH, HIGH_HZ)])
    args.update(kwargs)
    return write_av_video(str(path), **args)


def _envelope(wave, rate, freq, width):
    t = np.arange(len(wave)) / rate
    analytic = wave * np.exp(-2j * np.pi * freq * t)
    return np.abs(np.convolve(analytic, np.ones(width) / width, 'same'))


def tone_switch(wave, rate):
    """Time (s from the first sample) where the 1760 Hz tone takes over
    from the 440 Hz one: the crossing of their 20-ms envelopes just
    before the first point where the high tone clearly dominates
    (sub-sample by linear interpolation)."""
    width = int(round(0.02 * rate))
    diff = (_envelope(wave, rate, HIGH_HZ, width) -
            _envelope(wave, rate, LOW_HZ, width))
    i = int(np.argmax(diff > 0.5 * diff.max())) - 1
    while i > 0 and diff[i] >= 0:
        i -= 1
    return (i + diff[i] / (diff[i] - diff[i + 1])) / rate


def frame_times(container, vstream, frames):
    """Frame times (s) from the first frame. AVI stores no presentation
    times: a frame is shown at its chunk index (FFmpeg's reader guesses
    H.264-in-AVI timestamps one frame late), so there the packets' dts."""
    start = float((vstream.start_time or 0) * vstream.time_base)
    if container.format.name == 'avi':
        container.seek(0)
        return np.array([float(p.dts * p.time_base) - start
                         for p in container.demux(vstream) if p.size])
    return np.array([float(f.pts * f.time_base) - start for f in frames])


def measure(path):
    """What a reader gets from ``path``, decoded with PyAV."""
    with av.open(str(path)) as container:
        vstream = container.streams.video[0]
        frames = list(container.decode(vstream))
        info = dict(
            width=frames[0].width, height=frames[0].height,
            video_codec=vstream.codec_context.name,
            video_start=float((vstream.start_time or 0) *
                              vstream.time_base),
            times=frame_times(container, vstream, frames),
            keyframes=[i for i, f in enumerate(frames) if f.key_frame],
            audio=None)
        if container.streams.audio:
            astream = container.streams.audio[0]
            info.update(audio=astream.codec_context.codec.canonical_name,
                        channels=astream.codec_context.channels)
    if info['audio']:
        reader = AudioSpanReader(str(path))
        try:
            wave, rate, offset = (reader.read_all(), reader.native_rate,
                                  reader.offset)
        finally:
            reader.close()
        info.update(offset=offset, audio_duration=len(wave) / rate,
                    switch=offset + tone_switch(wave, rate), rate=rate)
    return info


def assert_resized(src, dst, scale=SCALE, audio=True):
    """``dst`` is ``src`` at short side ``scale`` with the same frames,
    frame times and audio (switch, duration, start, channels)."""
    before, after = measure(src), measure(dst)
    w0, h0, w1, h1 = (before['width'], before['height'], after['width'],
                      after['height'])
    assert min(w1, h1) == scale, (w1, h1)
    assert (w1 > h1) == (w0 > h0)
    assert w1 % 2 == 0 and h1 % 2 == 0
    assert abs(w1 / h1 - w0 / h0) <= 2 / scale + 1e-9  # even rounding
    assert len(after['times']) == len(before['times'])
    np.testing.assert_allclose(after['times'], before['times'], atol=1e-3)
    if not audio:
        assert after['audio'] is None
        return before, after
    assert after['audio'] is not None, 'the audio stream was dropped'
    assert abs(after['switch'] - before['switch']) <= SYNC_TOLERANCE, (
        before['switch'], after['switch'])
    assert abs(after['offset'] - before['offset']) <= SYNC_TOLERANCE
    assert abs(after['audio_duration'] -
               before['audio_duration']) <= DURATION_TOLERANCE
    assert after['channels'] == before['channels']
    print(f'resize: {osp.basename(str(src))} -> {osp.basename(str(dst))} '
          f'({after["video_codec"]} + {after["audio"]}): short side '
          f'{min(w0, h0)} -> {min(w1, h1)}, tone switch '
          f'{1e3 * before["switch"]:.1f} -> {1e3 * after["switch"]:.1f} ms, '
          f'audio {before["audio_duration"]:.3f} -> '
          f'{after["audio_duration"]:.3f} s')
    return before, after


def run(src, out, *extra, workers=1):
    return rv.main([str(src), str(out), '--scale', str(SCALE),
                    '--num-worker', str(workers), *extra])


@pytest.fixture(scope='module')
def mp4_run(tmp_path_factory):
    """A level-2 mp4 folder (AAC, late audio, 5.1, portrait, no audio, and
    three files that are no videos) resized with 2 workers."""
    root = tmp_path_factory.mktemp('mp4')
    src, out = root / 'src', root / 'out'
    make(src / 'a' / 'aac.mp4')
    make(src / 'a' / 'late.mp4', audio_start=0.5)
    make(src / 'a' / 'surround.mp4', channels=6, sample_rate=48000)
    make(src / 'b' / 'portrait.mp4', size=(72, 96), sample_rate=44100,
         channels=2)
    make(src / 'b' / 'silent.mp4', with_audio=False)
    truncate_file(str(src / 'a' / 'aac.mp4'), str(src / 'b' /
                                                 'truncated.mp4'))
    (src / 'b' / 'text.mp4').write_text('not a video\n')
    (src / 'b' / 'empty.mp4').write_bytes(b'')
    return src, out


@pytest.fixture(scope='module')
def mp4_done(mp4_run):
    src, out = mp4_run
    # the summary is read by the tests below
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(
            stderr):
        code = run(src, out, workers=2)
    return src, out, code, stdout.getvalue()


def test_mp4_aac_copied_in_sync(mp4_done):
    src, out = mp4_done[:2]
    assert_resized(src / 'a' / 'aac.mp4', out / 'a' / 'aac.mp4')
    assert measure(out / 'a' / 'aac.mp4')['audio'] == 'aac'
    assert 'audio copied: 4, re-encoded: 0' in mp4_done[3]


def test_late_audio_stays_late(mp4_done):
    src, out = mp4_done[:2]
    before, after = assert_resized(src / 'a' / 'late.mp4',
                                   out / 'a' / 'late.mp4')
    assert after['offset'] > 0.4 and after['switch'] > 1.4


def test_surround_keeps_six_channels(mp4_done):
    src, out = mp4_done[:2]
    _, after = assert_resized(src / 'a' / 'surround.mp4',
                              out / 'a' / 'surround.mp4')
    assert after['channels'] == 6


def test_portrait_short_side_is_the_width(mp4_done):
    src, out = mp4_done[:2]
    _, after = assert_resized(src / 'b' / 'portrait.mp4',
                              out / 'b' / 'portrait.mp4')
    assert (after['width'], after['height']) == (64, 86)


def test_no_audio_converted_and_named(mp4_done):
    src, out, code, text = mp4_done
    assert_resized(src / 'b' / 'silent.mp4', out / 'b' / 'silent.mp4',
                   audio=False)
    assert 'without an audio stream (converted, silent): 1\n  ' \
           'b/silent.mp4' in text


def test_broken_files_listed_with_reasons_others_converted(mp4_done):
    src, out, code, text = mp4_done
    assert code == 0  # some failed, the run went through
    assert 'converted: 5 ' in text and 'failed: 3' in text
    assert 'b/empty.mp4: empty file' in text
    assert 'b/text.mp4: cannot open as a video' in text
    assert 'b/truncated.mp4: cannot open as a video' in text
    for name in ('empty', 'text', 'truncated'):
        assert not (out / 'b' / f'{name}.mp4').exists()
    # nothing left behind under a temporary name
    assert not [n for _, _, names in os.walk(out) for n in names
                if rv.TMP_INFIX in n]


def test_all_failed_exits_1_and_nothing_found_exits_0(tmp_path, capsys):
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'x.mp4').write_text('no video')
    assert run(src, tmp_path / 'out', '--level', '1') == 1
    capsys.readouterr()
    # an extension (here a level) the set does not have: nothing to do
    assert run(src, tmp_path / 'out', '--level', '2') == 0
    assert 'nothing to convert: no *.mp4 file at level 2' in \
        capsys.readouterr().out


def test_avi_mp3_to_mp4_copies_mp3(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'out'
    make(src / 'c' / 'clip.avi', sample_rate=44100, channels=2)
    assert run(src, out, '--ext', 'avi', '--to-mp4') == 0
    assert_resized(src / 'c' / 'clip.avi', out / 'c' / 'clip.mp4')
    assert measure(out / 'c' / 'clip.mp4')['audio'] == 'mp3'


def test_avi_to_avi(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'out'
    make(src / 'clip.avi', sample_rate=44100)
    assert run(src, out, '--ext', 'avi', '--level', '1') == 0
    _, after = assert_resized(src / 'clip.avi', out / 'clip.avi')
    assert after['video_codec'] == 'h264' and after['audio'] == 'mp3'


def test_vorbis_webm_to_mp4_reencodes_aac(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'out'
    make(src / 'clip.webm', sample_rate=48000, channels=2,
         video_codec='libvpx-vp9', audio_codec='vorbis')
    assert run(src, out, '--ext', 'webm', '--level', '1', '--to-mp4') == 0
    before, after = assert_resized(src / 'clip.webm', out / 'clip.mp4')
    assert after['audio'] == 'aac' and after['rate'] == before['rate']


def test_opus_webm_to_webm_copied(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'out'
    # (a VP9 source: libvpx's VP8 takes 2 s for these 60 frames)
    make(src / 'clip.webm', sample_rate=48000, video_codec='libvpx-vp9')
    assert run(src, out, '--ext', 'webm', '--level', '1') == 0
    _, after = assert_resized(src / 'clip.webm', out / 'clip.webm')
    assert (after['video_codec'], after['audio']) == ('vp9', 'opus')


@pytest.mark.parametrize('name,kwargs', [
    ('aac16k_late.mp4', dict(audio_start=0.5)),
    ('surround.mp4', dict(channels=6, sample_rate=48000)),
])
def test_mp4_to_webm_vp9_opus(tmp_path, name, kwargs):
    """Not reachable from the command line (the output container follows
    --ext), but the same code path: AAC re-encoded as 48 kHz Opus."""
    src = make(tmp_path / name, **kwargs)['path']
    dst = str(tmp_path / 'out.webm')
    info = transcode.convert_video(src, dst, SCALE)
    assert info['audio'].startswith('aac -> opus')
    _, after = assert_resized(src, dst)
    assert (after['video_codec'], after['audio']) == ('vp9', 'opus')


def test_mkv_to_mkv(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'out'
    make(src / 'k' / 'clip.mkv', sample_rate=44100, channels=2,
         audio_start=0.25)
    assert run(src, out, '--ext', 'mkv') == 0
    _, after = assert_resized(src / 'k' / 'clip.mkv', out / 'k' / 'clip.mkv')
    assert after['audio'] == 'aac' and after['offset'] > 0.2


@pytest.mark.parametrize('ext', ['mp4', 'mkv'])
def test_audio_before_the_video(tmp_path, ext):
    """A Matroska source whose video starts 0.3 s after its audio: so
    does the output's (the audio at 0; copied into mkv, re-encoded as AAC
    into mp4), none of the audio is cut."""
    src = make(tmp_path / 'early.mkv', audio_start=-0.3,
               audio_codec='vorbis', sample_rate=48000,
               channels=2)['path']
    dst = str(tmp_path / f'out.{ext}')
    transcode.convert_video(src, dst, SCALE)
    before, after = assert_resized(src, dst)
    assert before['video_start'] > 0.25 and after['offset'] < -0.25


def test_pcm_into_mp4_is_reencoded(tmp_path):
    """FFmpeg writes PCM into mp4 as 'ipcm', which decord's FFmpeg 4.1
    cannot read: re-encoded as AAC instead."""
    src = make(tmp_path / 'pcm.mkv', audio_codec='pcm_s16le')['path']
    dst = str(tmp_path / 'pcm.mp4')
    assert transcode.convert_video(src, dst, SCALE)['audio'] == \
        'pcm_s16le -> aac'
    assert_resized(src, dst)


def test_rotated_source_is_turned_upright(tmp_path):
    """A landscape stream with a 90-degree display rotation comes out
    portrait, its pixels turned as ffmpeg's autorotate turns them."""
    from fractions import Fraction

    from mmaction_avslowfast.testing.synthetic_media import frame_image
    src = str(tmp_path / 'rotated.mp4')
    with av.open(src, 'w') as container:
        stream = container.add_stream('libx264', rate=30)
        stream.width, stream.height, stream.pix_fmt = 96, 72, 'yuv420p'
        stream.options = {'crf': '10'}
        stream.set_display_rotation(90)
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(
                frame_image(i, (96, 72)), format='rgb24')
            frame.pts, frame.time_base = i, Fraction(1, 30)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    dst = str(tmp_path / 'out.mp4')
    assert transcode.convert_video(src, dst, 48)['size'] == (48, 64)
    with av.open(dst) as container:
        out = next(container.decode(video=0)).to_ndarray(format='gray')
    upright = np.ascontiguousarray(np.rot90(frame_image(0, (96, 72)), 1))
    small = av.VideoFrame.from_ndarray(upright, format='rgb24').reformat(
        48, 64).to_ndarray(format='gray').astype(float)
    wrong = np.rot90(small, 2)
    err = np.abs(out - small).mean()
    assert err < np.abs(out - wrong).mean() and err < 12


def test_dense_sets_a_keyframe_every_16_frames(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'out'
    make(src / 'clip.mp4', duration=2.0)
    assert run(src, out, '--level', '1', '--dense') == 0
    assert measure(out / 'clip.mp4')['keyframes'] == [0, 16, 32, 48]


def test_remove_dup_refused(tmp_path, capsys):
    assert 'mpdecimate' not in av.filter.filters_available
    assert run(tmp_path, tmp_path / 'out', '--remove-dup') == 2
    err = capsys.readouterr().err
    assert '--remove-dup' in err and 'mpdecimate' in err


def test_resume_after_a_killed_run(tmp_path, monkeypatch, capsys):
    """A run killed while writing leaves only its temporary file, which
    is not taken as finished; the next run converts that video and skips
    the finished one."""
    src, out = tmp_path / 'src', tmp_path / 'out'
    make(src / 'done.mp4')
    make(src / 'killed.mp4', color_seed=1)
    assert run(src, out, '--level', '1') == 0
    finished = (out / 'done.mp4').read_bytes()
    os.remove(out / 'killed.mp4')

    real_convert = transcode.convert_video

    def killed_while_writing(src_path, dst_path, *args, **kwargs):
        with open(dst_path, 'wb') as f:
            f.write(b'\0' * 1000)  # half-written
        raise KeyboardInterrupt  # not caught: the run dies

    monkeypatch.setattr(rv, 'convert_video', killed_while_writing)
    with pytest.raises(KeyboardInterrupt):
        run(src, out, '--level', '1')
    assert not (out / 'killed.mp4').exists()
    assert (out / rv.temp_path('killed.mp4')).exists()

    monkeypatch.setattr(rv, 'convert_video', real_convert)
    capsys.readouterr()
    assert run(src, out, '--level', '1') == 0
    text = capsys.readouterr().out
    assert 'converted: 1 ' in text and 'skipped (already done): 1' in text
    assert (out / 'done.mp4').read_bytes() == finished
    assert not (out / rv.temp_path('killed.mp4')).exists()
    assert_resized(src / 'killed.mp4', out / 'killed.mp4')


def test_scaled_size_matches_ffmpeg_rounding():
    assert transcode.scaled_size(340, 256, 256) == (340, 256)
    assert transcode.scaled_size(1280, 720, 256) == (456, 256)  # 455.1 -> 456
    assert transcode.scaled_size(720, 1280, 256) == (256, 456)
    assert transcode.scaled_size(480, 480, 256) == (256, 256)
    assert transcode.scaled_size(96, 72, 64) == (86, 64)  # 85.3 -> 86 (even)


def test_same_arguments_as_mmaction2():
    """Drop-in: the options (and their defaults) of MMAction2's script."""
    import re
    import subprocess
    import sys

    import mmaction
    theirs = osp.join(osp.dirname(mmaction.__file__), '.mim', 'tools',
                      'data', 'resize_videos.py')
    if not osp.isfile(theirs):
        pytest.skip('MMAction2\'s resize_videos.py is not installed')
    with open(theirs) as f:
        names = set(re.findall(r"add_argument\(\s*'([\w-]+)'", f.read()))
    ours = subprocess.run(
        [sys.executable, osp.join(osp.dirname(rv.__file__),
                                  'resize_videos.py'), '--help'],
        capture_output=True, text=True, check=True).stdout
    assert names == {'src_dir', 'out_dir', '--dense', '--level',
                     '--remove-dup', '--ext', '--to-mp4', '--scale',
                     '--num-worker'}
    for name in names:
        assert name in ours
    args = rv.parse_args(['s', 'o'])
    assert (args.level, args.ext, args.scale, args.num_worker) == (
        2, 'mp4', 256, 8)
