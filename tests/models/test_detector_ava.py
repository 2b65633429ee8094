"""AVSlowFastDetector on a small AVSlowFast (spatial_strides 1,2,2,1)."""
import copy

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import mmaction_avslowfast  # noqa: F401
import mmaction_avslowfast.models.detectors  # noqa: F401
from mmaction.registry import METRICS, MODELS
from mmaction.structures import ActionDataSample

NUM_CLASSES = 81
CLIP_LEN, AUDIO_FRAMES, SIZE = 16, 64, 64

SMALL_BACKBONE = dict(
    type='AVSlowFast',
    resample_rate=4,
    speed_ratio=4,
    channel_ratio=4,
    clip_len=CLIP_LEN,
    audio_frames=AUDIO_FRAMES,
    slow_pathway=dict(
        type='resnet3d', depth=18, base_channels=16, pretrained=None,
        lateral=True, lateral_norm=True, conv1_kernel=(1, 7, 7),
        conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1),
        spatial_strides=(1, 2, 2, 1)),
    fast_pathway=dict(
        type='resnet3d', depth=18, base_channels=4, pretrained=None,
        lateral=False, conv1_kernel=(5, 7, 7), conv1_stride_t=1,
        pool1_stride_t=1, spatial_strides=(1, 2, 2, 1)),
    audio_fusion_interm=16,
    drop_pathway=0.0,
    avs_stages=(False, ) * 5)

DETECTOR = dict(
    type='AVSlowFastDetector',
    backbone=SMALL_BACKBONE,
    roi_head=dict(
        type='AVRoIHead',
        bbox_roi_extractor=dict(
            type='AVRoIExtractor3D', featmap_stride=16, output_size=4),
        bbox_head=dict(
            type='AVBBoxHead', in_channels=128 + 32, audio_channels=64,
            num_classes=NUM_CLASSES, dropout_ratio=0.5)),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        preprocessors=dict(
            imgs=dict(type='ActionDataPreprocessor', mean=[114.75] * 3,
                      std=[57.375] * 3, format_shape='NCTHW'),
            audios=dict(type='ActionDataPreprocessor'))),
    train_cfg=dict(
        rcnn=dict(
            assigner=dict(type='AVAMaxIoUAssigner'),
            sampler=dict(type='AVARandomSampler', num=32))))


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmaction')
    torch.manual_seed(0)


def _sample(video_id='vid', timestamp=902, flip=False):
    sample = ActionDataSample()
    sample.set_metainfo(
        dict(img_shape=(SIZE, SIZE), video_id=video_id, timestamp=timestamp,
             flip=flip))
    sample.proposals = InstanceData(bboxes=torch.tensor(
        [[4., 6., 30., 60.], [34., 2., 62., 58.], [20., 20., 40., 40.]],
        dtype=torch.float64))
    labels = torch.zeros(2, NUM_CLASSES)
    labels[0, [11, 80]] = 1
    labels[1, 12] = 1
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[4., 6., 30., 61.], [34., 2., 62., 58.]]),
        labels=labels)
    return sample


def _batch(n=2, flip=False, imgs=None):
    gen = torch.Generator().manual_seed(1)
    if imgs is None:
        imgs = [torch.randint(0, 255, (3, CLIP_LEN, SIZE, SIZE),
                              generator=gen).to(torch.uint8)
                for _ in range(n)]
    audios = [torch.randn(1, 1, AUDIO_FRAMES, 80, generator=gen)
              for _ in range(n)]
    return dict(
        inputs=dict(imgs=imgs, audios=audios),
        data_samples=[_sample(timestamp=902 + i, flip=flip)
                      for i in range(n)])


def _build():
    model = MODELS.build(copy.deepcopy(DETECTOR))
    model.init_weights()
    return model


def test_train_step_losses_and_grads():
    model = _build().train()
    data = model.data_preprocessor(_batch(), training=True)
    assert data['inputs']['imgs'].shape == (2, 3, CLIP_LEN, SIZE, SIZE)
    assert data['inputs']['audios'].shape == (2, 1, 1, AUDIO_FRAMES, 80)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_action_cls'])
    losses['loss_action_cls'].backward()
    fc = model.roi_head.bbox_head.fc_cls
    assert fc.in_features == 128 + 32 + 64
    # The audio part of the classifier receives gradient.
    assert fc.weight.grad[:, 160:].abs().sum() > 0
    assert model.backbone.audio_path.parameters().__next__().grad is not None


def test_train_step_adds_the_backbone_avs_outputs():
    """With AVS on and the negative in audio channel 1, the backbone's AVS
    losses (returned by ``forward(..., return_avs=True)``) join the RoI
    head's losses and train the AVS heads."""
    cfg = copy.deepcopy(DETECTOR)
    cfg['backbone']['avs_stages'] = (False, False, True, True, True)
    cfg['backbone']['drop_pathway'] = 1.0  # no fusion: every stage live
    model = MODELS.build(cfg)
    model.init_weights()
    model.backbone.set_epoch(0)
    model.train()
    data = model.data_preprocessor(_batch(), training=True)
    data['inputs']['audios'] = data['inputs']['audios'].repeat(1, 1, 2, 1, 1)
    data['inputs']['audios'][:, :, 1] += 1.0  # the negative
    losses = model(**data, mode='loss')
    stages = ('res3', 'res4', 'res5')
    assert {f'loss_avs_{s}' for s in stages} <= set(losses)
    assert {f'avs_pair_acc_{s}' for s in stages} <= set(losses)
    assert 'loss_action_cls' in losses
    total, _ = model.parse_losses(losses)
    total.backward()
    for stage in stages:
        head = model.backbone.avs_heads[stage]
        assert all(p.grad is not None for p in head.parameters()), stage
    model.eval()
    with torch.no_grad():
        out = model.test_step(_batch())
    assert len(out) == 2


def test_predict_feeds_stock_ava_metric(tmp_path):
    model = _build().eval()
    with torch.no_grad():
        out = model.test_step(_batch())
    assert len(out) == 2
    pred = out[0].pred_instances
    assert pred.bboxes.shape == (3, 4) and pred.scores.shape == (3, 81)
    assert ((pred.bboxes >= 0) & (pred.bboxes <= 1)).all()
    assert torch.allclose(pred.bboxes[0],
                          torch.tensor([4., 6., 30., 60.]) / SIZE)
    # MMAction2's own AVAMetric.process consumes the predictions unchanged.
    metric = METRICS.build(
        dict(type='AVAMetric', ann_file='unused', exclude_file='unused',
             label_file='unused'))
    metric.process({}, [s.to_dict() for s in out])
    assert len(metric.results) == 2
    per_class = metric.results[0]['outputs']
    assert len(per_class) == 80 and per_class[0].shape[1] == 5


def test_predict_undoes_flip():
    """A flipped clip (flip=True in the metainfo) with its mirrored
    proposals gives the boxes of the original frame."""
    model = _build().eval()
    img = torch.randint(0, 255, (3, CLIP_LEN, SIZE, SIZE),
                        generator=torch.Generator().manual_seed(3)).to(
                            torch.uint8)
    plain = _batch(n=1, imgs=[img])
    flipped = _batch(n=1, imgs=[img.flip(-1)], flip=True)
    bboxes = flipped['data_samples'][0].proposals.bboxes
    flipped_boxes = bboxes.clone()
    flipped_boxes[:, [0, 2]] = SIZE - bboxes[:, [2, 0]]
    flipped['data_samples'][0].proposals.bboxes = flipped_boxes
    with torch.no_grad():
        a = model.test_step(plain)[0].pred_instances
        b = model.test_step(flipped)[0].pred_instances
    assert torch.allclose(a.bboxes, b.bboxes, atol=1e-6)


def test_rejects_multi_view_inputs():
    model = _build().eval()
    with pytest.raises(ValueError, match='single view'):
        model.extract_feat(
            dict(imgs=torch.zeros(1, 2, 3, CLIP_LEN, SIZE, SIZE),
                 audios=torch.zeros(1, 1, AUDIO_FRAMES, 80)))


def test_missing_proposals_message():
    model = _build().eval()
    data = _batch(n=1)
    del data['data_samples'][0].proposals
    with pytest.raises(KeyError, match='proposal_file'):
        model.test_step(data)


def test_backbone_initialised_from_recognizer_checkpoint(tmp_path):
    """A Kinetics recognizer checkpoint (keys ``backbone.*``, ``cls_head.*``)
    initialises the detector's backbone; the RoI head stays fresh."""
    source = _build()
    state = {f'backbone.{k}': v for k, v in
             source.backbone.state_dict().items()}
    state['cls_head.fc_cls.weight'] = torch.zeros(400, 224)
    ckpt = str(tmp_path / 'kinetics.pth')
    torch.save(dict(state_dict=state), ckpt)

    cfg = copy.deepcopy(DETECTOR)
    cfg['backbone']['pretrained'] = ckpt
    torch.manual_seed(123)
    model = MODELS.build(cfg)
    model.init_weights()
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    assert not torch.equal(model.roi_head.bbox_head.fc_cls.weight,
                           source.roi_head.bbox_head.fc_cls.weight)
