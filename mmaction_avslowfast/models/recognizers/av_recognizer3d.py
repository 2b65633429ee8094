from collections import Counter
from typing import Dict, Iterable, Tuple

from mmaction.models.recognizers import MMRecognizer3D
from mmaction.registry import MODELS
from mmaction.utils import OptSampleList, SampleList
from mmengine.logging import print_log
from torch import Tensor

from . import modality_blanking


@MODELS.register_module()
class AVRecognizer3D(MMRecognizer3D):
    """Audio-visual 3D recognizer: :class:`MMRecognizer3D` plus the
    backbone's auxiliary (AVS) losses.

    Inputs come from ``MultiModalDataPreprocessor`` as
    ``dict(imgs=[N, V, 3, T, H, W], audios=[N, V, C, 128, 80])``; the views
    are flattened per modality and passed to
    ``backbone(imgs=..., audios=...)``.
    At test time the head averages the ``V`` views (``average_clips``).

    In ``loss`` mode every entry of ``backbone.aux_losses()`` (e.g.
    ``loss_avs_res3``) is added to the loss dict as its own key, so MMEngine
    sums it into ``loss`` and logs it separately.

    Args:
        blank_modalities (str | Sequence[str] | dict): Modalities whose
            input is replaced by a constant before the backbone, in training
            and testing (:mod:`.modality_blanking`): a name or names (fill
            ``'mean'``, zeros of the normalised input) or a dict modality ->
            fill (``'mean'``, ``'silence'`` or a float). With ``'audios'``
            the same architecture sees no audio information, which gives the
            visual-only ablation. Default: ``()``. ``self.blank_fills`` holds
            the dict, ``self.blank_modalities`` the names.
        **kwargs: Arguments of :class:`BaseRecognizer` (``backbone``,
            ``cls_head``, ``neck``, ``train_cfg``, ``test_cfg``,
            ``data_preprocessor``).
    """

    def __init__(self,
                 *args,
                 blank_modalities: modality_blanking.BlankSpec = (),
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.blank_modalities = blank_modalities

    @property
    def blank_modalities(self) -> Tuple[str, ...]:
        """Names of the blanked modalities (their fills: ``blank_fills``)."""
        return tuple(self.blank_fills)

    @blank_modalities.setter
    def blank_modalities(self, spec: modality_blanking.BlankSpec) -> None:
        self.blank_fills = modality_blanking.parse_blank_spec(spec)

    def extract_feat(self,
                     inputs: Dict[str, Tensor],
                     stage: str = 'backbone',
                     data_samples: OptSampleList = None,
                     test_mode: bool = False) -> Tuple:
        """Blank the configured modalities
        (:func:`.modality_blanking.blank_inputs`), then as
        :meth:`MMRecognizer3D.extract_feat`."""
        # a new dict in any case: the parent reshapes its entries in place
        inputs = modality_blanking.blank_inputs(inputs, self.blank_fills,
                                                self.data_preprocessor)
        return super().extract_feat(
            inputs, stage=stage, data_samples=data_samples,
            test_mode=test_mode)

    def init_weights(self) -> None:
        """Initialise as usual, then log which backbone tensors came from a
        pretrained checkpoint and which were newly initialised (when the
        backbone loaded one, see ``AVSlowFast.load_slowfast_checkpoint``)."""
        super().init_weights()
        report = getattr(self.backbone, 'pretrained_report', None)
        if report:
            source = getattr(self.backbone, 'pretrained', None)
            init_cfg = getattr(self.backbone, 'init_cfg', None)
            if source is None and isinstance(init_cfg, dict):
                source = init_cfg.get('checkpoint')
            print_log(
                f'AVRecognizer3D: pretrained backbone from {source}:\n'
                + '\n'.join(f'  {kind}: {summarize_keys(report[kind])}'
                            for kind in ('loaded', 'missing', 'mismatched',
                                         'unexpected') if kind in report)
                + '\n  ("missing" = newly initialised; cls_head is always '
                'newly initialised)',
                logger='current')

    def aux_losses(self) -> Dict[str, Tensor]:
        """The backbone's auxiliary losses of the last training forward."""
        get_losses = getattr(self.backbone, 'aux_losses', None)
        return dict(get_losses()) if callable(get_losses) else {}

    def loss(self, inputs: Dict[str, Tensor], data_samples: SampleList,
             **kwargs) -> Dict[str, Tensor]:
        """Classification loss of the head plus the backbone's AVS losses.

        Returns:
            dict: ``loss_cls``, ``top1_acc``, ``top5_acc`` and e.g.
            ``loss_avs_res3``, ``loss_avs_res4``, ``loss_avs_res5``.
        """
        feats, loss_kwargs = self.extract_feat(
            inputs, data_samples=data_samples)
        losses = self.cls_head.loss(feats, data_samples, **loss_kwargs)
        for name, value in self.aux_losses().items():
            if name in losses:
                raise KeyError(f'backbone aux loss {name!r} collides with a '
                               f'head output ({sorted(losses)})')
            if 'loss' not in name:
                raise KeyError(f'backbone aux loss {name!r} must contain '
                               "'loss' so that MMEngine optimises it")
            losses[name] = value
        return losses


def summarize_keys(keys: Iterable[str], depth: int = 2) -> str:
    """``'slow_path.layer1 (40), ...'``: parameter/buffer names grouped by
    their first ``depth`` components, with counts."""
    keys = list(keys)
    if not keys:
        return 'none'
    groups = Counter('.'.join(k.split('.')[:depth]) for k in keys)
    return f'{len(keys)} tensors: ' + ', '.join(
        f'{group} ({count})' for group, count in sorted(groups.items()))


__all__ = ['AVRecognizer3D', 'summarize_keys']
