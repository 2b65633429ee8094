"""Puts this folder on ``sys.path`` so that every test module, in any
subfolder, can import the shared helpers (``tool_helpers``,
``mim_helpers``)."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# The inference fixtures (tone-probe model, synthesized videos, the demo
# config's checkpoint) of tests/apis, tests/visualization and tests/tools.
from av_fixtures import (api_media, demo_checkpoint,  # noqa: E402,F401
                         demo_label_map, tone_model, tone_model_files)
# The Grad-CAM tests' demo clips and probe model (one instance per session:
# a fixture imported into several test modules is built once per module).
from cam_fixtures import demo_clips, probe_model  # noqa: E402,F401
# The ONNX deployment tests' media (tests/tools/test_onnx_*).
from deploy_helpers import deploy_media  # noqa: E402,F401
