from . import (backbones, data_preprocessors, detectors, heads,  # noqa: F401
               recognizers, roi_heads)
