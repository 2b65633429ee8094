"""Synthetic media for the tests, the demos and the benchmarks (as
``torch.testing``: shipped with the package, never imported by it).

Importing :mod:`mmaction_avslowfast` does not import this subpackage; the
plugin's training, testing and inference code does not depend on it.

- :mod:`.synthetic_media`: videos with known picture and sound (tones,
  gradients) in the usual containers and codecs (PyAV), and the defects
  users have (late audio, 5.1, truncated files);
- :mod:`.realworld_media`: textured, noisy videos in the containers,
  codecs, rates, channel counts and resolutions of web-collected data sets
  (the real-world-like set of ``benchmarks/data_pipeline.py``);
- :mod:`.reencode`: a video re-encoded into another container, codec,
  sample rate or channel layout (AVI + MP3, Matroska, 48 kHz, 5.1);
- :mod:`.synthetic_world`: the audiovisual world of the self-supervised
  demo (``tools/make_selfsup_world.py``);
- :mod:`.synthetic_charades`, :mod:`.synthetic_epic`: tiny data sets in the
  official Charades and EPIC-Kitchens-100 layouts.
"""
