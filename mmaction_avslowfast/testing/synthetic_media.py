"""Synthesize small audio-visual test media with PyAV (H.264 + AAC in mp4,
or the usual codecs of webm, avi, MPEG-PS and flv).

Used by the unit tests, the benchmarks and the demo-dataset tool, so that
nothing has to be downloaded. Everything is deterministic.

Main entry point: :func:`write_av_video`. Example::

    from mmaction_avslowfast.testing.synthetic_media import write_av_video
    info = write_av_video('tone.mp4', duration=6.0, fps=30, size=(64, 48),
                          tone_schedule=[(0.0, 440.0), (3.0, 1760.0)],
                          sample_rate=44100, channels=2)
    # 0-3 s: 440 Hz sine; 3-6 s: 1760 Hz sine. info['num_frames'] == 180

The visual content encodes time: frame ``i`` is a horizontal gradient whose
offset moves with ``i`` plus an optional per-video colour (``color_seed``), so
decoded frames are distinguishable and compress well.
"""
import os
import os.path as osp
from fractions import Fraction
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

ToneSchedule = Sequence[Tuple[float, Optional[float]]]

_AAC_FRAME_SIZE = 1024  # samples per frame handed to the audio encoder

# Muxer name -> default (video, audio) encoders; other muxers (mp4, mov,
# matroska, mpegts, ...) get H.264 + AAC.
_DEFAULT_CODECS = {
    'webm': ('libvpx', 'libopus'),
    'avi': ('mpeg4', 'libmp3lame'),
    'mpeg': ('mpeg2video', 'mp2'),  # MPEG program stream (.mpg)
    'vob': ('mpeg2video', 'mp2'),
    'svcd': ('mpeg2video', 'mp2'),  # FFmpeg's guess for '.vob'
    'dvd': ('mpeg2video', 'mp2'),
    'flv': ('flv', 'libmp3lame'),
}
# Encoder -> options: fast, deterministic settings for tiny test videos.
_VIDEO_OPTIONS = {
    'libx264': lambda crf: {'crf': str(crf), 'preset': 'ultrafast'},
    'libvpx': lambda crf: {'deadline': 'realtime', 'cpu-used': '8'},
    'libvpx-vp9': lambda crf: {'deadline': 'realtime', 'cpu-used': '8'},
}
_AUDIO_OPTIONS = {'vorbis': {'strict': 'experimental'}}  # FFmpeg's own
_LAYOUTS = {1: 'mono', 2: 'stereo', 6: '5.1'}
# Per-channel tone amplitude (relative): stereo R at 80 %; 5.1 (FL FR FC
# LFE BL BR) has a silent LFE channel (encoders low-pass it).
_CHANNEL_GAINS = {1: (1.0, ), 2: (1.0, 0.8), 6: (1.0, 0.8, 0.9, 0.0, 0.6,
                                                 0.6)}


def tone_waveform(duration: float,
                  sample_rate: int,
                  tone_schedule: ToneSchedule,
                  amplitude: float = 0.5) -> np.ndarray:
    """Mono waveform following a piecewise-constant tone schedule.

    Args:
        duration (float): Length in seconds.
        sample_rate (int): Samples per second.
        tone_schedule (Sequence[tuple]): ``(start_time_s, freq_hz)`` pairs,
            sorted by start time. Each frequency lasts until the next start
            time (the last until ``duration``). ``freq_hz`` of ``None`` or
            ``0`` means silence. Before the first start time: silence.
        amplitude (float): Peak amplitude in [0, 1].

    Returns:
        np.ndarray: float32 ``[num_samples]`` with
        ``num_samples = round(duration * sample_rate)``.
    """
    num_samples = int(round(duration * sample_rate))
    t = np.arange(num_samples, dtype=np.float64) / sample_rate
    wave = np.zeros(num_samples, dtype=np.float64)
    starts = [float(s) for s, _ in tone_schedule]
    if starts != sorted(starts):
        raise ValueError(f'tone_schedule must be sorted by start time, '
                         f'got {list(tone_schedule)}')
    bounds = starts[1:] + [duration]
    for (start, freq), end in zip(tone_schedule, bounds):
        if not freq:
            continue
        mask = (t >= start) & (t < end)
        # Phase measured from the segment start keeps each tone clean.
        wave[mask] = amplitude * np.sin(2 * np.pi * freq * (t[mask] - start))
    return wave.astype(np.float32)


def frame_image(index: int, size: Tuple[int, int],
                color_seed: int = 0) -> np.ndarray:
    """RGB frame ``[H, W, 3]`` uint8 whose content encodes ``index``."""
    width, height = size
    rng = np.random.RandomState(color_seed)
    tint = rng.randint(0, 256, size=3)
    x = np.arange(width)[None, :]
    y = np.arange(height)[:, None]
    base = (x * 4 + y * 2 + index * 8) % 256
    img = np.stack([(base + tint[c]) % 256 for c in range(3)], axis=-1)
    return img.astype(np.uint8)


def write_av_video(path: str,
                   duration: float = 4.0,
                   fps: Union[int, float, Fraction] = 30,
                   size: Tuple[int, int] = (64, 48),
                   tone_schedule: ToneSchedule = ((0.0, 440.0), ),
                   sample_rate: int = 16000,
                   channels: int = 1,
                   with_audio: bool = True,
                   amplitude: float = 0.5,
                   audio_duration: Optional[float] = None,
                   color_seed: int = 0,
                   crf: int = 28,
                   audio_start: float = 0.0,
                   container_format: Optional[str] = None,
                   container_options: Optional[Dict[str, str]] = None,
                   video_codec: Optional[str] = None,
                   audio_codec: Optional[str] = None,
                   audio_bit_rate: Optional[int] = None,
                   audio_options: Optional[Dict[str, str]] = None) -> Dict:
    """Write a video with a video stream and (optionally) a tone as audio.

    By default an mp4 with H.264 video and AAC audio. The codecs follow the
    container (``container_format``, else the extension) unless given:

    ======================  ==================  ===========
    muxer (extension)       video               audio
    ======================  ==================  ===========
    mp4, mov, matroska      ``libx264``         ``aac``
    (mkv), mpegts (ts)
    webm                    ``libvpx`` (VP8)    ``libopus``
    avi                     ``mpeg4`` (part 2)  ``libmp3lame``
    mpeg, vob, svcd, dvd    ``mpeg2video``      ``mp2``
    (mpg, vob: MPEG-PS)
    flv                     ``flv`` (FLV1)      ``libmp3lame``
    ======================  ==================  ===========

    Codec limits apply: Opus takes 8/12/16/24/48 kHz, MP2 16-48 kHz, MP3
    in FLV 11.025/22.05/44.1 kHz; MP3 and MP2 at most 2 channels.

    Args:
        path (str): Output file (e.g. ``.mp4``). Parent folders are
            created.
        duration (float): Video length in seconds. Default: 4.0.
        fps (int | float | Fraction): Frame rate. Default: 30.
        size (tuple[int, int]): ``(width, height)``; both must be even
            (yuv420p). Default: (64, 48).
        tone_schedule (Sequence[tuple]): ``(start_time_s, freq_hz)`` pairs,
            see :func:`tone_waveform`. Default: a 440 Hz tone throughout.
        sample_rate (int): Audio sample rate in Hz (e.g. 8000, 16000,
            44100, 48000). Default: 16000.
        channels (int): 1 (mono), 2 (stereo; both channels carry the
            same tone, the right one at 80 % amplitude) or 6 (5.1: FL FR FC
            LFE BL BR at 100, 80, 90, 0, 60, 60 %; the mono mean is
            ``0.65`` times the tone). Default: 1.
        with_audio (bool): Add an audio stream at all. Default: True.
        amplitude (float): Tone amplitude. Default: 0.5.
        audio_duration (float, optional): Length of the audio track if it
            should differ from the video (e.g. shorter audio). Default: same
            as ``duration``.
        color_seed (int): Changes the frame colours (tell videos apart).
        crf (int): x264 constant rate factor (``libx264`` only).
            Default: 28.
        audio_start (float): Presentation time of the first audio sample
            relative to the first video frame, in seconds (negative: the
            video starts later). ``tone_schedule`` is in audio-track time,
            so a switch at ``s`` is heard at video time
            ``audio_start + s``. FFmpeg's AVI muxer drops stream start
            times, so in AVI a late start is written as leading silence
            (the audio stream then starts with the video) and an early
            one is refused. Default: 0.
        container_format (str, optional): FFmpeg muxer, e.g.
            ``'matroska'`` or ``'mpegts'`` (default: from the extension).
        container_options (dict, optional): Muxer options, e.g.
            ``{'movflags': 'frag_keyframe+empty_moov'}`` (fragmented mp4).
        video_codec (str, optional): FFmpeg video encoder, e.g.
            ``'libx264'``, ``'mpeg4'``, ``'libvpx-vp9'`` (default: by
            container, see above).
        audio_codec (str, optional): FFmpeg audio encoder, e.g. ``'aac'``,
            ``'libmp3lame'``, ``'libopus'``, ``'vorbis'`` (default: by
            container). Frames are converted to its sample format and frame
            size by PyAV.
        audio_bit_rate (int, optional): Audio bit rate in bit/s (default:
            the encoder's).
        audio_options (dict, optional): Audio encoder options, e.g.
            ``{'aac_pns': '0'}`` (no perceptual noise substitution: the
            decoder regenerates such bands from a random state that depends
            on where decoding started).

    Returns:
        dict: ``path``, ``num_frames``, ``fps`` (float), ``duration``,
        ``sample_rate``, ``channels``, ``with_audio``, ``audio_duration``,
        ``tone_schedule`` (list), ``audio_start``, ``video_codec``,
        ``audio_codec``.
    """
    import av

    if size[0] % 2 or size[1] % 2:
        raise ValueError(f'size must be even for yuv420p, got {size}')
    if channels not in _LAYOUTS:
        raise ValueError(f'channels must be 1, 2 or 6, got {channels}')
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)

    rate = Fraction(fps).limit_denominator(1001)
    num_frames = int(round(duration * float(rate)))
    audio_duration = duration if audio_duration is None else audio_duration

    audio_shift = max(audio_start, 0.0)  # seconds added to audio times
    video_shift = int(round(max(-audio_start, 0.0) * float(rate)))  # frames
    container = av.open(path, mode='w', format=container_format,
                        options=container_options)
    lead_in = 0  # samples of silence written before the audio track
    if container.format.name == 'avi' and with_audio and audio_start:
        if audio_start < 0:
            container.close()
            raise ValueError('AVI cannot start the video after the audio '
                             f'(audio_start={audio_start})')
        lead_in, audio_shift = int(round(audio_start * sample_rate)), 0.0
    default_video, default_audio = _DEFAULT_CODECS.get(
        container.format.name, ('libx264', 'aac'))
    video_codec = video_codec or default_video
    audio_codec = audio_codec or default_audio
    vstream = container.add_stream(video_codec, rate=rate)
    vstream.width, vstream.height = size
    vstream.pix_fmt = 'yuv420p'
    if video_codec in _VIDEO_OPTIONS:
        vstream.options = _VIDEO_OPTIONS[video_codec](crf)

    audio_chunks = []
    if with_audio:
        astream = container.add_stream(audio_codec, rate=sample_rate)
        astream.layout = _LAYOUTS[channels]
        if audio_codec in _AUDIO_OPTIONS or audio_options:
            astream.options = dict(_AUDIO_OPTIONS.get(audio_codec, {}),
                                   **(audio_options or {}))
        if audio_bit_rate:
            astream.bit_rate = audio_bit_rate
        mono = np.concatenate([
            np.zeros(lead_in, np.float32),
            tone_waveform(audio_duration, sample_rate, tone_schedule,
                          amplitude)
        ])
        wave = np.stack([gain * mono for gain in _CHANNEL_GAINS[channels]])
        for start in range(0, wave.shape[1], _AAC_FRAME_SIZE):
            chunk = np.ascontiguousarray(
                wave[:, start:start + _AAC_FRAME_SIZE], dtype=np.float32)
            audio_chunks.append((start / sample_rate + audio_shift,
                                 start + int(round(audio_shift *
                                                   sample_rate)), chunk))

    def mux_audio_until(t_limit):
        while audio_chunks and audio_chunks[0][0] <= t_limit:
            _, start, chunk = audio_chunks.pop(0)
            frame = av.AudioFrame.from_ndarray(
                chunk, format='fltp', layout=astream.layout.name)
            frame.sample_rate = sample_rate
            frame.pts = start
            frame.time_base = Fraction(1, sample_rate)
            container.mux(astream.encode(frame))

    for i in range(num_frames):
        t = (i + video_shift) / float(rate)
        if with_audio:
            mux_audio_until(t)
        vframe = av.VideoFrame.from_ndarray(
            frame_image(i, size, color_seed), format='rgb24')
        vframe.pts = i + video_shift
        vframe.time_base = 1 / rate
        container.mux(vstream.encode(vframe))
    if with_audio:
        mux_audio_until(float('inf'))
        container.mux(astream.encode(None))
    container.mux(vstream.encode(None))
    container.close()

    return dict(
        path=path,
        num_frames=num_frames,
        fps=float(rate),
        duration=duration,
        sample_rate=sample_rate,
        channels=channels,
        with_audio=with_audio,
        audio_duration=audio_duration if with_audio else 0.0,
        tone_schedule=[tuple(x) for x in tone_schedule],
        audio_start=audio_start,
        video_codec=video_codec,
        audio_codec=audio_codec if with_audio else None)


def write_frames_with_audio(path: str, frames, wave: np.ndarray, fps: float,
                            sample_rate: int, audio_start: float = 0.0,
                            crf: int = 18,
                            container_format: Optional[str] = 'mp4') -> str:
    """Mux given RGB frames and a waveform into a video file.

    For fixtures whose picture varies in ways :func:`write_av_video`'s
    gradient cannot (per segment, per object), and for re-encodes
    (:mod:`.reencode`). Audio is interleaved with the frames in time order
    and starts ``audio_start`` s after the first frame (a late audio
    track). Codecs follow the container as in :func:`write_av_video`
    (mp4: H.264 + AAC). Parent folders are created.

    Args:
        frames: Iterable of ``[H, W, 3]`` uint8 images, shown at ``fps``.
        wave (np.ndarray): float32 audio at ``sample_rate``: ``[samples]``
            (mono) or ``[channels, samples]`` (1, 2 or 6 channels).
        container_format (str, optional): FFmpeg muxer; None: from the
            extension. Default: 'mp4'.
    """
    import av
    planes = np.atleast_2d(wave)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    shift = int(round(audio_start * sample_rate))
    chunks = list(range(0, planes.shape[1], _AAC_FRAME_SIZE))
    with av.open(path, mode='w', format=container_format) as container:
        if container.format.name == 'avi' and audio_start:
            raise ValueError('AVI drops stream start times: audio_start '
                             'must be 0')
        vcodec, acodec = _DEFAULT_CODECS.get(container.format.name,
                                             ('libx264', 'aac'))
        vstream = container.add_stream(vcodec, rate=rate)
        vstream.pix_fmt = 'yuv420p'
        if vcodec in _VIDEO_OPTIONS:
            vstream.options = _VIDEO_OPTIONS[vcodec](crf)
        astream = container.add_stream(acodec, rate=sample_rate)
        astream.layout = _LAYOUTS[planes.shape[0]]

        def mux_audio_until(t_limit: float) -> None:
            while chunks and (chunks[0] + shift) / sample_rate <= t_limit:
                start = chunks.pop(0)
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(
                        planes[:, start:start + _AAC_FRAME_SIZE],
                        dtype=np.float32),
                    format='fltp', layout=astream.layout.name)
                frame.sample_rate = sample_rate
                frame.pts = start + shift
                frame.time_base = Fraction(1, sample_rate)
                container.mux(astream.encode(frame))

        for i, image in enumerate(frames):
            if i == 0:
                vstream.height, vstream.width = image.shape[:2]
            mux_audio_until(i / float(rate))
            vframe = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(image), format='rgb24')
            vframe.pts = i
            vframe.time_base = 1 / rate
            container.mux(vstream.encode(vframe))
        mux_audio_until(float('inf'))
        container.mux(astream.encode(None))
        container.mux(vstream.encode(None))
    return path


def truncate_file(src: str, dst: str, keep_fraction: float = 0.3) -> str:
    """Copy the first ``keep_fraction`` of ``src``'s bytes to ``dst``.

    An mp4 written by :func:`write_av_video` keeps its index (moov) at the
    end, so the copy is a corrupt, undecodable file. Returns ``dst``.
    """
    with open(src, 'rb') as f:
        data = f.read()
    with open(dst, 'wb') as f:
        f.write(data[:max(1, int(len(data) * keep_fraction))])
    return dst


def mel_bin(freq_hz: float, n_mels: int = 80, f_max: float = 8000.0) -> int:
    """Index of the HTK mel bin whose centre is closest to ``freq_hz``
    (where a synthesized tone shows in the reference log-mel)."""

    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    centres = np.linspace(mel(0.0), mel(f_max), n_mels + 2)[1:-1]
    return int(np.argmin(np.abs(centres - mel(freq_hz))))
