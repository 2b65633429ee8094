from . import (audio_preprocessor, backbones, detectors, heads,  # noqa: F401
               recognizers, roi_heads)
from .audio_preprocessor import AudioLogMelPreprocessor, use_device_logmel

__all__ = ['AudioLogMelPreprocessor', 'use_device_logmel']
