"""Weights of AVSlowFast: loading (Slow)Fast checkpoints into the visual
part, and freezing (``frozen`` / ``norm_eval``)."""
from typing import Dict, List, Optional

import torch
from mmengine.logging import MMLogger, print_log
from mmengine.runner.checkpoint import _load_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm


class AVSlowFastWeightsMixin:
    """Checkpoint loading and train/eval modes of
    :class:`~.avslowfast.AVSlowFast` (``frozen``, ``norm_eval``,
    ``pretrained_report``)."""

    def load_slowfast_checkpoint(self,
                                 filename: str,
                                 prefix: Optional[str] = None,
                                 map_location: str = 'cpu'
                                 ) -> Dict[str, List[str]]:
        """Load a ``ResNet3dSlowFast`` / ``AVSlowFast`` checkpoint.

        Keys ``slow_path.*`` / ``fast_path.*`` load unchanged. A recognizer
        checkpoint is accepted: ``prefix`` (default: ``'backbone.'`` when the
        keys carry it) is stripped and other keys (e.g. ``cls_head.*``) are
        ignored. Shape-mismatched tensors are skipped.

        Returns:
            dict: ``loaded`` (model keys taken from the checkpoint),
            ``missing`` (model keys left as initialised, e.g. the audio
            pathway), ``unexpected`` (backbone checkpoint keys the model lacks)
            and ``mismatched`` (same key, other shape). Also stored in
            ``self.pretrained_report`` and logged.
        """
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
        loadable, mismatched = {}, []
        for key, value in state_dict.items():
            if key in own:
                if own[key].shape == value.shape:
                    loadable[key] = value
                else:
                    mismatched.append(key)
        self.load_state_dict(loadable, strict=False)
        report = dict(
            loaded=sorted(loadable),
            missing=sorted(set(own) - set(loadable)),
            unexpected=sorted(set(state_dict) - set(own)),
            mismatched=sorted(mismatched))
        self.pretrained_report = report
        return report

    def train(self, mode: bool = True) -> 'AVSlowFastWeightsMixin':
        """Set train/eval mode, honouring ``frozen`` (whole backbone in eval
        mode) and ``norm_eval`` (BN layers in eval mode)."""
        super().train(mode and not self.frozen)
        if mode and self.norm_eval and not self.frozen:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

