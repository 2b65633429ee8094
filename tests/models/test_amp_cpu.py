"""Half precision (what ``--amp`` / ``optim_wrapper.dtype='bfloat16'`` run on
a GPU) checked with CPU autocast: training losses and gradients finite, the
head's MMAction2 code path that calls ``.numpy()`` works, AVS codes are
normalised in float32. CI has no GPU; ``benchmarks/speed.py`` runs AMP there.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmaction_avslowfast  # noqa: F401
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmaction_avslowfast.models.backbones import AVSyncHead

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
torch.set_num_threads(1)


def demo_model(drop):
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'avslowfast_demo.py'))
    cfg.model.backbone.drop_pathway = drop
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def batch(n=3, views=1, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = dict(
        imgs=torch.randn(n, views, 3, 16, 32, 32, generator=gen),
        audios=torch.randn(n, views, 2, 64, 80, generator=gen))
    samples = []
    for i in range(n):
        sample = ActionDataSample()
        sample.set_gt_label(i % 6)
        samples.append(sample)
    return inputs, samples


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
@pytest.mark.parametrize('drop', [0.0, 1.0])
def test_training_step_under_autocast_is_finite(dtype, drop):
    model = demo_model(drop)
    model.train()
    inputs, samples = batch()
    with torch.autocast('cpu', dtype=dtype):
        losses = model(inputs, samples, mode='loss')
    assert {'loss_cls', 'top1_acc', 'loss_avs_res3'} <= set(losses)
    for name, value in losses.items():
        assert torch.isfinite(value).all(), (name, value)
    assert losses['loss_avs_res3'] > 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    assert model.cls_head.fc_cls.weight.grad.abs().sum() > 0


def test_half_precision_scores_reach_loss_and_predictions():
    """MMAction2 1.2.0's ``BaseHead.loss_by_feat`` calls ``.numpy()`` on the
    scores (fails for bf16); predictions must be dumpable too."""
    model = demo_model(0.0)
    head = model.cls_head
    _, samples = batch()
    scores = torch.randn(3, 6).to(torch.bfloat16).requires_grad_()
    losses = head.loss_by_feat(scores, samples)
    assert losses['loss_cls'].dtype == torch.float32
    assert 0 <= float(losses['top1_acc']) <= 1
    losses['loss_cls'].backward()
    assert scores.grad is not None and scores.grad.abs().sum() > 0
    preds = head.predict_by_feat(scores.detach().repeat(2, 1), samples)
    assert preds[0].pred_score.dtype == torch.float32
    preds[0].pred_score.numpy()


def test_eval_under_autocast_matches_float32():
    model = demo_model(0.0).eval()
    inputs, samples = batch(2, views=3)
    with torch.no_grad():
        ref = model(inputs, samples, mode='predict')
        ref = torch.stack([s.pred_score for s in ref])
        with torch.autocast('cpu', dtype=torch.bfloat16):
            half = model(inputs, batch(2, views=3)[1], mode='predict')
        half = torch.stack([s.pred_score for s in half])
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, ref, atol=2e-2, rtol=0)


def test_avs_codes_are_normalised_in_float32():
    """fp16 cannot represent the normalisation's eps (1e-12): an all-zero
    code would become 0/0 = NaN."""
    head = AVSyncHead(8, 8, proj_dim=4)
    head.init_weights()
    with torch.no_grad():
        head.visual_fc.bias.zero_()
    visual = torch.zeros(2, 8, 1, 2, 2)
    pos, neg = torch.randn(2, 8, 3), torch.randn(2, 8, 3)
    valid = torch.ones(2, dtype=torch.bool)
    with torch.autocast('cpu', dtype=torch.float16):
        v, p, n = head.embed(visual, pos, neg)
        loss, _ = head(visual, pos, neg, valid)
    assert v.dtype == p.dtype == torch.float32
    assert torch.isfinite(v).all() and torch.isfinite(loss)
    torch.testing.assert_close(p.norm(dim=1), torch.full((2, ), 0.5))
