"""``read_windows``: by ranges when the stream allows it, by ranges again
after a reopen, else the whole track once; bad samples named."""
import numpy as np
import pytest

from mmaction_avslowfast.audio import (AudioDecodeError, DecodedTrack,
                                       SpanDecodeUnsupported,
                                       StreamParametersChanged, read_windows)


class FakeReader:
    """What ``read_windows`` uses of an ``AudioSpanReader``."""

    path = 'clips/fake.mp4'
    offset = 0.25

    def __init__(self, wave, native_rate=8000, seekable=True):
        self.wave = np.asarray(wave, np.float32)
        self.native_rate = native_rate
        self.seekable = seekable
        self.whole_reads = 0

    def read_all(self):
        self.whole_reads += 1
        return self.wave


def recording_read(failures=()):
    """A ``read`` that raises ``failures`` in turn on the reader, draws a
    number (a negative's position) and returns the track's samples."""
    failures = list(failures)
    calls = []

    def read(track):
        draw = np.random.randint(1 << 30)
        calls.append((track, draw))
        if failures and not isinstance(track, DecodedTrack):
            raise failures.pop(0)
        return track.wave if isinstance(track, DecodedTrack) else \
            np.full(3, draw, np.float32)

    return read, calls


def test_seekable_stream_is_read_by_ranges():
    reader = FakeReader(np.ones(100))
    read, calls = recording_read()
    read_windows(reader, read)
    assert [track for track, _ in calls] == [reader]
    assert reader.whole_reads == 0


def test_reopened_reader_is_read_by_ranges_again_with_the_same_draw():
    reader = FakeReader(np.ones(100))
    read, calls = recording_read([StreamParametersChanged('reopened')])
    np.random.seed(3)
    out = read_windows(reader, read)
    assert [track for track, _ in calls] == [reader, reader]
    assert calls[0][1] == calls[1][1]  # the negative is drawn again
    assert out[0] == calls[1][1]
    assert reader.whole_reads == 0


@pytest.mark.parametrize('seekable, by_spans, failures', [
    (False, True, ()),
    (True, False, ()),
    (True, True, [SpanDecodeUnsupported('no timestamps')]),
    (True, True, [StreamParametersChanged('1'),
                  StreamParametersChanged('2')]),
])
def test_whole_track_otherwise(seekable, by_spans, failures):
    wave = np.linspace(-1, 1, 100)
    reader = FakeReader(wave, seekable=seekable)
    read, calls = recording_read(failures)
    out = read_windows(reader, read, by_spans=by_spans)
    track = calls[-1][0]
    assert isinstance(track, DecodedTrack) and reader.whole_reads == 1
    assert (track.native_rate, track.offset) == (8000, 0.25)
    np.testing.assert_array_equal(out, wave.astype(np.float32))


@pytest.mark.parametrize('seekable', [True, False])
def test_nan_samples_are_named(seekable):
    reader = FakeReader([0.0, np.nan, 0.5], seekable=seekable)

    def read(track):
        return np.array([np.nan], np.float32) if track is reader else \
            track.wave

    with pytest.raises(AudioDecodeError, match='fake.mp4.*NaN'):
        read_windows(reader, read)


def test_unknown_sample_rate_is_named():
    reader = FakeReader(np.ones(100), native_rate=0, seekable=False)
    with pytest.raises(AudioDecodeError,
                       match='unknown audio sample rate.*fake.mp4'):
        read_windows(reader, lambda track: track.wave)
