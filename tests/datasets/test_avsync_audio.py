"""AVSyncEvalAudio: the hard negative is the same track shifted, the easy
negative is the partner's audio at the clip's times, and nothing depends on
the order in which samples are loaded."""
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmaction_avslowfast.audio import silence_value
from mmaction_avslowfast.datasets import UnlabeledAVDataset
from mmaction_avslowfast.datasets.transforms import AVSyncEvalAudio
from mmaction_avslowfast.datasets.transforms.avsync_audio import \
    hard_shift_positions
from mmaction_avslowfast.testing.synthetic_media import mel_bin, write_av_video

FPS = 16
# One tone per second: the second of the audio shows in the mel bin.
OWN = [(0.0, 440.0), (1.0, 880.0), (2.0, 1760.0), (3.0, 3520.0)]
PARTNER = [(0.0, 600.0), (1.0, 1200.0), (2.0, 2400.0), (3.0, 4800.0)]


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('avsync_audio')
    paths = {}
    for name, schedule, duration in (('own', OWN, 4.0),
                                     ('partner', PARTNER, 4.0),
                                     ('short', [(0.0, 600.0), (0.5, 3000.0)],
                                      1.0)):
        paths[name] = str(root / f'{name}.mp4')
        write_av_video(paths[name], duration=duration, fps=FPS,
                       size=(32, 32), tone_schedule=schedule)
    return paths


def run(videos, first_frame, partner='partner', **kwargs):
    results = dict(filename=videos['own'],
                   avs_partner_filename=videos[partner],
                   frame_inds=np.arange(first_frame, first_frame + 16),
                   num_clips=1, avg_fps=FPS, start_index=0)
    return AVSyncEvalAudio(num_frames=64, **kwargs)(results)


def bins(channel, frames=slice(4, 60)):
    """Dominant mel bin of each output frame of a ``[T, F]`` channel."""
    return set(np.argmax(channel[frames], axis=1).tolist())


def test_hard_negative_is_the_shifted_track(videos):
    # clip at 1.0-1.94 s (880 Hz); hard = +1 s (1760 Hz); easy = partner's
    # audio at 1.0-1.94 s (1200 Hz)
    out = run(videos, 16, min_shift=1.0, shift_by_clip=False)
    audios = out['audios']
    assert audios.shape == (1, 3, 64, 80) and audios.dtype == np.float32
    assert bins(audios[0, 0]) == {mel_bin(880)}
    assert bins(audios[0, 1]) == {mel_bin(1760)}
    assert bins(audios[0, 2]) == {mel_bin(1200)}
    assert out['avs_hard_inside'] and out['audio_valid']
    # a clip at the end is shifted backwards: 3.0-3.94 s -> 2.0-2.94 s
    audios = run(videos, 48, min_shift=1.0, shift_by_clip=False)['audios']
    assert bins(audios[0, 0]) == {mel_bin(3520)}
    assert bins(audios[0, 1]) == {mel_bin(1760)}
    assert bins(audios[0, 2]) == {mel_bin(4800)}
    # default: shift by the clip span (0.94 s >= 0.5 s), no overlap in time
    default = run(videos, 16)['audios']
    assert bins(default[0, 1], slice(8, 60)) == {mel_bin(1760)}


def test_short_partner_is_looped(videos):
    # the 1-s partner read at 1.0-1.94 s loops: 600 Hz, then 3000 Hz
    easy = run(videos, 16, partner='short')['audios'][0, 2]
    assert bins(easy, slice(3, 25)) == {mel_bin(600)}
    assert bins(easy, slice(38, 60)) == {mel_bin(3000)}
    assert not np.any(np.all(np.isclose(easy, silence_value()), axis=1))


def test_hard_shift_directions():
    pos = np.linspace(10.0, 40.0, 8)
    shifted, inside = hard_shift_positions(pos, 30.0, 100)
    assert inside and np.allclose(shifted, pos + 30)
    shifted, inside = hard_shift_positions(pos + 50, 30.0, 100)
    assert inside and np.allclose(shifted, pos + 20)
    # neither fits (track of 60 frames): roomier direction (forward here),
    # flagged as partly outside the track
    shifted, inside = hard_shift_positions(pos, 30.0, 60)
    assert not inside and np.allclose(shifted, pos + 30)
    shifted, inside = hard_shift_positions(pos + 15, 30.0, 60)
    assert not inside and np.allclose(shifted, pos - 15)


def test_missing_partner_is_named(videos):
    with pytest.raises(KeyError, match='own.mp4.*easy_negative_offset'):
        AVSyncEvalAudio()(dict(filename=videos['own'], frame_inds=np.arange(
            16), num_clips=1, avg_fps=FPS))


def test_negatives_fixed_by_index_not_by_load_order(videos, tmp_path):
    listing = tmp_path / 'list.txt'
    listing.write_text('own.mp4\npartner.mp4\nshort.mp4\n')
    root = osp.dirname(videos['own'])
    init_default_scope('mmaction')

    def dataset():
        return UnlabeledAVDataset(
            str(listing), data_prefix=dict(video=root),
            easy_negative_offset=1, test_mode=True,
            pipeline=[
                dict(type='CheckedDecordInit'),
                dict(type='SampleFrames', clip_len=8, frame_interval=1,
                     num_clips=1, test_mode=True),
                dict(type='CheckedDecordDecode'),
                dict(type='AVSyncEvalAudio', num_frames=32),
            ])

    first = dataset()
    assert [osp.basename(first.get_data_info(i)['avs_partner_filename'])
            for i in range(3)] == ['partner.mp4', 'short.mp4', 'own.mp4']
    np.random.seed(0)
    forward = [first[i]['audios'] for i in range(3)]
    np.random.seed(1)
    backward = [dataset()[i]['audios'] for i in (2, 1, 0)][::-1]
    for a, b in zip(forward, backward):
        np.testing.assert_array_equal(a, b)
    # own (4 s) and partner (4 s): same frame times, so the easy negative of
    # sample 0 is exactly the aligned audio of sample 1
    np.testing.assert_array_equal(forward[0][:, 2], forward[1][:, 0])


def test_easy_negative_offset_is_checked(videos, tmp_path):
    listing = tmp_path / 'list.txt'
    listing.write_text('own.mp4\npartner.mp4\n')
    kwargs = dict(data_prefix=dict(video=osp.dirname(videos['own'])),
                  test_mode=True)
    with pytest.raises(ValueError, match='positive integer'):
        UnlabeledAVDataset(str(listing), easy_negative_offset=0, **kwargs)
    same = UnlabeledAVDataset(str(listing), easy_negative_offset=2, **kwargs)
    with pytest.raises(ValueError, match='onto itself'):
        same.get_data_info(1)
    plain = UnlabeledAVDataset(str(listing), **kwargs)
    assert 'avs_partner_filename' not in plain.get_data_info(0)


@pytest.fixture(scope='module')
def shifted_partners(videos, tmp_path_factory):
    """The partner's tones with its audio starting 0.5 s after the video
    (``late``) and 0.5 s before it (``early``)."""
    root = tmp_path_factory.mktemp('avsync_shifted')
    paths = dict(videos)
    for name, start in (('late', 0.5), ('early', -0.5)):
        paths[name] = str(root / f'{name}.mp4')
        write_av_video(paths[name], duration=4.0, fps=FPS, size=(32, 32),
                       tone_schedule=PARTNER, audio_start=start)
    return paths


@pytest.mark.parametrize('partner,first,second', [
    # clip at video time 1.0-1.94 s = partner track time 0.5-1.44 s
    ('late', 600.0, 1200.0),
    # ... = partner track time 1.5-2.44 s
    ('early', 1200.0, 2400.0),
])
def test_easy_negative_is_read_at_the_partner_offset(shifted_partners,
                                                     partner, first, second):
    """The partner's own stream offset places its audio: read at the
    sample's offset (0 here) the easy channel would be 1200 Hz throughout
    (track time 1.0-1.94 s)."""
    out = run(shifted_partners, 16, partner=partner)
    assert out['audio_valid']
    easy = out['audios'][0, 2]
    # the tone switches at video time 1.5 s: output frame ~34 of 64
    assert bins(easy, slice(4, 28)) == {mel_bin(first)}
    assert bins(easy, slice(40, 60)) == {mel_bin(second)}
    # the aligned audio is the sample's own, unaffected: 880 Hz
    assert bins(out['audios'][0, 0]) == {mel_bin(880)}
