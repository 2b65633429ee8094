import copy
from typing import Dict, List, Optional, Union

from mmengine.model import BaseModel
from torch import Tensor

from mmaction.registry import MODELS
from mmaction.utils import OptSampleList, SampleList
from ..avs_outputs import add_avs_outputs, forward_with_avs

# Shape each modality must have when it reaches the backbone; a view axis of
# size 1 (``[N, 1, ...]``, left by PackActionInputs + the data preprocessor)
# is squeezed.
_BACKBONE_NDIM = dict(imgs=5, audios=4)


@MODELS.register_module()
class AVSlowFastDetector(BaseModel):
    """Spatio-temporal action detector (AVA) on an audiovisual backbone.

    A Fast R-CNN-style detector without an RPN and without mmdet: the
    backbone runs on the clip (``imgs`` + ``audios``), the RoI head classifies
    the person proposals carried by the data samples. Predictions are
    ``pred_instances`` with ``bboxes [K, 4]`` normalised to ``[0, 1]`` and
    ``scores [K, num_classes]``, which MMAction2's ``AVAMetric`` consumes.

    Args:
        backbone (dict): e.g. ``AVSlowFast`` with ``spatial_strides=(1, 2, 2,
            1)`` in both visual pathways; ``forward(imgs, audios)`` returns
            ``(slow, fast, audio)``, and in ``loss`` mode
            ``forward(imgs, audios, return_avs=True)`` also its AVS losses
            (added to the RoI head's). A visual-only backbone taking a single
            tensor also works (then ``inputs`` is a tensor).
        roi_head (dict): e.g. ``AVRoIHead``.
        train_cfg (dict, optional):
            ``dict(rcnn=dict(assigner=..., sampler=...))`` as in MMAction2's
            AVA configs; passed to the RoI head.
        data_preprocessor (dict, optional): e.g.
            ``MultiModalDataPreprocessor``.
            Default: ``ActionDataPreprocessor``.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained',
            checkpoint=<Kinetics recognizer checkpoint>)``; its ``backbone.*``
            weights load into the backbone.

    Inputs:
        ``{'imgs': [N, 3, T, H, W], 'audios': [N, C, 128, 80]}`` (a leading
        view axis of size 1 is accepted), data samples with
        ``proposals.bboxes [n, 4]`` and, for training,
        ``gt_instances.bboxes [k, 4]`` / ``gt_instances.labels [k, classes]``,
        all in input pixels (as ``SampleAVAFrames`` + decode give them).
    """

    def __init__(self,
                 backbone: dict,
                 roi_head: dict,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ActionDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        roi_head = copy.deepcopy(roi_head)
        if train_cfg is not None:
            if 'rcnn' not in train_cfg:
                raise KeyError('AVSlowFastDetector train_cfg must be '
                               'dict(rcnn=dict(assigner=..., sampler=...))')
            roi_head['train_cfg'] = train_cfg['rcnn']
        self.roi_head = MODELS.build(roi_head)
        self.train_cfg = train_cfg

    @staticmethod
    def _squeeze_view(key: str, x: Tensor) -> Tensor:
        ndim = _BACKBONE_NDIM.get(key)
        if ndim is None or x.ndim == ndim:
            return x
        if x.ndim == ndim + 1 and x.size(1) == 1:
            return x.squeeze(1)
        raise ValueError(
            f'AVSlowFastDetector expects inputs["{key}"] of {ndim} dims (or '
            f'{ndim + 1} with one view), got shape {tuple(x.shape)}; AVA '
            'pipelines must produce a single view (FormatShape collapse=True)')

    def _backbone_call(self, inputs: Union[Tensor, Dict[str, Tensor]],
                       with_avs: bool) -> tuple:
        """``(features, avs)``: features as a tuple (e.g. ``(slow, fast,
        audio)``), ``avs`` the backbone's AVS outputs (``{}`` unless
        ``with_avs`` and the backbone returns them)."""
        if isinstance(inputs, dict):
            args = ()
            kwargs = {k: self._squeeze_view(k, v) for k, v in inputs.items()}
        else:
            args, kwargs = (self._squeeze_view('imgs', inputs), ), {}
        if with_avs:
            feats, avs = forward_with_avs(self.backbone, *args, **kwargs)
        else:
            feats, avs = self.backbone(*args, **kwargs), {}
        if not isinstance(feats, (tuple, list)):
            feats = (feats, )
        return feats, avs

    def extract_feat(self, inputs: Union[Tensor, Dict[str, Tensor]]) -> tuple:
        """Backbone features, e.g. ``(slow, fast, audio)``."""
        return self._backbone_call(inputs, with_avs=False)[0]

    @staticmethod
    def _proposals(data_samples: SampleList, dtype) -> List[Tensor]:
        proposals = []
        for sample in data_samples:
            if 'proposals' not in sample:
                raise KeyError(
                    'AVSlowFastDetector needs data_sample.proposals; set '
                    '`proposal_file` in the AVA dataset config')
            proposals.append(sample.proposals.bboxes[:, :4].to(dtype))
        return proposals

    def loss(self, inputs, data_samples: SampleList) -> dict:
        """RoI head losses plus the backbone's AVS outputs (if any)."""
        feats, avs = self._backbone_call(inputs, with_avs=True)
        dtype = feats[0].dtype
        losses = self.roi_head.loss(
            feats,
            self._proposals(data_samples, dtype),
            [s.gt_instances.bboxes.to(dtype) for s in data_samples],
            [s.gt_instances.labels.to(dtype) for s in data_samples])
        return add_avs_outputs(losses, avs, 'AVSlowFastDetector')

    def predict(self, inputs, data_samples: SampleList) -> SampleList:
        feats = self.extract_feat(inputs)
        results = self.roi_head.predict(
            feats, self._proposals(data_samples, feats[0].dtype),
            [s.metainfo for s in data_samples])
        for sample, pred in zip(data_samples, results):
            sample.pred_instances = pred
        return data_samples

    def forward(self,
                inputs: Union[Tensor, Dict[str, Tensor]],
                data_samples: OptSampleList = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise RuntimeError(f'Invalid mode "{mode}"; only supports loss, '
                           'predict and tensor mode')
