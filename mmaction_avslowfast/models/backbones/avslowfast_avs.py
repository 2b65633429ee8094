"""Hierarchical audiovisual synchronisation (AVS) of AVSlowFast: negatives,
per-stage losses with the reference's gating, and the audio-free codes."""
import logging
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

from .avs_modules import valid_avs_pairs
from .avslowfast_geometry import JUNCTIONS


class AVSlowFastAVSMixin:
    """AVS part of :class:`~.avslowfast.AVSlowFast` (which owns
    ``avs_heads``, ``audio_laterals``, ``avs_fast_lateral_res5``, the
    ``avs_*`` settings and ``avs_curriculum``, an
    :class:`~.avs_modules.AVSNegativeCurriculum`).

    Gating (reference): the loss of a stage after the earliest junction
    where audio was fused in this forward is multiplied by 0, because its
    visual code already contains the audio it would be judged against.
    With ``skip_gated_avs`` such a stage is not computed at all (see
    :meth:`_zero_touch`).
    """

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch of the easy/hard negative curriculum
        (``avs_curriculum``); ``AVSCurriculumHook`` calls it before every
        training epoch."""
        self.avs_curriculum.set_epoch(epoch)

    def _split_audio(self, audios: torch.Tensor, batch: int):
        if audios.dim() != 4 or audios.shape[1] not in (1, 2):
            raise ValueError('audios must be [N, 1 or 2, T, F] (channel 1 = '
                             f'negative), got {list(audios.shape)}')
        if audios.shape[0] != batch:
            raise ValueError(f'audios batch {audios.shape[0]} != imgs batch '
                             f'{batch}')
        aligned = audios[:, :1]
        if not (self.training and any(self.avs_stages)):
            return aligned, None
        if audios.shape[1] == 1:
            if not self._warned_no_negative:
                self._warned_no_negative = True
                print_log(
                    'AVSlowFast: avs_stages is on but the training audios '
                    'carry no negative (channel 1); AVS losses are skipped '
                    'and the AVS-only modules get no gradient (DDP then needs '
                    'find_unused_parameters=True). Add the negative in the '
                    'pipeline or set avs_stages to all False.',
                    logger='current',
                    level=logging.WARNING)
            return aligned, None
        index = self.avs_curriculum.negative_index(batch).to(audios.device)
        return aligned, audios[:, 1:][index]

    def _warn_discarded_avs(self) -> None:
        if self._warned_discarded_avs:
            return
        self._warned_discarded_avs = True
        print_log(
            'AVSlowFast: a training forward computed AVS losses but was not '
            'asked for them (forward(imgs, audios, return_avs=True) returns '
            'them; AVRecognizer3D, AVSPretrainer and AVSlowFastDetector do '
            'so); the AVS heads are not trained by this caller.',
            logger='current',
            level=logging.WARNING)

    def _zero_touch(self, modules: Sequence[nn.Module]) -> torch.Tensor:
        """0 connected to every parameter of ``modules``: stands in for the
        loss of a skipped, gated-off AVS branch so that those parameters
        still get a (zero) gradient, as DDP with
        ``find_unused_parameters=False`` requires."""
        params = [p for m in modules for p in m.parameters()
                  if p.requires_grad]
        if not params:
            return torch.zeros(())
        return sum(p.view(-1)[0] for p in params) * 0.0

    def _avs_outputs(self, avs_inputs: Dict[int, Tuple[torch.Tensor, ...]],
                     live: List[bool], earliest: int, aligned: torch.Tensor,
                     negative: torch.Tensor) -> Dict[str, torch.Tensor]:
        """AVS losses and pair accuracies of one training forward.

        Args:
            avs_inputs (dict): junction index -> ``(visual [N, C, T, H, W],
                pos [N, C, T], neg [N, C, T])`` of the computed stages.
            live (list[bool]): Stages computed in this forward (the others
                are gated off and skipped).
            earliest (int): First junction where audio was fused (4: none).
            aligned, negative (torch.Tensor): ``[N, 1, T, F]`` spectrograms
                (for the silent/duplicate pair mask).

        Returns:
            dict[str, torch.Tensor]: scalars; ``loss_avs_<stage>`` for every
            stage in ``avs_stages`` (times ``avs_loss_weight``, times 0 when
            gated off) and ``avs_pair_acc_<stage>`` (detached) for every
            stage computed in this forward.
        """
        valid = valid_avs_pairs(aligned, negative, self.avs_var_thresh,
                                self.avs_dup_thresh)
        losses, accuracies = {}, {}
        for j, name in enumerate(JUNCTIONS):
            if not self.avs_stages[j]:
                continue
            if live[j]:
                loss, accuracy = self.avs_heads[name](*avs_inputs[j], valid)
                accuracies[f'avs_pair_acc_{name}'] = accuracy
                gate = self.avs_loss_weight if j <= earliest else 0.0
                loss = loss * gate
            else:
                skipped = [self.avs_heads[name]]
                if j == 4:
                    skipped += [self.avs_fast_lateral_res5,
                                self.audio_laterals[name]]
                loss = self._zero_touch(skipped).to(aligned.device)
            losses[f'loss_avs_{name}'] = loss
        losses.update(accuracies)
        return losses

    def avs_codes(self, imgs: torch.Tensor,
                  audios: torch.Tensor) -> Dict[str, Tuple[torch.Tensor, ...]]:
        """AVS codes of every stage in ``avs_stages``, with no audio fused
        anywhere (used to measure synchronisation, e.g. ``AVSyncMetric``).

        The visual pathways run as in a DropPathway-dropped forward (F->S
        laterals, no A->FS addition), so no stage's visual code contains
        any of the audio it is compared with. The ``K`` spectrograms of each
        sample (e.g. aligned, hard negative, easy negative) run through the
        audio pathway and the stage's A->FS convs. Meant for eval mode (BN
        with running statistics: every sample independent).

        Args:
            imgs (torch.Tensor): ``[N, 3, T, H, W]``.
            audios (torch.Tensor): ``[N, K, T_a, F]``.

        Returns:
            dict: stage name -> ``(visual [N, D], audio [N, K, D])`` scaled
            unit codes (``0.5 * L2-normalised``; distances in ``[0, 1]``).
        """
        n, k = audios.shape[:2]
        if imgs.shape[0] != n:
            raise ValueError(f'audios batch {n} != imgs batch {imgs.shape[0]}')
        audio_in = audios.transpose(0, 1).reshape(k * n, 1, *audios.shape[2:])
        audio_feats = self.audio_path(audio_in)
        x_slow, x_fast = self._stems(imgs)
        codes = {}
        for j, name in enumerate(JUNCTIONS):
            if j > 0:
                layer = self.slow_path.res_layers[j - 1]
                x_slow = getattr(self.slow_path, layer)(x_slow)
                x_fast = getattr(self.fast_path, layer)(x_fast)
            if j < 4 and self.fs_fusion[j]:
                x_slow = torch.cat((x_slow, self._lateral(j)(x_fast)), dim=1)
            if not self.avs_stages[j]:
                continue
            visual = x_slow if j < 4 else torch.cat(
                (x_slow, self.avs_fast_lateral_res5(x_fast)), dim=1)
            head = self.avs_heads[name]
            audio = head.audio_code(
                self.audio_laterals[name](audio_feats[j]))
            codes[name] = (head.visual_code(visual),
                           audio.view(k, n, -1).transpose(0, 1))
        return codes
