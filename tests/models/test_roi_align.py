"""RoIAlign agreement: torchvision backend vs. mmcv (when it imports) and vs.
a direct bilinear reference written here from the RoIAlign definition
(aligned=True, adaptive sampling, average pooling)."""
import math

import numpy as np
import pytest
import torch

import mmaction_avslowfast  # noqa: F401
from mmaction_avslowfast.models.roi_heads import (RoIAlign,
                                                  mmcv_roi_align_available,
                                                  resolve_roi_align_backend)


def _bilinear(img, y, x):
    """Value of ``img [H, W]`` at real ``(y, x)`` with RoIAlign's border
    rules: zero outside ``[-1, size]``, clamped inside."""
    height, width = img.shape
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(math.floor(y)), int(math.floor(x))
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return ((1 - ly) * (1 - lx) * img[y0, x0] + (1 - ly) * lx * img[y0, x1] +
            ly * (1 - lx) * img[y1, x0] + ly * lx * img[y1, x1])


def reference_roi_align(feats, rois, out_size, scale):
    """Direct loops: feats ``[N, C, H, W]``, rois ``[K, 5]``."""
    feats = feats.double().numpy()
    out = np.zeros((len(rois), feats.shape[1], out_size, out_size))
    for k, (b, x1, y1, x2, y2) in enumerate(rois.double().tolist()):
        x1, y1, x2, y2 = (v * scale - 0.5 for v in (x1, y1, x2, y2))
        bin_h, bin_w = (y2 - y1) / out_size, (x2 - x1) / out_size
        grid_h = max(1, math.ceil((y2 - y1) / out_size))
        grid_w = max(1, math.ceil((x2 - x1) / out_size))
        for c in range(feats.shape[1]):
            img = feats[int(b), c]
            for ph in range(out_size):
                for pw in range(out_size):
                    acc = 0.0
                    for iy in range(grid_h):
                        y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                        for ix in range(grid_w):
                            x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                            acc += _bilinear(img, y, x)
                    out[k, c, ph, pw] = acc / (grid_h * grid_w)
    return torch.from_numpy(out)


def _random_case(seed=0):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(2, 3, 9, 11, generator=gen)
    # Boxes in input pixels (stride 16 -> image 144 x 176), incl. a box
    # crossing the border and a tiny one, so every sampling rule is hit.
    rois = torch.tensor([[0, 10.0, 20.0, 150.0, 130.0],
                         [1, 0.0, 0.0, 176.0, 144.0],
                         [1, 100.0, 5.0, 190.0, 160.0],
                         [0, 30.0, 40.0, 33.0, 41.0],
                         [1, 64.5, 70.25, 120.75, 99.0]])
    return feats, rois


def test_auto_backend_resolves():
    expected = 'mmcv' if mmcv_roi_align_available() else 'torchvision'
    assert resolve_roi_align_backend('auto') == expected
    with pytest.raises(ValueError, match='backend'):
        resolve_roi_align_backend('cuda')


def test_torchvision_matches_bilinear_reference():
    feats, rois = _random_case()
    layer = RoIAlign(8, 1. / 16, sampling_ratio=0, aligned=True,
                     backend='torchvision')
    out = layer(feats, rois).double()
    ref = reference_roi_align(feats, rois, 8, 1. / 16)
    assert out.shape == (5, 3, 8, 8)
    max_abs_diff = (out - ref).abs().max().item()
    print(f'RoIAlign torchvision vs bilinear reference: max abs diff '
          f'{max_abs_diff:.3e}')
    assert max_abs_diff < 1e-5


def test_torchvision_differs_from_unaligned():
    """aligned=True matters: the legacy (no half-pixel) version differs."""
    feats, rois = _random_case(1)
    aligned = RoIAlign(8, 1. / 16, aligned=True, backend='torchvision')
    legacy = RoIAlign(8, 1. / 16, aligned=False, backend='torchvision')
    assert not torch.allclose(aligned(feats, rois), legacy(feats, rois))


@pytest.mark.skipif(
    not mmcv_roi_align_available(), reason='mmcv.ops does not import')
def test_torchvision_matches_mmcv():
    feats, rois = _random_case()
    tv = RoIAlign(8, 1. / 16, backend='torchvision')(feats, rois)
    mm = RoIAlign(8, 1. / 16, backend='mmcv')(feats, rois)
    assert (tv - mm).abs().max().item() < 1e-5


def test_mmcv_backend_error_is_clear():
    if mmcv_roi_align_available():
        pytest.skip('mmcv.ops imports here')
    with pytest.raises(ImportError, match='torchvision'):
        RoIAlign(8, 1. / 16, backend='mmcv')


def test_rejects_bad_rois():
    layer = RoIAlign(2, 1.0, backend='torchvision')
    with pytest.raises(ValueError, match=r'\[K, 5\]'):
        layer(torch.zeros(1, 1, 4, 4), torch.zeros(3, 4))
