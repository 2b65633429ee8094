from . import (backbones, detectors, heads, recognizers,  # noqa: F401
               roi_heads)
