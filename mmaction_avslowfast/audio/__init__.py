"""Audio of a video file, from container to aligned log-mel clips.

Three concepts, one module group each, read top-down:

- container I/O: :mod:`.container` (open a file, stream headers, errors),
  :mod:`.span_reader` (PyAV decoding of a track or of sample ranges),
  :mod:`.decode` (whole-track decoding; PyAV is the only audio reader);
- DSP: :mod:`.resample` (windowed-sinc resampling), :mod:`.logmel` (the
  reference log-mel recipe and normalisation);
- alignment: :mod:`.alignment` (clip times -> log-mel frame positions,
  AVS negatives, cutting clips from a full-track log-mel), :mod:`.spans`
  (the ranges those positions read, decoded and resampled, and each output
  frame's samples cut out of them for the log-mel, on the workers or on
  the model's device).

The registered transforms in :mod:`mmaction_avslowfast.datasets.transforms`
are thin wrappers over these functions; ``tools/data/extract_logmel.py``
and the tests use them directly, so online and precomputed features are
computed and sliced by the same code.
"""
from .alignment import (ClipFrames, clip_frame_positions, clip_frame_times,
                        clip_time_spans, logmel_clips,
                        sample_negative_start)
from .container import (AudioDecodeError, SpanDecodeUnsupported,
                        StreamParametersChanged, open_for_audio)
from .decode import check_waveform, decode_audio
from .logmel import (LOG_EPS, LOGMEL_MEAN, LOGMEL_STD, LogMelExtractor,
                     normalize_logmel, silence_value, slice_logmel,
                     windows_logmel)
from .resample import (ResamplerCache, WaveformResampler, resample,
                       resampled_length)
from .span_reader import AudioSpanReader
from .spans import (DecodedTrack, frame_ranges, gather_windows,
                    read_windows, span_clips, span_segments)

__all__ = [
    'AudioDecodeError', 'SpanDecodeUnsupported', 'StreamParametersChanged',
    'open_for_audio', 'AudioSpanReader', 'check_waveform', 'decode_audio',
    'ResamplerCache',
    'WaveformResampler', 'resample', 'resampled_length', 'LOG_EPS',
    'LOGMEL_MEAN', 'LOGMEL_STD', 'LogMelExtractor', 'normalize_logmel',
    'silence_value', 'slice_logmel', 'clip_time_spans',
    'ClipFrames', 'clip_frame_times', 'clip_frame_positions',
    'sample_negative_start', 'logmel_clips', 'windows_logmel',
    'DecodedTrack', 'frame_ranges', 'gather_windows', 'read_windows',
    'span_clips', 'span_segments'
]
