"""Audio transforms for AVSlowFast (registered in MMAction2's TRANSFORMS)."""
from ...audio import (AudioDecodeError, LogMelExtractor, clip_time_spans,
                      decode_audio, logmel_clips, silence_value,
                      slice_logmel)
from .audio_augment import AudioFreqMask, AudioGainJitter, AudioTimeMask
from .audio_loading import AudioLogMelClips, LoadAudioFromVideo
from .avsync_audio import AVSyncEvalAudio
from .blank_audio import BlankAudio
from .charades_labels import CharadesClipLabel
from .formatting import AlignAudioViews, PackAVInputs
from .logmel_loading import LoadLogMel
from .segment_sampling import SegmentSampleFrames
from .video_loading import (CheckedDecordDecode, CheckedDecordInit,
                            CheckedRawFrameDecode, VideoDecodeError)

__all__ = [
    'LoadAudioFromVideo', 'AudioLogMelClips', 'LoadLogMel', 'AlignAudioViews',
    'PackAVInputs', 'AudioGainJitter', 'AudioTimeMask', 'AudioFreqMask',
    'AudioDecodeError', 'LogMelExtractor', 'decode_audio', 'clip_time_spans',
    'slice_logmel', 'logmel_clips', 'silence_value', 'CheckedDecordInit',
    'CheckedDecordDecode', 'CheckedRawFrameDecode', 'VideoDecodeError',
    'SegmentSampleFrames', 'CharadesClipLabel', 'AVSyncEvalAudio', 'BlankAudio'
]
