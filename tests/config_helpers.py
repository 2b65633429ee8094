"""The model definitions of ``configs/_base_/models/`` for the tests (the
configs define each model once; the tests build from them)."""
import functools
import json
import os.path as osp

from mmengine.config import Config
from tool_helpers import REPO

MODELS_DIR = osp.join(REPO, 'configs', '_base_', 'models')


def base_model(name: str) -> dict:
    """``model`` of ``configs/_base_/models/<name>.py`` as a plain dict."""
    path = osp.join(MODELS_DIR, f'{name}.py')
    return Config.fromfile(path).model.to_dict()


def reference_backbone(variant: str = '4x16', depth: int = 50,
                       **overrides) -> dict:
    """``AVSlowFast`` config of the author's released model: R50 4x16 or
    8x8, R101 8x8, or R101 at the 4x16 geometry (not a released model;
    the R101 8x8 with tau = alpha = 8 and F->S kernel 5)."""
    if variant not in ('4x16', '8x8') or depth not in (50, 101):
        raise ValueError(f'no reference model {variant} R{depth}')
    name = 'avslowfast_r50_8x8' if depth == 50 else 'avslowfast_r101_8x8'
    cfg = base_model('avslowfast_r50_4x16' if (variant, depth) == (
        '4x16', 50) else name)['backbone']
    if variant == '4x16' and depth == 101:
        cfg.update(resample_rate=8, speed_ratio=8)
        cfg['slow_pathway']['fusion_kernel'] = 5
    cfg.update(overrides)
    return cfg


@functools.lru_cache(maxsize=None)
def _resolved_json(name: str) -> str:
    return json.dumps(Config.fromfile(osp.join(REPO, name)).to_dict())


def resolved_config(name: str) -> dict:
    """The config ``name`` (relative to the repository) resolved, as plain
    JSON types (tuples as lists); resolved once per test session, a fresh
    copy per call."""
    return json.loads(_resolved_json(name))
