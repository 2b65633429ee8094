import mmaction_avslowfast  # noqa: F401, isort: skip

import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch import nn

from mmaction.registry import MODELS


class ToyAVBackbone(nn.Module):
    """Stands in for AVSlowFast: (imgs, audios) -> (slow, fast, audio)."""

    def __init__(self):
        super().__init__()
        self.slow = nn.Conv3d(3, 8, 1)
        self.fast = nn.Conv3d(3, 4, 1)
        self.audio = nn.Conv2d(1, 6, 1)
        self.seen = None

    def forward(self, imgs, audios):
        self.seen = dict(imgs=imgs.detach().clone(),
                         audios=audios.detach().clone())
        self._aux = {'loss_avs_res3': self.audio.weight.sum() * 0 + 0.25}
        return (self.slow(imgs[:, :, ::4]), self.fast(imgs),
                self.audio(audios[:, :1]))

    def aux_losses(self):
        return self._aux if self.training else {}


def build_recognizer(**kwargs):
    init_default_scope('mmaction')
    cfg = dict(
        type='AVRecognizer3D',
        backbone=dict(type=ToyAVBackbone),
        cls_head=dict(type='AVSlowFastHead', num_classes=3, in_channels=18,
                      average_clips='prob'),
        data_preprocessor=dict(
            type='MultiModalDataPreprocessor',
            preprocessors=dict(
                imgs=dict(type='ActionDataPreprocessor', mean=[114.75] * 3,
                          std=[57.375] * 3, format_shape='NCTHW'),
                audios=dict(type='ActionDataPreprocessor'))))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def data_batch(n=2, views=1, labels=(0, 2)):
    packed = [
        dict(inputs=dict(
            imgs=torch.randint(0, 255, (views, 3, 8, 16, 16)).float(),
            audios=torch.randn(views, 2, 32, 20)),
             data_samples=ActionDataSample().set_gt_label(labels[i]))
        for i in range(n)
    ]
    return pseudo_collate(packed)


def test_loss_contains_aux_losses_as_separate_entries():
    model = build_recognizer().train()
    data = model.data_preprocessor(data_batch(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) >= {'loss_cls', 'top1_acc', 'loss_avs_res3'}
    assert losses['loss_avs_res3'].item() == pytest.approx(0.25)
    total, log_vars = model.parse_losses(losses)
    assert 'loss_avs_res3' in log_vars
    assert total.item() == pytest.approx(
        (losses['loss_cls'] + losses['loss_avs_res3']).item())


def test_backbone_gets_flattened_views_and_head_averages_them():
    model = build_recognizer().eval()
    data = model.data_preprocessor(data_batch(views=3), training=False)
    with torch.no_grad():
        preds = model(**data, mode='predict')
    assert model.backbone.seen['imgs'].shape == (6, 3, 8, 16, 16)
    assert model.backbone.seen['audios'].shape == (6, 2, 32, 20)
    assert len(preds) == 2 and preds[0].pred_score.shape == (3, )
    assert preds[0].pred_score.sum().item() == pytest.approx(1.0)


def test_blank_modalities_zeroes_audio_only():
    model = build_recognizer(blank_modalities=('audios', )).eval()
    data = model.data_preprocessor(data_batch(), training=False)
    with torch.no_grad():
        model(**data, mode='predict')
    assert model.backbone.seen['audios'].abs().max() == 0
    assert model.backbone.seen['imgs'].abs().max() > 0


def test_blank_modalities_rejects_unknown_key():
    model = build_recognizer(blank_modalities=('audio', )).eval()
    data = model.data_preprocessor(data_batch(), training=False)
    with pytest.raises(KeyError, match="names \\['audio'\\]"):
        model(**data, mode='predict')


def test_aux_loss_without_loss_in_name_is_rejected():
    model = build_recognizer().train()
    model.backbone.aux_losses = lambda: {'avs_res3': torch.tensor(1.)}
    data = model.data_preprocessor(data_batch(), training=True)
    with pytest.raises(KeyError, match="must contain 'loss'"):
        model(**data, mode='loss')
