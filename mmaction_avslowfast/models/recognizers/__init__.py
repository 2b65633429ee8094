from .av_recognizer3d import AVRecognizer3D

__all__ = ['AVRecognizer3D']
