"""Params and GFLOPs of AVSlowFast against the reference.

Counts one 256x256 view (imgs ``[1, 3, 32, 256, 256]``, audios
``[1, 1, 128, 80]``) of backbone + classification head (400 classes) in eval
mode with ``mmengine.analysis.FlopAnalyzer`` (fvcore convention: one
multiply-accumulate = one flop, as PySlowFast and the paper count). The
reference figures were measured on the author's released model
(fanyix/SlowFast @ 629fd1b) with fvcore; stock ``ResNet3dSlowFast`` R50 4x16
is measured in the same run as a cross-check of the counting convention.

Usage::

    python benchmarks/model_cost.py [--out benchmarks/results/model_cost.json]

Timing is not measured here: single unpaired passes are too noisy to compare
(one re-run put R101 8x8 below R101 4x16). ``benchmarks/speed.py`` times
training steps and multi-view testing against stock SlowFast in paired
rounds.

Exit status 1 if a figure is outside its tolerance (params 0.5 %,
FLOPs 3 %).
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

import torch
import torch.nn as nn

import mmaction_avslowfast  # noqa: F401  (registers modules, applies shims)
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmaction.registry import MODELS

NUM_CLASSES = 400
PARAM_TOL = 0.005
FLOP_TOL = 0.03
MODELS_DIR = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '_base_',
    'models')
# The R101 at the 4x16 geometry (measured by the author, no recipe).
GEOMETRY_4X16 = dict(
    resample_rate=8, speed_ratio=8, slow_pathway=dict(fusion_kernel=5))


def reference_backbone(name: str, geometry: dict = None) -> dict:
    """Backbone of ``configs/_base_/models/<name>.py`` (the released
    model), optionally with another Slow/Fast geometry."""
    cfg = Config.fromfile(osp.join(MODELS_DIR, f'{name}.py'))
    if geometry:
        cfg.merge_from_dict(dict(model=dict(backbone=geometry)))
    return cfg.model.backbone.to_dict()


CASES = [
    # name, backbone cfg, head in_channels, ref params (M), ref GFLOPs
    ('SlowFast R50 4x16 (stock)', 'slowfast', 2304, 34.48, 36.3),
    ('AVSlowFast R50 4x16', reference_backbone('avslowfast_r50_4x16'), 3328,
     44.20, 39.9),
    ('AVSlowFast R50 8x8', reference_backbone('avslowfast_r50_8x8'), 3328,
     44.55, 68.9),
    ('AVSlowFast R101 4x16',
     reference_backbone('avslowfast_r101_8x8', GEOMETRY_4X16), 3328, 68.26,
     64.8),
    ('AVSlowFast R101 8x8', reference_backbone('avslowfast_r101_8x8'), 3328,
     68.60, 113.4),
]


class SlowFastClassifier(nn.Module):
    """Stock ResNet3dSlowFast + SlowFastHead built through the registry."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = MODELS.build(dict(type='ResNet3dSlowFast'))
        self.cls_head = MODELS.build(
            dict(
                type='SlowFastHead',
                num_classes=NUM_CLASSES,
                in_channels=2304,
                dropout_ratio=0.5))

    def forward(self, imgs, audios=None):
        return self.cls_head(self.backbone(imgs))


class AVClassifier(nn.Module):
    """AVSlowFast backbone + AVSlowFastHead (3-pathway late fusion)."""

    def __init__(self, backbone: dict, in_channels: int) -> None:
        super().__init__()
        self.backbone = MODELS.build(copy.deepcopy(backbone))
        self.cls_head = MODELS.build(
            dict(
                type='AVSlowFastHead',
                num_classes=NUM_CLASSES,
                in_channels=in_channels,
                dropout_ratio=0.5))

    def forward(self, imgs, audios):
        return self.cls_head(self.backbone(imgs, audios))


def build(case) -> nn.Module:
    _, backbone, in_channels, _, _ = case
    model = SlowFastClassifier() if backbone == 'slowfast' else AVClassifier(
        backbone, in_channels)
    for module in (model.backbone, model.cls_head):
        module.init_weights()
    return model.eval()


def count_flops(model: nn.Module, inputs) -> float:
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer.total() / 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='benchmarks/results/model_cost.json')
    args = parser.parse_args()
    init_default_scope('mmaction')
    torch.manual_seed(0)

    inputs = (torch.randn(1, 3, 32, 256, 256), torch.randn(1, 1, 128, 80))
    rows = []
    for case in CASES:
        model = build(case)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        with torch.no_grad():
            gflops = count_flops(model, inputs)
        name, _, _, ref_params, ref_gflops = case
        rows.append(
            dict(
                model=name,
                params_M=round(params, 3),
                ref_params_M=ref_params,
                params_err=round(params / ref_params - 1, 5),
                params_ok=abs(params / ref_params - 1) <= PARAM_TOL,
                gflops=round(gflops, 2),
                ref_gflops=ref_gflops,
                gflops_err=round(gflops / ref_gflops - 1, 5),
                gflops_ok=abs(gflops / ref_gflops - 1) <= FLOP_TOL,
                gflops_vs_slowfast=None))
        del model

    for row in rows:
        row['gflops_vs_slowfast'] = round(row['gflops'] / rows[0]['gflops'],
                                          3)

    header = (f'{"model":28s} {"params M":>9s} {"ref":>7s} {"err":>7s} '
              f'{"GFLOPs":>8s} {"ref":>7s} {"err":>7s} {"x SF":>5s}  ok')
    print(f'one 256x256 view, 32 frames, audio 128x80, {NUM_CLASSES} classes')
    print(header)
    print('-' * len(header))
    for r in rows:
        ok = 'yes' if r['params_ok'] and r['gflops_ok'] else 'NO'
        print(f'{r["model"]:28s} {r["params_M"]:9.2f} {r["ref_params_M"]:7.2f}'
              f' {100 * r["params_err"]:+6.2f}% {r["gflops"]:8.2f} '
              f'{r["ref_gflops"]:7.1f} {100 * r["gflops_err"]:+6.2f}% '
              f'{r["gflops_vs_slowfast"]:5.2f}  {ok}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(
            dict(
                input=dict(imgs=list(inputs[0].shape),
                           audios=list(inputs[1].shape)),
                convention='FlopAnalyzer (fvcore): 1 multiply-add = 1 flop',
                param_tolerance=PARAM_TOL,
                flop_tolerance=FLOP_TOL,
                rows=rows),
            f,
            indent=2)
    print(f'written {args.out}')
    return 0 if all(r['params_ok'] and r['gflops_ok'] for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
