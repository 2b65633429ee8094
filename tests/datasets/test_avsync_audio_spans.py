"""AVSyncEvalAudio reads only the spans it needs (the own aligned and hard
spans, the partner's easy span at the partner's own stream offset) and gives
the whole-track log-mel within float tolerance, in mp4, mkv and avi + mp3,
with partners whose audio starts late or early; MPEG-PS falls back to the
whole track."""
import numpy as np
import pytest

from mmaction_avslowfast.audio import AudioSpanReader, silence_value
from mmaction_avslowfast.datasets.transforms import AVSyncEvalAudio
from mmaction_avslowfast.testing.synthetic_media import mel_bin, write_av_video

FPS = 16
OWN = [(0.0, 440.0), (2.0, 880.0), (4.0, 1760.0), (6.0, 2640.0)]
# audio-track time; the partner's switch is heard at audio_start + 1 s
PARTNER = [(0.0, 600.0), (1.0, 2400.0), (5.0, 1200.0)]
# AAC without perceptual noise substitution: its noise bands are random and
# differ with where decoding starts (both decodes are valid; documented)
NO_PNS = dict(audio_options={'aac_pns': '0'})
CONTAINERS = {
    'mp4': dict(sample_rate=44100, channels=2, **NO_PNS),
    'avi': dict(sample_rate=44100, channels=2),  # MPEG-4 part 2 + MP3
    # read whole (the documented fallback): Matroska streams have no
    # duration, MPEG-PS (MP2) seeks are not exact
    'mkv': dict(sample_rate=48000, channels=1, **NO_PNS),
    'mpg': dict(sample_rate=48000, channels=2),
}
WHOLE = ('mkv', 'mpg')
# partner name -> (audio_start, duration); AVI writes a late start as
# leading silence and refuses an early one
PARTNERS = {'late': (0.436, 8.0), 'early': (-0.3, 8.0), 'short': (0.0, 1.0)}
# 3 clips of 16 frames: 0-0.94 s, 2.5-3.44 s, 7.0-7.94 s (hard: backward)
FRAME_INDS = np.concatenate([np.arange(s, s + 16) for s in (0, 40, 112)])


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp('avsync_spans')
    paths = {}
    for ext, audio in CONTAINERS.items():
        paths[ext, 'own'] = write_av_video(
            str(root / f'own.{ext}'), duration=8.0, fps=FPS, size=(32, 32),
            tone_schedule=OWN, audio_start=0.25 if ext != 'avi' else 0.0,
            **audio)['path']
        for name, (start, duration) in PARTNERS.items():
            if ext == 'avi' and start < 0:
                continue
            paths[ext, name] = write_av_video(
                str(root / f'{name}.{ext}'), duration=duration, fps=FPS,
                size=(32, 32), tone_schedule=PARTNER, audio_start=start,
                color_seed=1, **audio)['path']
    return paths


@pytest.fixture
def reads(monkeypatch):
    """Native samples requested per file with ``read``, and the files
    decoded whole."""
    spans, whole = {}, []
    read, read_all = AudioSpanReader.read, AudioSpanReader.read_all

    def counting_read(self, first, stop):
        wave, start = read(self, first, stop)
        spans.setdefault(self.path, []).append(len(wave))
        return wave, start

    def counting_read_all(self):
        whole.append(self.path)
        return read_all(self)

    monkeypatch.setattr(AudioSpanReader, 'read', counting_read)
    monkeypatch.setattr(AudioSpanReader, 'read_all', counting_read_all)
    return spans, whole


def sample(media, ext, partner):
    return dict(filename=media[ext, 'own'],
                avs_partner_filename=media[ext, partner],
                frame_inds=FRAME_INDS.copy(), num_clips=3, avg_fps=FPS,
                start_index=0)


CASES = [(ext, partner) for ext in CONTAINERS for partner in PARTNERS
         if not (ext == 'avi' and PARTNERS[partner][0] < 0)]


@pytest.mark.parametrize('ext,partner', CASES)
def test_spans_equal_whole_tracks(media, reads, ext, partner):
    spans, whole = reads
    out = AVSyncEvalAudio(num_frames=64)(sample(media, ext, partner))
    if ext in WHOLE:
        assert spans == {} and len(whole) == 2
    else:
        assert whole == []
        own, other = media[ext, 'own'], media[ext, partner]
        rate = CONTAINERS[ext]['sample_rate']
        # the own track: 3 aligned + 3 hard spans of ~1 s and margins, out
        # of 8 s; the partner: 3 spans (the short one: all of its 1 s)
        assert sum(spans[own]) < 0.85 * 8 * rate
        if partner != 'short':
            assert sum(spans[other]) < 0.55 * 8 * rate
    spans.clear()
    reference = AVSyncEvalAudio(num_frames=64, read_spans=False)(
        sample(media, ext, partner))
    assert spans == {}  # the whole-track path reads no span
    assert out['audios'].shape == (3, 3, 64, 80)
    np.testing.assert_allclose(out['audios'], reference['audios'], rtol=0,
                               atol=1e-3)
    assert out['avs_hard_inside'] == reference['avs_hard_inside'] is True
    assert out['audio_valid'] and reference['audio_valid']


def bins(channel, frames):
    return set(np.argmax(channel[frames], axis=1).tolist())


@pytest.mark.parametrize('ext', ['mp4', 'mkv'])
def test_easy_negative_at_the_partners_own_offset(media, ext):
    # Clip 1 (video 0-0.94 s, 64 output frames of 14.9 ms) reads the
    # partner at video time minus the partner's offset. Late partner
    # (0.41 s after the AAC priming): frames 0-27 lie before its audio and
    # loop to its end (1200 Hz), then 600 Hz. Early partner (-0.31 s): 600
    # Hz until its switch at audio 1 s (video 0.69 s, frame 46), then 2400.
    # Read at the own offset (0.23 s) instead, both boundaries move to
    # frame 15 (late) or off the clip (early).
    late = AVSyncEvalAudio(num_frames=64)(sample(media, ext, 'late'))
    early = AVSyncEvalAudio(num_frames=64)(sample(media, ext, 'early'))
    assert bins(late['audios'][0, 2], slice(0, 26)) == {mel_bin(1200)}
    assert bins(late['audios'][0, 2], slice(30, 64)) == {mel_bin(600)}
    assert bins(early['audios'][0, 2], slice(0, 44)) == {mel_bin(600)}
    assert bins(early['audios'][0, 2], slice(48, 64)) == {mel_bin(2400)}
    # clip 2 (video 2.5-3.44 s) reads both partners' 2400 Hz span
    for out in (late, early):
        assert bins(out['audios'][1, 2], slice(0, 64)) == {mel_bin(2400)}
    # the own track starts 0.23 s late: clip 1 opens with silence (frame
    # 15), its hard negative (+0.94 s) reads 440 Hz
    own = late['audios'][0]
    np.testing.assert_allclose(own[0, :14], silence_value(), atol=1e-6)
    assert bins(own[0], slice(17, 64)) == bins(own[1], slice(0, 64)) == {
        mel_bin(440)}
