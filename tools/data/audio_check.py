"""The audio part of ``tools/data/media_check.py``: read a file's audio
the way ``LoadAudioFromVideo`` does and flag what training would meet.

:func:`check_audio` measures (rate, channels, offset, duration, peak);
:func:`audio_flags` turns the measures into the ``no_audio``-family flags
of :data:`media_check.FLAGS`.
"""
from typing import Dict, Optional

import numpy as np


def check_audio(path: str, max_seconds: float, full_decode: bool) -> Dict:
    """Audio stream parameters and peak.

    The rate, channels and offset (audio start minus video start, s) come
    from :class:`~mmaction_avslowfast.audio.AudioSpanReader`, as
    ``LoadAudioFromVideo`` reads them; the first ``max_seconds`` (all with
    ``full_decode``) are decoded with PyAV for the peak of the channel mean
    (the signal the model gets). The duration is the decoded length, or
    the reader's ``num_samples()`` when decoding stopped early. Returns
    ``sample_rate``, ``channels``, ``audio_duration``, ``audio_offset``,
    ``audio_peak`` and ``audio_error`` (or None).
    """
    from mmaction_avslowfast.audio import AudioSpanReader
    out = dict(sample_rate=0, channels=0, audio_duration=None,
               audio_offset=None, audio_peak=None, audio_error=None)
    reader = None
    try:
        reader = AudioSpanReader(path)
        rate = int(reader.native_rate)
        out.update(sample_rate=rate, channels=int(reader.channels),
                   audio_offset=round(float(reader.offset), 4))
        limit = None if full_decode else int(max_seconds * rate)
        peak, decoded, complete = _decode_peak(path, limit)
        total = decoded
        if not complete:
            try:
                total = reader.num_samples()
            except Exception:  # noqa: BLE001 - keep the decoded length
                pass
        if decoded:
            out['audio_peak'] = peak
        else:
            out['audio_error'] = 'no audio samples decoded'
        out['audio_duration'] = round(total / rate, 4)
    except Exception as err:  # noqa: BLE001 - report any decode error
        from media_check import _short
        out['audio_error'] = _short(err).replace(repr(path), 'the file')
    finally:
        if reader is not None:
            reader.close()
    return out


def _decode_peak(path: str, limit: Optional[int]) -> tuple:
    """``(peak of the channel mean, samples decoded, whole track?)`` of
    the first audio stream, decoding at least ``limit`` samples (None:
    all)."""
    import av
    peak, count = 0.0, 0
    with av.open(path) as container:
        for packet in container.demux(container.streams.audio[0]):
            for frame in packet.decode():
                mono = _frame_mono(frame)
                if mono.size:
                    peak = max(peak, float(np.abs(mono).max()))
                count += frame.samples
            if limit is not None and count >= limit:
                return peak, count, False
    return peak, count, True


def _frame_mono(frame) -> np.ndarray:
    """Channel mean of a decoded PyAV audio frame, float32 in [-1, 1]
    (the same conversion as the training reader)."""
    from mmaction_avslowfast.audio.span_reader import _frame_channels, _mono
    return _mono([_frame_channels(frame)])


def audio_flags(rec, flag, audio, silence_threshold,
                 offset_tolerance) -> None:
    error = audio.pop('audio_error')
    rec.update(audio)
    if error:
        return flag('audio_unreadable', error)
    if (audio['audio_peak'] or 0) < silence_threshold:
        flag('silent_audio', f'peak {audio["audio_peak"]:.2g} < '
             f'{silence_threshold:g}')
    offset = audio['audio_offset']
    if offset is not None and abs(offset) > offset_tolerance:
        flag('audio_offset',
             f'audio track starts {abs(offset):.3f} s '
             f'{"after" if offset > 0 else "before"} the video (first '
             f'decoded sample, encoder priming included; tolerance '
             f'{offset_tolerance:g} s)')
    video_s, audio_s = rec['duration'], audio['audio_duration']
    if video_s and audio_s is not None and \
            audio_s < video_s - max(0.5, 0.1 * video_s):
        flag('audio_shorter', f'audio {audio_s:.2f} s, video {video_s:.2f} s')
