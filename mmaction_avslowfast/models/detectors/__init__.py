from .avslowfast_detector import AVSlowFastDetector

__all__ = ['AVSlowFastDetector']
