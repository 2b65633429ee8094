"""Weights of AVSlowFast: loading (Slow)Fast checkpoints into the visual
part, and freezing (``frozen`` / ``norm_eval``)."""
import logging
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.logging import MMLogger, print_log
from mmengine.runner.checkpoint import _load_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm

from ...utils.state_dicts import mismatched_shapes
from .pretrained_routes import missing_checkpoint_message


class AVSlowFastWeightsMixin:
    """Checkpoint loading and train/eval modes of
    :class:`~.avslowfast.AVSlowFast` (``frozen``, ``norm_eval``,
    ``pretrained_report``)."""

    def load_slowfast_checkpoint(self,
                                 filename: str,
                                 prefix: Optional[str] = None,
                                 map_location: str = 'cpu',
                                 key: str = 'model.backbone.pretrained'
                                 ) -> Dict[str, List[str]]:
        """Load a ``ResNet3dSlowFast`` / ``AVSlowFast`` checkpoint.

        Keys ``slow_path.*`` / ``fast_path.*`` load unchanged. A recognizer
        checkpoint is accepted: ``prefix`` (default: ``'backbone.'`` when the
        keys carry it) is stripped and other keys (e.g. ``cls_head.*``) are
        ignored. A tensor whose shape differs from the model's is refused
        (``ValueError`` naming each one: loading around it would leave part
        of a pathway randomly initialised in silence) unless
        ``allow_mismatched_pretrained`` is set, which skips them with a
        WARNING naming each.

        Returns:
            dict: ``loaded`` (model keys taken from the checkpoint),
            ``missing`` (model keys left as initialised, e.g. the audio
            pathway), ``unexpected`` (backbone checkpoint keys the model lacks)
            and ``mismatched`` (same key, other shape). Also stored in
            ``self.pretrained_report`` and logged.
        """
        if '://' not in filename and not osp.exists(filename):
            # the config key ``key`` names a local file that is not there
            raise FileNotFoundError(missing_checkpoint_message(
                filename, key, self.slow_path.depth, self.resample_rate,
                self.speed_ratio, self.fs_fusion))
        ckpt = _load_checkpoint(filename, map_location=map_location)
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) \
            else ckpt
        report = self.load_visual_state_dict(state, prefix)
        logger = MMLogger.get_current_instance()
        print_log(
            f'AVSlowFast: loaded {len(report["loaded"])} tensors from '
            f'{filename}; {len(report["missing"])} newly initialised, '
            f'{len(report["unexpected"])} unexpected, '
            f'{len(report["mismatched"])} shape-mismatched '
            f'{report["mismatched"]}',
            logger=logger)
        return report

    def load_visual_state_dict(self,
                               state_dict: Dict[str, torch.Tensor],
                               prefix: Optional[str] = None
                               ) -> Dict[str, List[str]]:
        """Non-strict load of a (SlowFast) state dict; see
        :meth:`load_slowfast_checkpoint` for the returned report."""
        if prefix is None and any(
                k.startswith('backbone.') for k in state_dict):
            prefix = 'backbone.'
        if prefix:
            state_dict = {
                k[len(prefix):]: v
                for k, v in state_dict.items() if k.startswith(prefix)
            }
        own = self.state_dict()
        mismatched = mismatched_shapes(own, state_dict)
        if mismatched:
            self._refuse_or_warn_mismatched(list(mismatched.values()))
        loadable = {
            key: value
            for key, value in state_dict.items()
            if key in own and key not in mismatched
        }
        self.load_state_dict(loadable, strict=False)
        report = dict(
            loaded=sorted(loadable),
            missing=sorted(set(own) - set(loadable)),
            unexpected=sorted(set(state_dict) - set(own)),
            mismatched=list(mismatched))
        self.pretrained_report = report
        return report

    def _refuse_or_warn_mismatched(self, mismatched: List[str]) -> None:
        """``mismatched``: ``'key: checkpoint [..], model [..]'`` lines."""
        lines = '\n  '.join(mismatched)
        if not getattr(self, 'allow_mismatched_pretrained', False):
            raise ValueError(
                f'AVSlowFast: {len(mismatched)} tensors of the pretrained '
                f'checkpoint have other shapes than the model (another '
                f'geometry or fusion layout?):\n  {lines}\nLoading the rest '
                'would leave these randomly initialised. Use a checkpoint of '
                'the same architecture, or set model.backbone.'
                'allow_mismatched_pretrained=True to load it anyway.')
        print_log(
            f'AVSlowFast: {len(mismatched)} tensors of the pretrained '
            'checkpoint have other shapes than the model and stay as '
            f'initialised (allow_mismatched_pretrained=True):\n  {lines}',
            logger='current',
            level=logging.WARNING)

    def train(self, mode: bool = True) -> 'AVSlowFastWeightsMixin':
        """Set train/eval mode, honouring ``frozen`` (whole backbone in eval
        mode) and ``norm_eval`` (BN layers in eval mode)."""
        super().train(mode and not self.frozen)
        if mode and self.norm_eval and not self.frozen:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

