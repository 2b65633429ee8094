"""Real-world-like media: textured, moving, noisy video in the containers,
codecs, rates, channel counts and resolutions that data sets collected
from the web hold, for the data-pipeline benchmark
(``benchmarks/data_pipeline.py``) and its tests.

:func:`write_textured_video` writes one file: a random texture panning
under moving blobs with sensor-like noise (it decodes like resized real
footage; the gradients of
:func:`~mmaction_avslowfast.testing.synthetic_media.write_av_video`
compress ~100x and decode far faster), with tones over coloured noise as
audio. :data:`REALWORLD_SET` fixes the make-up of 13 such clips (the kinds
of the recorded clips the benchmark's figures were first taken on: 5-10 s,
194x194 to 1280x720; AAC, MP3, MP2, PCM, Vorbis, Opus; mono to 5.1;
mp4 / mov / mkv / webm / ts / avi / flv / mpeg) and
:func:`write_realworld_set` writes them. Everything is deterministic.
"""
import os
import os.path as osp
from fractions import Fraction
from typing import Dict, NamedTuple, Optional, Tuple

import numpy as np

_LAYOUTS = {1: 'mono', 2: 'stereo', 6: '5.1'}
# Relative level of each channel (5.1: FL FR FC LFE BL BR).
_GAINS = {1: (1.0, ), 2: (1.0, 0.8), 6: (1.0, 0.8, 0.9, 0.3, 0.6, 0.6)}
_VIDEO_OPTIONS = {
    'libx264': lambda preset, crf: {'preset': preset, 'crf': str(crf)},
    'libvpx': lambda preset, crf: {'deadline': 'realtime', 'cpu-used': '8',
                                   'crf': str(crf), 'b': '2M'},
    'libvpx-vp9': lambda preset, crf: {'deadline': 'realtime',
                                       'cpu-used': '8', 'crf': str(crf),
                                       'b': '0'},
}
_AUDIO_OPTIONS = {'vorbis': {'strict': 'experimental'}}


def textured_audio(duration: float, sample_rate: int, channels: int,
                   rng: np.random.RandomState) -> np.ndarray:
    """``[channels, samples]`` float32: four slowly gliding tones over
    brown and white noise; channel ``k > 0`` is channel 0 at a lower level
    plus its own small noise."""
    t = np.arange(int(duration * sample_rate)) / float(sample_rate)
    tone = sum(0.15 * np.sin(2 * np.pi * f * t * (1 + 0.05 * np.sin(t)))
               for f in rng.uniform(150, 3000, 4))
    noise = np.cumsum(rng.randn(t.size)) * 0.002
    width = max(int(sample_rate // 100), 1)
    noise -= np.convolve(noise, np.ones(width) / width, 'same')  # drift
    wave = (tone + noise + 0.02 * rng.randn(t.size)).astype(np.float32)
    rows = [wave] + [gain * wave + 0.01 * rng.randn(t.size)
                     for gain in _GAINS[channels][1:]]
    return np.stack(rows).astype(np.float32)


def write_textured_video(path: str,
                         duration: float = 10.0,
                         fps: float = 30,
                         size: Tuple[int, int] = (340, 256),
                         seed: int = 0,
                         preset: str = 'medium',
                         crf: int = 23,
                         sample_rate: int = 44100,
                         channels: int = 2,
                         container_format: Optional[str] = None,
                         video_codec: str = 'libx264',
                         audio_codec: str = 'aac',
                         noise: float = 4.0,
                         gop: Optional[int] = None,
                         audio_options: Optional[Dict[str, str]] = None
                         ) -> Dict:
    """Write a textured, moving, noisy video with tones over noise.

    The defaults are the Kinetics-like clips of the data-pipeline
    benchmark: 340x256 (MMAction2's resized Kinetics), x264 ``medium`` crf
    23 (~1 Mbit/s), 44.1 kHz stereo AAC.

    Args:
        path (str): Output file; parent folders are created.
        duration (float): Seconds.
        fps (float): Frame rate (e.g. 30, 25, 30000/1001 as a float).
        size (tuple[int, int]): ``(width, height)``, both even.
        seed (int): Texture, motion and sound.
        preset (str), crf (int): x264 preset / constant rate factor (crf
            also for VP8/VP9); other encoders use their defaults.
        sample_rate (int), channels (int): Audio (channels 1, 2 or 6).
        container_format (str, optional): FFmpeg muxer (default: from the
            extension).
        video_codec (str), audio_codec (str): FFmpeg encoders.
        noise (float): Standard deviation of the per-pixel noise (0..255).
        gop (int, optional): Frames between key frames (default: the
            encoder's; broadcast MPEG-TS has ~1 s, which decord needs to
            seek in a TS file with B-frames).
        audio_options (dict, optional): Audio encoder options, e.g.
            ``{'aac_pns': '0'}`` (no noise substitution: an AAC decoder
            regenerates such bands randomly, differently after a seek).

    Returns:
        dict: ``path``, ``size``, ``fps``, ``duration``, ``sample_rate``,
        ``channels``, ``video_codec``, ``audio_codec``.
    """
    import av
    if size[0] % 2 or size[1] % 2:
        raise ValueError(f'size must be even, got {size}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    rng = np.random.RandomState(seed)
    width, height = size
    # Smooth random texture, a bit larger than the frame, panned over time.
    tex = rng.randint(0, 256, (height // 4 + 8, width // 2 + 8, 3))
    tex = np.kron(tex, np.ones((4, 4, 1))).astype(np.float32)
    for axis in (0, 1):
        tex = (tex + np.roll(tex, 1, axis) + np.roll(tex, 2, axis)) / 3
    yy, xx = np.mgrid[0:height, 0:width]
    rate = Fraction(fps).limit_denominator(1001)
    container = av.open(path, mode='w', format=container_format)
    vstream = container.add_stream(video_codec, rate=rate)
    vstream.width, vstream.height = size
    vstream.pix_fmt = 'yuv420p'
    options = dict(_VIDEO_OPTIONS.get(video_codec, lambda *_: {})(preset,
                                                                  crf))
    if gop:
        options['g'] = str(gop)
    vstream.options = options
    astream = container.add_stream(audio_codec, rate=sample_rate)
    astream.layout = _LAYOUTS[channels]
    if audio_codec in _AUDIO_OPTIONS or audio_options:
        astream.options = dict(_AUDIO_OPTIONS.get(audio_codec, {}),
                               **(audio_options or {}))
    num_frames = int(round(duration * float(rate)))
    wave = textured_audio(duration, sample_rate, channels, rng)
    samples_per_frame = sample_rate / float(rate)
    audio_pos = 0
    for i in range(num_frames):
        dx = int(2 * i) % (tex.shape[1] - width)
        dy = int(i * 0.7) % (tex.shape[0] - height)
        img = tex[dy:dy + height, dx:dx + width].copy()
        for k in range(3):  # moving blobs
            cx = (0.5 + 0.4 * np.sin(0.05 * i + k)) * width
            cy = (0.5 + 0.4 * np.cos(0.07 * i + 2 * k)) * height
            radius = (20 + 8 * k) * max(width, height) / 340
            mask = (xx - cx)**2 + (yy - cy)**2 < radius**2
            img[mask] = (60 * k + 3 * i) % 256
        img += rng.randn(height, width, 1).astype(np.float32) * noise
        frame = av.VideoFrame.from_ndarray(
            np.clip(img, 0, 255).astype(np.uint8), format='rgb24')
        frame.pts = i
        frame.time_base = 1 / rate
        container.mux(vstream.encode(frame))
        stop = int(round((i + 1) * samples_per_frame))
        last_frame = i == num_frames - 1
        while (audio_pos + 1024 <= stop
               or (last_frame and audio_pos < wave.shape[1])):
            chunk = np.ascontiguousarray(wave[:, audio_pos:audio_pos + 1024])
            aframe = av.AudioFrame.from_ndarray(
                chunk, format='fltp', layout=_LAYOUTS[channels])
            aframe.sample_rate = sample_rate
            aframe.pts = audio_pos
            aframe.time_base = Fraction(1, sample_rate)
            container.mux(astream.encode(aframe))
            audio_pos += 1024
    container.mux(astream.encode(None))
    container.mux(vstream.encode(None))
    container.close()
    return dict(path=path, size=tuple(size), fps=float(rate),
                duration=duration, sample_rate=sample_rate,
                channels=channels, video_codec=video_codec,
                audio_codec=audio_codec)


class ClipKind(NamedTuple):
    """Make-up of one clip of :data:`REALWORLD_SET`."""
    file: str  # file name; its extension picks the muxer
    size: Tuple[int, int]
    fps: float
    duration: float
    video_codec: str
    audio_codec: str
    sample_rate: int
    channels: int
    preset: str = 'medium'  # x264
    crf: int = 23  # x264, VP8/VP9
    noise: float = 4.0
    gop: Optional[int] = None
    container_format: Optional[str] = None


#: The real-world-like set: 13 clips, one per kind (name -> make-up).
REALWORLD_SET = {
    'mp4-aac44-stereo-340x256': ClipKind(
        'kinetics.mp4', (340, 256), 30, 10.0, 'libx264', 'aac', 44100, 2),
    'mp4-aac48-5.1-1280x720': ClipKind(
        'hd_51.mp4', (1280, 720), 30, 6.0, 'libx264', 'aac', 48000, 6,
        preset='fast', crf=26, noise=2.0),
    'mp4-aac22-mono-194x194': ClipKind(
        'reencode.mp4', (194, 194), 30, 10.0, 'libx264', 'aac', 22050, 1,
        crf=28),
    'mp4-aac44-stereo-256x144': ClipKind(
        'tiny.mp4', (256, 144), 30, 8.0, 'libx264', 'aac', 44100, 2,
        crf=28),
    'mov-pcm48-stereo-640x360': ClipKind(
        'camera.mov', (640, 360), 25, 8.0, 'libx264', 'pcm_s16le', 48000,
        2, preset='fast', noise=3.0),
    'mov-aac48-mono-480x270': ClipKind(
        'phone.mov', (480, 270), 30, 7.0, 'libx264', 'aac', 48000, 1,
        noise=3.0),
    'mkv-vorbis44-stereo-480x360': ClipKind(
        'rip.mkv', (480, 360), 30, 8.0, 'libx264', 'vorbis', 44100, 2,
        noise=3.0),
    'mkv-aac48-5.1-640x360': ClipKind(
        'rip_51.mkv', (640, 360), 24, 6.0, 'libx264', 'aac', 48000, 6,
        preset='fast', noise=3.0),
    'webm-opus48-stereo-640x360': ClipKind(
        'web.webm', (640, 360), 30, 8.0, 'libvpx-vp9', 'libopus', 48000, 2,
        crf=36, noise=3.0),
    'ts-aac48-stereo-854x480': ClipKind(
        'broadcast.ts', (854, 480), 25, 6.0, 'libx264', 'aac', 48000, 2,
        preset='fast', crf=25, noise=3.0, gop=25),
    'avi-mp3-44-stereo-320x240': ClipKind(
        'old.avi', (320, 240), 25, 10.0, 'mpeg4', 'libmp3lame', 44100, 2),
    'flv-mp3-22-mono-320x240': ClipKind(
        'old.flv', (320, 240), 25, 10.0, 'flv', 'libmp3lame', 22050, 1),
    'mpeg-mp2-48-stereo-720x480': ClipKind(
        'dvd.mpg', (720, 480), 30000 / 1001, 5.0, 'mpeg2video', 'mp2',
        48000, 2, noise=3.0),
}


def write_realworld_set(directory: str, names=None,
                        overwrite: bool = False) -> Dict[str, Dict]:
    """Write the clips of :data:`REALWORLD_SET` (``names``, default all)
    into ``directory``, one seed per clip; existing files are kept unless
    ``overwrite``. Returns name -> the clip's make-up as a dict plus
    ``path``."""
    out = {}
    for seed, (name, kind) in enumerate(REALWORLD_SET.items()):
        if names is not None and name not in names:
            continue
        path = osp.join(directory, kind.file)
        if overwrite or not osp.isfile(path):
            write_textured_video(
                path, duration=kind.duration, fps=kind.fps, size=kind.size,
                seed=100 + seed, preset=kind.preset, crf=kind.crf,
                sample_rate=kind.sample_rate, channels=kind.channels,
                container_format=kind.container_format,
                video_codec=kind.video_codec, audio_codec=kind.audio_codec,
                noise=kind.noise, gop=kind.gop)
        out[name] = dict(kind._asdict(), path=path)
    return out
