"""Self-supervised audiovisual synchronisation (AVS) pre-training of an
AVSlowFast backbone: hierarchical AVS losses only, no classification head."""
import logging
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from torch import Tensor

from mmaction.registry import MODELS
from mmaction.utils import ConfigType, OptSampleList, SampleList
from ..avs_outputs import add_avs_outputs, returns_avs
from ..backbones.avslowfast_geometry import JUNCTIONS


@MODELS.register_module()
class AVSPretrainer(BaseModel):
    """An AVSlowFast backbone trained with its hierarchical AVS losses only.

    Inputs come from ``MultiModalDataPreprocessor`` as
    ``dict(imgs=[N, V, 3, T, H, W], audios=[N, V, C, T_a, F])``; the ``V``
    views are flattened into the batch.

    - ``loss``: training forward of the backbone with ``C = 2`` (channel 1
      = the pipeline's hard negative, ``AudioLogMelClips(with_negative=
      True)``; the backbone turns it into easy negatives from other samples
      by its curriculum, whose epoch ``AVSCurriculumHook`` sets). Returns
      the ``avs`` dict of ``backbone(imgs, audios, return_avs=True)``:
      ``loss_avs_<stage>`` and the logged, detached ``avs_pair_acc_<stage>``
      (pair accuracy of the batch, 0.5 = chance). No classification loss.
    - ``predict``: ``C = 3`` = (aligned, hard negative, easy negative)
      (``AVSyncEvalAudio``). The codes come from ``backbone.avs_codes``,
      which runs the visual pathways with no audio fused anywhere, so no
      stage's visual code contains the audio it is compared with. Per stage
      the distances ``|v - a_k|`` are averaged over the views of a sample
      and stored on its data sample as ``avs_distances`` (float32
      ``[num_stages, 3]``), with the stage names in the metainfo
      (``avs_stages``), for :class:`AVSyncMetric`.
    - ``tensor``: the backbone features ``(x_slow, x_fast, x_audio)``.

    Fusion is off in pre-training (``fuse_audio=False``): the backbone's
    ``drop_pathway`` is set to 1.0, so the A->FS additions are always zero.
    Without a classification head nothing downstream of a fused junction is
    trained except the AVS losses of the later stages, and the reference's
    gating zeroes exactly those losses whenever audio is fused (their visual
    code would contain the audio they judge): fusion would get no learning
    signal and would waste those stages' losses. With fusion off all stage
    losses are live in every iteration and no visual code ever contains
    audio (no leak by construction). The A->FS convs still train: their
    outputs are the audio codes of the AVS heads, so fine-tuning starts
    with trained laterals. ``DropPathwayHook`` may stay in the config: it
    takes the model's probability (1.0) and keeps it.

    Args:
        backbone (dict): An ``AVSlowFast`` config with at least one AVS
            stage; it must not be ``frozen``.
        data_preprocessor (dict, optional): E.g.
            ``MultiModalDataPreprocessor``.
        fuse_audio (bool): Keep the backbone's DropPathway probability
            (audio fused in the iterations it does not drop; the later
            stages' losses are then gated off in those iterations).
            Default: False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 data_preprocessor: Optional[ConfigType] = None,
                 fuse_audio: bool = False,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ActionDataPreprocessor')
        if isinstance(data_preprocessor, dict):  # in mmaction's registry
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        for attr in ('avs_codes', 'avs_stages', 'drop_pathway'):
            if not hasattr(self.backbone, attr):
                raise TypeError(
                    f'AVSPretrainer needs an AVSlowFast-like backbone with '
                    f'{attr!r}; {type(self.backbone).__name__} has none')
        if not returns_avs(self.backbone):
            raise TypeError(
                f'AVSPretrainer needs a backbone whose forward takes '
                f'return_avs (AVSlowFast); {type(self.backbone).__name__} '
                f'does not')
        if not any(self.backbone.avs_stages):
            raise ValueError('AVSPretrainer: the backbone has no AVS stage '
                             '(avs_stages all False): nothing to train')
        if getattr(self.backbone, 'frozen', False):
            raise ValueError('AVSPretrainer: a frozen backbone cannot be '
                             'pre-trained (backbone.frozen=True)')
        self.fuse_audio = bool(fuse_audio)
        if not self.fuse_audio:
            print_log(
                f'AVSPretrainer: A->FS fusion off for AVS pre-training '
                f'(backbone.drop_pathway {self.backbone.drop_pathway} -> 1.0; '
                f'fuse_audio=True keeps it): every stage loss is live and no '
                f'visual code contains audio',
                logger='current',
                level=logging.INFO)
            self.backbone.drop_pathway = 1.0
        self.stage_names = tuple(
            name for name, on in zip(JUNCTIONS, self.backbone.avs_stages)
            if on)

    @staticmethod
    def _flatten(inputs: Dict[str, Tensor]) -> Tuple[Tensor, Tensor, int]:
        """``imgs [N, V, 3, T, H, W]``, ``audios [N, V, C, T_a, F]`` ->
        ``[N*V, 3, T, H, W]``, ``[N*V, C, T_a, F]`` and ``V``."""
        if not isinstance(inputs, dict) or not {'imgs', 'audios'} <= set(
                inputs):
            raise KeyError('AVSPretrainer needs inputs dict(imgs=..., '
                           'audios=...) (MultiModalDataPreprocessor), got '
                           f'{type(inputs).__name__}')
        imgs, audios = inputs['imgs'], inputs['audios']
        if imgs.dim() != 6 or audios.dim() != 5:
            raise ValueError(
                f'AVSPretrainer: imgs must be [N, V, 3, T, H, W] and audios '
                f'[N, V, C, T_a, F]; got {list(imgs.shape)} and '
                f'{list(audios.shape)}')
        if imgs.shape[:2] != audios.shape[:2]:
            raise ValueError(
                f'AVSPretrainer: imgs {list(imgs.shape[:2])} and audios '
                f'{list(audios.shape[:2])} differ in batch or views; put '
                f'AlignAudioViews after FormatShape')
        views = imgs.shape[1]
        return imgs.flatten(0, 1), audios.flatten(0, 1), views

    def forward(self,
                inputs: Dict[str, Tensor],
                data_samples: OptSampleList = None,
                mode: str = 'tensor'):
        """``mode``: ``'loss'`` (dict of losses and logged accuracies),
        ``'predict'`` (data samples with ``avs_distances``) or ``'tensor'``
        (backbone features)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            imgs, audios, _ = self._flatten(inputs)
            return self.backbone(imgs, audios)
        raise RuntimeError(f'AVSPretrainer: invalid mode {mode!r}; use loss, '
                           f'predict or tensor')

    def loss(self, inputs: Dict[str, Tensor],
             data_samples: OptSampleList = None) -> Dict[str, Tensor]:
        """AVS losses of one training batch.

        Returns:
            dict: ``loss_avs_<stage>`` (optimised) and ``avs_pair_acc_<stage>``
            (detached, logged only).
        """
        imgs, audios, _ = self._flatten(inputs)
        if audios.shape[1] != 2:
            raise ValueError(
                f'AVSPretrainer: training audios need 2 channels (aligned, '
                f'hard negative); got {audios.shape[1]}. Use '
                f'AudioLogMelClips(with_negative=True) in train_pipeline.')
        if not self.backbone.training:
            raise RuntimeError('AVSPretrainer.loss needs the model in train '
                               'mode (the backbone computes AVS only then)')
        if not self.fuse_audio and self.backbone.drop_pathway != 1.0:
            raise RuntimeError(
                f'AVSPretrainer(fuse_audio=False) needs fusion off, but '
                f'backbone.drop_pathway is {self.backbone.drop_pathway} '
                f'(set by a DropPathwayHook ramp, start_prob/ramp_epochs?). '
                f'Remove the ramp from the hook, or set fuse_audio=True to '
                f'pre-train with fusion.')
        _, avs = self.backbone(imgs, audios, return_avs=True)
        if not any(name.startswith('loss') for name in avs):
            raise RuntimeError('AVSPretrainer: the backbone computed no AVS '
                               'loss in this forward')
        return add_avs_outputs({}, avs, 'AVSPretrainer')

    @torch.no_grad()
    def avs_distances(self, inputs: Dict[str, Tensor]) -> Tensor:
        """``[N, num_stages, K]`` distances between each stage's visual code
        and the codes of the ``K`` audio channels, averaged over views."""
        imgs, audios, views = self._flatten(inputs)
        codes = self.backbone.avs_codes(imgs, audios)
        dists = []
        for name in self.stage_names:
            visual, audio = codes[name]  # [NV, D], [NV, K, D]
            dist = torch.linalg.vector_norm(visual[:, None] - audio, dim=-1)
            dists.append(dist.view(-1, views, dist.shape[-1]).mean(dim=1))
        return torch.stack(dists, dim=1).float()

    def predict(self, inputs: Dict[str, Tensor],
                data_samples: SampleList) -> SampleList:
        """Store ``avs_distances`` ``[num_stages, 3]`` and ``avs_stages`` on
        each data sample (``audios`` channels: aligned, hard, easy)."""
        channels = inputs['audios'].shape[2] if 'audios' in inputs else None
        if channels != 3:
            raise ValueError(
                f'AVSPretrainer.predict needs 3 audio channels (aligned, hard '
                f'negative, easy negative: AVSyncEvalAudio); got {channels}')
        dists = self.avs_distances(inputs).cpu()
        if data_samples is None or len(data_samples) != dists.shape[0]:
            raise ValueError('AVSPretrainer.predict needs one data sample '
                             'per input sample')
        for sample, dist in zip(data_samples, dists):
            sample.set_field(dist, 'avs_distances', dtype=Tensor)
            sample.set_metainfo(dict(avs_stages=list(self.stage_names)))
        return data_samples


__all__ = ['AVSPretrainer']
