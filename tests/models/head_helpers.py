"""Shared by the head tests: a built head and pathway features of a small
three-pathway backbone (Slow 48, Fast 8, Audio 16 channels)."""
import torch
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS

IN_CHANNELS = 48 + 8 + 16


def build_head(head_type, **kwargs):
    """``head_type`` built from its defaults and ``kwargs``, initialised."""
    init_default_scope('mmaction')
    head = MODELS.build(dict(type=head_type, **kwargs))
    head.init_weights()
    return head


def features(n=2):
    """``(slow [n, 48, 2, 3, 3], fast [n, 8, 8, 3, 3], audio [n, 16, 4,
    2])``."""
    return (torch.randn(n, 48, 2, 3, 3), torch.randn(n, 8, 8, 3, 3),
            torch.randn(n, 16, 4, 2))
