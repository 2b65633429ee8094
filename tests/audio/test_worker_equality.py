"""The model inputs of the worker path (``LoadAudioFromVideo`` +
``AudioLogMelClips``: span decoding, track length from the container,
windows cut from resampled spans, batched log-mel) equal those of the
whole-track recipe, computed here independently of the plugin's DSP and
readers: every sample decoded by plain PyAV, channel mean, torchaudio's
``Resample``, torchaudio's ``Spectrogram`` + ``MelScale``, log, and the
clips cut by ``logmel_clips`` with the negative drawn from the same random
state. One file per kind of the real-world-like set (short, small
pictures), training clips with negatives at the start, middle and end,
and the 10-clip test sampling."""
import av
import numpy as np
import pytest
import torch
import torchaudio

from mmaction_avslowfast.audio import clip_frame_times, logmel_clips
from mmaction_avslowfast.datasets.transforms import (AudioLogMelClips,
                                                     LoadAudioFromVideo)
from mmaction_avslowfast.testing.realworld_media import write_textured_video

NO_PNS = {'aac_pns': '0'}  # AAC noise bands are random in any decode
KINDS = {
    'mp4-aac44-stereo': ('a.mp4', dict(audio_options=NO_PNS)),
    'mp4-aac48-5.1': ('b.mp4', dict(sample_rate=48000, channels=6,
                                    audio_options=NO_PNS)),
    'mp4-aac22-mono': ('c.mp4', dict(sample_rate=22050, channels=1,
                                     audio_options=NO_PNS)),
    'mov-pcm48-stereo': ('d.mov', dict(audio_codec='pcm_s16le',
                                       sample_rate=48000)),
    'mkv-vorbis44-stereo': ('e.mkv', dict(audio_codec='vorbis')),
    'webm-opus48-stereo': ('f.webm', dict(video_codec='libvpx',
                                          audio_codec='libopus',
                                          sample_rate=48000)),
    'ts-aac48-stereo': ('g.ts', dict(sample_rate=48000, gop=15,
                                     audio_options=NO_PNS)),
    'avi-mp3-44-stereo': ('h.avi', dict(video_codec='mpeg4',
                                        audio_codec='libmp3lame')),
    'flv-mp3-22-mono': ('i.flv', dict(video_codec='flv',
                                      audio_codec='libmp3lame',
                                      sample_rate=22050, channels=1)),
    'mpeg-mp2-48-stereo': ('j.mpg', dict(video_codec='mpeg2video',
                                         audio_codec='mp2',
                                         sample_rate=48000)),
}
DURATION, FPS = 4.0, 30.0
TOLERANCE = 1e-3  # normalised log-mel (the span path's documented bound)


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp('kinds')
    return {
        name: write_textured_video(str(folder / file), duration=DURATION,
                                   fps=FPS, size=(64, 48), seed=i,
                                   preset='ultrafast', **kwargs)['path']
        for i, (name, (file, kwargs)) in enumerate(KINDS.items())
    }


def whole_track_logmel(path):
    """Today's recipe on the whole track: ``(log-mel [T, 80], offset)``."""
    with av.open(path) as container:
        stream = container.streams.audio[0]
        video = container.streams.video[0]
        offset = float((stream.start_time or 0) * stream.time_base) - float(
            (video.start_time or 0) * video.time_base)
        rate, chunks = stream.codec_context.sample_rate, []
        for frame in container.decode(stream):
            array = frame.to_ndarray()
            channels = frame.layout.nb_channels
            array = (array.reshape(channels, -1) if frame.format.is_planar
                     else array.reshape(-1, channels).T)
            if array.dtype.kind == 'i':
                array = array.astype(np.float64) / np.iinfo(array.dtype).max
            chunks.append(array.mean(0))
    wave = torch.from_numpy(np.concatenate(chunks).astype(np.float32))
    if rate != 16000:
        wave = torchaudio.transforms.Resample(rate, 16000)(wave)
    power = torchaudio.transforms.Spectrogram(
        n_fft=512, hop_length=256, power=2.0, center=False)(wave)
    mel = torchaudio.transforms.MelScale(
        n_mels=80, sample_rate=16000, f_min=0.0, f_max=8000.0, n_stft=257,
        norm='slaney', mel_scale='htk')(power)
    return torch.log(mel + 1e-8).T.numpy(), offset


def worker_clips(path, frame_inds, num_clips, with_negative, seed):
    np.random.seed(seed)
    results = dict(filename=path, frame_inds=frame_inds,
                   num_clips=num_clips, avg_fps=FPS, start_index=0)
    results = LoadAudioFromVideo()(results)
    return AudioLogMelClips(with_negative=with_negative)(results)['audios']


def reference_clips(track, frame_inds, num_clips, with_negative, seed):
    logmel, offset = track
    np.random.seed(seed)
    return logmel_clips(logmel, clip_frame_times(frame_inds, num_clips, FPS),
                        62.5, offset, 128, with_negative)


def samplings():
    total = int(DURATION * FPS)
    for first in (0, total // 2 - 32, total - 64):  # training clips
        yield np.arange(first, first + 64, 2), 1, True
    starts = np.linspace(0, total - 64, 10).astype(int)  # 10-clip test
    yield np.concatenate([np.arange(s, s + 64, 2) for s in starts]), 10, \
        False


@pytest.mark.parametrize('kind', KINDS)
def test_worker_inputs_equal_the_whole_track_recipe(media, kind):
    path = media[kind]
    track = whole_track_logmel(path)
    for seed, (inds, clips, negative) in enumerate(samplings()):
        ours = worker_clips(path, inds, clips, negative, seed)
        expected = reference_clips(track, inds, clips, negative, seed)
        assert ours.shape == expected.shape == (clips, 1 + negative, 128,
                                                80)
        diff = np.abs(ours - expected)
        assert diff.max() <= TOLERANCE, (kind, seed, float(diff.max()))
        # not vacuous: the clips hold sound, not silence
        assert (expected.max(-1) > expected.min() + 1).mean() > 0.5
