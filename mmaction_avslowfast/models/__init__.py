from . import backbones, data_preprocessors, heads, recognizers, roi_heads  # noqa: F401
