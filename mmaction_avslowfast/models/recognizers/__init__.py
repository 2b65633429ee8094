from .av_recognizer3d import AVRecognizer3D
from .avs_pretrainer import AVSPretrainer

__all__ = ['AVRecognizer3D', 'AVSPretrainer']
