"""Pictures of the AVSlowFast plugin (matplotlib on the Agg canvas;
nothing here is registered):

- :mod:`.browse`: what a model sees, the pipeline's views next to their
  aligned log-mel clips (``tools/visualizations/browse_dataset.py``);
- :mod:`.av_figure`: a prediction, the frames, the audio track with the
  test clips and the top-k per input condition (``tools/demo.py``);
- :mod:`.cam_figure`: a Grad-CAM, heat on the frames and on the log-mel
  of a test view (``tools/demo.py --cam``).
"""
from .av_figure import build_av_figure
from .cam_figure import build_cam_figure

__all__ = ['build_av_figure', 'build_cam_figure']
