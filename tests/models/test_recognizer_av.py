import mmaction_avslowfast  # noqa: F401, isort: skip

import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch import nn

from mmaction.registry import MODELS


class ToyAVBackbone(nn.Module):
    """Stands in for AVSlowFast: (imgs, audios) -> (slow, fast, audio), and
    with ``return_avs`` also its AVS outputs (``avs``, in training)."""

    def __init__(self, avs=None):
        super().__init__()
        self.slow = nn.Conv3d(3, 8, 1)
        self.fast = nn.Conv3d(3, 4, 1)
        self.audio = nn.Conv2d(1, 6, 1)
        self.avs = avs
        self.seen = None

    def forward(self, imgs, audios, return_avs=False):
        self.seen = dict(imgs=imgs.detach().clone(),
                         audios=audios.detach().clone())
        feats = (self.slow(imgs[:, :, ::4]), self.fast(imgs),
                 self.audio(audios[:, :1]))
        if not return_avs:
            return feats
        if self.avs is not None:
            avs = {k: v(self) for k, v in self.avs.items()}
        else:
            avs = {'loss_avs_res3': self.audio.weight.sum() * 0 + 0.25,
                   'avs_pair_acc_res3': torch.tensor(0.75)}
        return feats, avs if self.training else {}


class PlainAVBackbone(ToyAVBackbone):
    """An audiovisual backbone without AVS outputs (no ``return_avs``)."""

    def forward(self, imgs, audios):
        return super().forward(imgs, audios)


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


def test_loss_contains_avs_outputs_as_separate_entries():
    model = build_recognizer().train()
    data = model.data_preprocessor(data_batch(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) >= {'loss_cls', 'top1_acc', 'loss_avs_res3',
                           'avs_pair_acc_res3'}
    assert losses['loss_avs_res3'].item() == pytest.approx(0.25)
    total, log_vars = model.parse_losses(losses)
    assert 'loss_avs_res3' in log_vars
    # logged, not optimised
    assert log_vars['avs_pair_acc_res3'] == pytest.approx(0.75)
    assert total.item() == pytest.approx(
        (losses['loss_cls'] + losses['loss_avs_res3']).item())


def test_undefined_pair_accuracy_is_not_logged():
    """No valid pair (e.g. blanked audio): the NaN pair accuracy is left out
    of the log, the loss stays."""
    model = build_recognizer(backbone=dict(type=ToyAVBackbone, avs={
        'loss_avs_res3': lambda m: m.audio.weight.sum() * 0,
        'avs_pair_acc_res3': lambda m: torch.tensor(float('nan')),
        'avs_pair_acc_res4': lambda m: torch.tensor(0.5)})).train()
    data = model.data_preprocessor(data_batch(), training=True)
    losses = model(**data, mode='loss')
    assert 'avs_pair_acc_res3' not in losses
    assert losses['avs_pair_acc_res4'].item() == 0.5
    assert losses['loss_avs_res3'].item() == 0


def test_backbone_without_return_avs_trains_on_the_head_loss():
    model = build_recognizer(backbone=dict(type=PlainAVBackbone)).train()
    data = model.data_preprocessor(data_batch(), training=True)
    losses = model(**data, mode='loss')
    assert not any('avs' in k for k in losses)
    assert 'loss_cls' in losses


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


def test_avs_output_with_gradient_without_loss_in_name_is_rejected():
    avs = {'avs_res3': lambda m: m.audio.weight.sum()}
    model = build_recognizer(
        backbone=dict(type=ToyAVBackbone, avs=avs)).train()
    data = model.data_preprocessor(data_batch(), training=True)
    with pytest.raises(KeyError, match="must contain 'loss'"):
        model(**data, mode='loss')


def test_avs_output_colliding_with_a_head_output_is_rejected():
    avs = {'top1_acc': lambda m: torch.tensor(0.5)}
    model = build_recognizer(
        backbone=dict(type=ToyAVBackbone, avs=avs)).train()
    data = model.data_preprocessor(data_batch(), training=True)
    with pytest.raises(KeyError, match='collides'):
        model(**data, mode='loss')
