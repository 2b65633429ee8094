from collections import Counter
from typing import Dict, Iterable, Tuple

from mmaction.models.recognizers import MMRecognizer3D
from mmaction.registry import MODELS
from mmaction.utils import OptSampleList, SampleList
from mmengine.logging import print_log
from torch import Tensor

from ..avs_outputs import add_avs_outputs, forward_with_avs
from . import modality_blanking


@MODELS.register_module()
class AVRecognizer3D(MMRecognizer3D):
    """Audio-visual 3D recognizer: :class:`MMRecognizer3D` plus the
    backbone's AVS losses.

    Inputs come from ``MultiModalDataPreprocessor`` as
    ``dict(imgs=[N, V, 3, T, H, W], audios=[N, V, C, 128, 80])``; the views
    are flattened per modality and passed to
    ``backbone(imgs=..., audios=...)``, which returns the features
    (``(x_slow, x_fast, x_audio)`` for AVSlowFast).
    At test time the head averages the ``V`` views (``average_clips``).

    In ``loss`` mode the backbone is called with ``return_avs=True`` (when
    its ``forward`` takes it) and returns ``(features, avs)``; every entry
    of ``avs`` (``loss_avs_<stage>``, optimised, and ``avs_pair_acc_<stage>``,
    logged) is added to the loss dict as its own key, so MMEngine sums the
    losses into ``loss`` and logs each separately.

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

    def backbone_inputs(self, inputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Blank the configured modalities
        (:func:`.modality_blanking.blank_inputs`) and flatten the views:
        ``[N, V, ...] -> [N * V, ...]`` per modality."""
        inputs = modality_blanking.blank_inputs(inputs, self.blank_fills,
                                                self.data_preprocessor)
        return {
            m: x.reshape((-1, ) + x.shape[2:])
            for m, x in inputs.items()
        }

    def extract_feat(self,
                     inputs: Dict[str, Tensor],
                     stage: str = 'backbone',
                     data_samples: OptSampleList = None,
                     test_mode: bool = False) -> Tuple:
        """Backbone features (``stage='backbone'``) or head scores
        (``'head'``) of :meth:`backbone_inputs`, and an empty kwargs dict,
        as :meth:`MMRecognizer3D.extract_feat`."""
        if stage not in ('backbone', 'head'):
            raise ValueError(f"AVRecognizer3D: stage must be 'backbone' or "
                             f"'head', got {stage!r}")
        feats = self.backbone(**self.backbone_inputs(inputs))
        if stage == 'head' and self.with_cls_head:
            feats = self.cls_head(feats)
        return feats, dict()

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

    def loss(self, inputs: Dict[str, Tensor], data_samples: SampleList,
             **kwargs) -> Dict[str, Tensor]:
        """Classification loss of the head plus the backbone's AVS outputs.

        Returns:
            dict: ``loss_cls``, ``top1_acc``, ``top5_acc`` and, in training
            with AVS, ``loss_avs_<stage>`` and ``avs_pair_acc_<stage>``
            (e.g. for res3, res4, res5).
        """
        feats, avs = forward_with_avs(self.backbone,
                                      **self.backbone_inputs(inputs))
        losses = self.cls_head.loss(feats, data_samples)
        return add_avs_outputs(losses, avs, 'AVRecognizer3D')


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
