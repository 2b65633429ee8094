"""Pictures of the AVSlowFast plugin (matplotlib on the Agg canvas;
nothing here is registered):

- :mod:`.browse`: what a model sees, the pipeline's views next to their
  aligned log-mel clips (``tools/visualizations/browse_dataset.py``);
- :mod:`.av_figure`: a prediction, the frames, the audio track with the
  test clips and the top-k per input condition (``tools/demo.py``).
"""
from .av_figure import build_av_figure

__all__ = ['build_av_figure']
