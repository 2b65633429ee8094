"""Fixtures that synthesize small mp4 files (H.264 + AAC) with PyAV, and
the lines the current MMLogger writes."""
import logging

import pytest
from mmengine.logging import MMLogger

import mmaction_avslowfast  # noqa: F401  (registers modules, applies compat)
from mmaction_avslowfast.testing.synthetic_media import (truncate_file,
                                                       write_av_video)

# A tone that changes at a known time: 500 Hz for [0, 2) s, 2 kHz afterwards.
SWITCH_TIME = 2.0
LOW_HZ, HIGH_HZ = 500.0, 2000.0
TONE_SCHEDULE = [(0.0, LOW_HZ), (SWITCH_TIME, HIGH_HZ)]


@pytest.fixture(scope='session')
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('av_media')


@pytest.fixture(scope='session')
def tone_videos(media_dir):
    """Tone-switch videos (6 s, 30 fps, 64x48) from different audio sources.

    Returns dict name -> info dict of :func:`write_av_video`.
    """
    specs = {
        'stereo44k': dict(sample_rate=44100, channels=2),
        'mono8k': dict(sample_rate=8000, channels=1),
        'mono16k': dict(sample_rate=16000, channels=1),
    }
    return {
        name: write_av_video(
            str(media_dir / f'tone_{name}.mp4'),
            duration=6.0,
            fps=30,
            size=(64, 48),
            tone_schedule=TONE_SCHEDULE,
            **kwargs)
        for name, kwargs in specs.items()
    }


@pytest.fixture(scope='session')
def silent_video(media_dir):
    """A video without any audio stream."""
    return write_av_video(
        str(media_dir / 'no_audio.mp4'), duration=3.0, with_audio=False)


@pytest.fixture(scope='session')
def short_audio_video(media_dir):
    """3 s of video with only 1 s of audio."""
    return write_av_video(
        str(media_dir / 'short_audio.mp4'),
        duration=3.0,
        tone_schedule=[(0.0, 1000.0)],
        audio_duration=1.0)


@pytest.fixture(scope='session')
def truncated_video(media_dir, tone_videos):
    """The first 30 % of an mp4's bytes (no moov atom: undecodable)."""
    return truncate_file(tone_videos['mono16k']['path'],
                         str(media_dir / 'truncated.mp4'), 0.3)


@pytest.fixture
def log_lines():
    """``(level, message)`` of every record the current ``MMLogger`` emits
    while the test runs."""
    logger = MMLogger.get_current_instance()
    lines = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(
        (record.levelno, record.getMessage()))
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
