"""Assigner/sampler, RoI extractor, bbox head and RoI head (AVA semantics)."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import mmaction_avslowfast  # noqa: F401
from mmaction.registry import MODELS, TASK_UTILS
from mmaction_avslowfast.models.roi_heads import (AVAMaxIoUAssigner,
                                                  AVARandomSampler,
                                                  bbox_overlaps)

NUM_CLASSES = 6


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmaction')


def _multi_hot(*ids):
    label = torch.zeros(NUM_CLASSES)
    label[list(ids)] = 1.
    return label


def test_bbox_overlaps():
    a = torch.tensor([[0., 0., 10., 10.]])
    b = torch.tensor([[0., 0., 10., 10.], [5., 0., 15., 10.],
                      [20., 20., 30., 30.]])
    iou = bbox_overlaps(a, b)
    assert torch.allclose(iou, torch.tensor([[1., 50. / 150., 0.]]))


def test_assigner_ava_thresholds():
    assigner = TASK_UTILS.build(dict(type='AVAMaxIoUAssigner'))
    gt = torch.tensor([[0., 0., 100., 100.], [200., 200., 300., 300.]])
    labels = torch.stack([_multi_hot(1, 3), _multi_hot(2)])
    priors = torch.tensor([
        [0., 0., 100., 95.],      # IoU 0.95 with gt0 -> positive
        [0., 0., 100., 85.],      # IoU 0.85 -> negative (< 0.9)
        [200., 200., 300., 292.],  # IoU 0.92 with gt1 -> positive
        [500., 500., 600., 600.],  # no overlap -> negative
    ])
    res = assigner.assign(priors, gt, labels)
    assert res.gt_inds.tolist() == [1, 0, 2, 0]
    assert torch.equal(res.labels[0], labels[0])
    assert torch.equal(res.labels[2], labels[1])
    assert res.labels[[1, 3]].sum() == 0


def test_assigner_low_quality_match_needs_min_pos_iou():
    gt = torch.tensor([[0., 0., 100., 100.]])
    labels = _multi_hot(4)[None]
    priors = torch.tensor([[0., 0., 100., 80.], [0., 0., 100., 80.]])
    strict = AVAMaxIoUAssigner()  # min_pos_iou 0.9: 0.8 is not enough
    assert strict.assign(priors, gt, labels).gt_inds.tolist() == [0, 0]
    loose = AVAMaxIoUAssigner(min_pos_iou=0.5)  # both tied priors assigned
    assert loose.assign(priors, gt, labels).gt_inds.tolist() == [1, 1]


def test_assigner_without_gt_gives_negatives():
    res = AVAMaxIoUAssigner().assign(
        torch.rand(3, 4), torch.zeros(0, 4), torch.zeros(0, NUM_CLASSES))
    assert res.gt_inds.tolist() == [0, 0, 0]


def test_sampler_adds_gt_and_limits_positives():
    torch.manual_seed(0)
    gt = torch.tensor([[0., 0., 100., 100.]])
    labels = _multi_hot(2)[None]
    priors = torch.cat([gt.repeat(5, 1), torch.tensor([[300., 300., 400.,
                                                        400.]])])
    assign = AVAMaxIoUAssigner().assign(priors, gt, labels)
    res = AVARandomSampler(num=4, pos_fraction=1.0).sample(
        assign, priors, gt, labels)
    # 1 GT + 5 matching priors = 6 positives, capped at 4; no room for negs.
    assert res.pos_priors.shape == (4, 4) and res.neg_priors.shape == (0, 4)
    assert torch.equal(res.pos_gt_labels, labels.repeat(4, 1))

    assign = AVAMaxIoUAssigner().assign(priors[-1:], gt, labels)
    res = AVARandomSampler(num=4).sample(assign, priors[-1:], gt, labels)
    assert res.pos_inds.tolist() == [0]  # the GT box itself
    assert res.neg_priors.tolist() == [[300., 300., 400., 400.]]


def _head_cfg(audio_channels=5, dropout_ratio=0.):
    return dict(
        type='AVRoIHead',
        bbox_roi_extractor=dict(
            type='AVRoIExtractor3D', featmap_stride=16, output_size=4),
        bbox_head=dict(
            type='AVBBoxHead',
            in_channels=8 + 4,
            audio_channels=audio_channels,
            num_classes=NUM_CLASSES,
            dropout_ratio=dropout_ratio,
            topk=(1, 2)),
        audio_index=2 if audio_channels else None,
        train_cfg=dict(
            assigner=dict(type='AVAMaxIoUAssigner'),
            sampler=dict(type='AVARandomSampler', num=8)))


def _feats(batch=2):
    # Slow [N, 8, 2, 4, 4], Fast [N, 4, 8, 4, 4], audio [N, 5, 4, 3]
    # (stride 16: a 64 x 64 input).
    return (torch.randn(batch, 8, 2, 4, 4), torch.randn(batch, 4, 8, 4, 4),
            torch.randn(batch, 5, 4, 3))


def test_extractor_shapes_and_temporal_pool():
    extractor = MODELS.build(
        dict(type='AVRoIExtractor3D', featmap_stride=16, output_size=4))
    slow, fast, _ = _feats()
    rois = torch.tensor([[0, 0., 0., 64., 64.], [1, 8., 8., 40., 56.]])
    out = extractor((slow, fast), rois)
    assert out.shape == (2, 12, 1, 4, 4)
    # A box covering the whole frame of a constant-in-space map gives the
    # temporal mean of that map.
    const = torch.arange(2.).view(1, 1, 2, 1, 1).expand(1, 1, 2, 4, 4)
    full = extractor(const.contiguous(),
                     torch.tensor([[0, 0., 0., 64., 64.]]))
    assert torch.allclose(full, torch.full_like(full, 0.5))
    no_pool = MODELS.build(
        dict(type='AVRoIExtractor3D', output_size=4,
             with_temporal_pool=False))
    assert no_pool((slow, fast), rois).shape == (2, 12, 8, 4, 4)


def test_bbox_head_forward_concatenates_audio():
    head = MODELS.build(_head_cfg())
    head.init_weights()
    feats = _feats()
    rois = torch.tensor([[0, 0., 0., 32., 32.], [1, 0., 0., 32., 32.],
                         [1, 16., 16., 64., 64.]])
    logits = head.forward_rois(feats, rois)
    assert logits.shape == (3, NUM_CLASSES)
    assert head.bbox_head.fc_cls.in_features == 12 + 5
    # The audio vector of clip 1 (not clip 0) enters RoIs 1 and 2.
    changed = (feats[0], feats[1], feats[2].clone())
    changed[2][1] += 3.
    new_logits = head.forward_rois(changed, rois)
    assert torch.allclose(new_logits[0], logits[0])
    assert not torch.allclose(new_logits[1:], logits[1:])


def test_bbox_head_rejects_missing_audio():
    head = MODELS.build(_head_cfg())
    with pytest.raises(ValueError, match='audio_feats'):
        head.bbox_head(torch.randn(2, 12, 1, 4, 4))


def test_visual_only_head():
    head = MODELS.build(_head_cfg(audio_channels=0))
    rois = torch.tensor([[0, 0., 0., 32., 32.]])
    assert head.forward_rois(_feats(), rois).shape == (1, NUM_CLASSES)


def test_roi_head_loss_and_backward():
    torch.manual_seed(0)
    head = MODELS.build(_head_cfg(dropout_ratio=0.5))
    feats = tuple(f.requires_grad_() for f in _feats())
    gt_bboxes = [torch.tensor([[4., 4., 40., 60.]]),
                 torch.tensor([[0., 0., 30., 30.], [30., 30., 64., 64.]])]
    gt_labels = [_multi_hot(1, 2)[None], torch.stack([_multi_hot(3),
                                                      _multi_hot(5)])]
    proposals = [torch.tensor([[4., 4., 40., 61.], [50., 0., 60., 10.]]),
                 torch.tensor([[1., 1., 30., 30.]])]
    losses = head.loss(feats, proposals, gt_bboxes, gt_labels)
    assert set(losses) >= {'loss_action_cls', 'recall@thr=0.5',
                           'prec@thr=0.5', 'recall@top1', 'prec@top2'}
    assert torch.isfinite(losses['loss_action_cls'])
    losses['loss_action_cls'].backward()
    assert all(f.grad is not None for f in feats)


def test_loss_matches_bce_on_positive_rois():
    head = MODELS.build(_head_cfg()).bbox_head
    scores = torch.randn(3, NUM_CLASSES)
    labels = torch.stack([_multi_hot(1), _multi_hot(0), _multi_hot(2, 4)])
    # Row 1 only has the background class 0: like BBoxHeadAVA it is dropped.
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        scores[[0, 2], 1:], labels[[0, 2], 1:])
    loss = head.loss(scores, labels)['loss_action_cls']
    assert torch.allclose(loss, expected)
    zero = head.loss(scores, torch.zeros_like(labels))['loss_action_cls']
    assert zero.item() == 0.


def test_predict_undoes_flip_and_crop():
    head = MODELS.build(_head_cfg()).bbox_head
    # Original frame 200 x 100 (w x h), normalised box (0.1, 0.2, 0.4, 0.6).
    box = np.array([[0.1, 0.2, 0.4, 0.6]])
    # Pipeline: crop x in [50, 150], y in [0, 100] (crop_quadruple relative),
    # then resize x2 -> 200 x 200 input, then horizontal flip.
    crop_q = np.array([0.25, 0.0, 0.5, 1.0], dtype=np.float32)
    px = box * np.array([200, 100, 200, 100])
    px = (px - np.array([50, 0, 50, 0])) * 2
    flipped = px.copy()
    flipped[:, [0, 2]] = 200 - px[:, [2, 0]]
    logits = torch.randn(1, NUM_CLASSES)
    meta = dict(img_shape=(200, 200), flip=True, crop_quadruple=crop_q)
    pred = head.predict_by_feat(torch.tensor(flipped), logits, meta)
    assert np.allclose(pred.bboxes.numpy(), box, atol=1e-6)
    assert torch.allclose(pred.scores, logits.sigmoid())
    # Without flip the unflipped box maps back the same way.
    meta['flip'] = False
    pred = head.predict_by_feat(torch.tensor(px), logits, meta)
    assert np.allclose(pred.bboxes.numpy(), box, atol=1e-6)


def test_roi_head_predict_splits_per_clip():
    head = MODELS.build(_head_cfg()).eval()
    proposals = [torch.tensor([[0., 0., 32., 32.], [8., 8., 64., 64.]]),
                 torch.tensor([[0., 0., 64., 64.]])]
    metas = [dict(img_shape=(64, 64)), dict(img_shape=(64, 64))]
    preds = head.predict(_feats(), proposals, metas)
    assert [p.scores.shape for p in preds] == [(2, NUM_CLASSES),
                                              (1, NUM_CLASSES)]
    assert torch.allclose(preds[1].bboxes, torch.tensor([[0., 0., 1., 1.]]))
    assert ((preds[0].scores > 0) & (preds[0].scores < 1)).all()
