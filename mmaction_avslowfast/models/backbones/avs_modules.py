"""Building blocks of the AVSlowFast fusion: A->FS laterals, AVS heads, the
AVS negative curriculum and the DropPathway draw."""
import hashlib
import logging
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.logging import print_log
from mmengine.model import BaseModule


class AudioToSlowFastLateral(BaseModule):
    """Audio -> (Slow + Fast) lateral connection (A->FS).

    The audio feature is averaged over frequency, then ``num_convs`` 1-D convs
    run along audio time (each conv, BN, ReLU). All but the last map to
    ``interm_channels`` with stride 1; the last maps to ``out_channels`` (the
    Slow channel count after the F->S concat) with ``stride`` = audio frames /
    Slow frames, so its output has exactly Slow's frame count.

    Args:
        in_channels (int): Channels of the audio feature.
        out_channels (int): Channels of the Slow tensor it is added to.
        stride (int): Temporal stride of the last conv.
        interm_channels (int): Width of the intermediate convs. Defaults to 64.
        kernel_size (int): Kernel along audio time. Defaults to 5.
        num_convs (int): Number of convs. Defaults to 2.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='BN1d')``.

    Shapes: ``[B, C_a, T_a, F_a]`` -> ``[B, out_channels, T_a / stride]``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 interm_channels: int = 64,
                 kernel_size: int = 5,
                 num_convs: int = 2,
                 norm_cfg: Dict = dict(type='BN1d', requires_grad=True)
                 ) -> None:
        super().__init__()
        if num_convs < 1:
            raise ValueError(f'audio_fusion_convs must be >= 1, '
                             f'got {num_convs}')
        self.stride = stride
        convs = []
        c_in = in_channels
        for i in range(num_convs):
            last = i == num_convs - 1
            c_out = out_channels if last else interm_channels
            convs.append(
                ConvModule(
                    c_in,
                    c_out,
                    kernel_size,
                    stride=stride if last else 1,
                    padding=kernel_size // 2,
                    bias=False,
                    conv_cfg=dict(type='Conv1d'),
                    norm_cfg=norm_cfg,
                    act_cfg=dict(type='ReLU', inplace=True)))
            c_in = c_out
        self.convs = nn.Sequential(*convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x.mean(dim=-1))


def _at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32 if it is a half-precision tensor, else unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


class AVSyncHead(BaseModule):
    """Audio-visual synchronisation (AVS) loss of one stage.

    Visual code: the Slow tensor (after the F->S concat, before audio is
    added) averaged over ``T, H, W``; audio codes: the A->FS output for the
    aligned and for the negative audio, averaged over time. Each is projected
    to ``proj_dim`` by its own linear layer (one for visual, one shared by the
    two audio codes), L2-normalised and scaled by 0.5 so that squared
    distances lie in ``[0, 1]``. Contrastive loss (Korbar et al. 2018)::

        L = (sum_valid |v - a+|^2 + sum_valid max(0, m - |v - a-|)^2)
            / (2 * n_valid + 1e-8)

    Args:
        visual_channels (int): Channels of the visual code.
        audio_channels (int): Channels of the audio code.
        proj_dim (int): Projection dim. Defaults to 64.
        margin (float): Contrastive margin. Defaults to 0.99.
    """

    def __init__(self,
                 visual_channels: int,
                 audio_channels: int,
                 proj_dim: int = 64,
                 margin: float = 0.99) -> None:
        super().__init__()
        self.margin = margin
        self.visual_fc = nn.Linear(visual_channels, proj_dim)
        self.audio_fc = nn.Linear(audio_channels, proj_dim)

    def init_weights(self) -> None:
        for fc in (self.visual_fc, self.audio_fc):
            nn.init.normal_(fc.weight, std=0.01)
            nn.init.zeros_(fc.bias)

    def visual_code(self, visual: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` -> scaled unit code ``[N, proj_dim]``."""
        v = self.visual_fc(visual.mean(dim=(2, 3, 4)))
        # Under fp16/bf16 autocast the projections are half precision: the
        # norms, the normalisation's eps (1e-12 is 0 in fp16) and the
        # distances are computed in float32 (float64 stays float64).
        return 0.5 * F.normalize(_at_least_fp32(v), p=2, dim=1)

    def audio_code(self, audio: torch.Tensor) -> torch.Tensor:
        """A->FS output ``[N, C, T]`` -> scaled unit code
        ``[N, proj_dim]``."""
        a = self.audio_fc(audio.mean(dim=2))
        return 0.5 * F.normalize(_at_least_fp32(a), p=2, dim=1)

    def embed(self, visual: torch.Tensor, pos: torch.Tensor,
              neg: torch.Tensor):
        """Project ``visual [N, C, T, H, W]``, ``pos``/``neg`` ``[N, C, T]``
        to scaled unit codes ``[N, proj_dim]``."""
        return (self.visual_code(visual), self.audio_code(pos),
                self.audio_code(neg))

    def forward(self, visual: torch.Tensor, pos: torch.Tensor,
                neg: torch.Tensor,
                valid: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Loss and pair accuracy of one stage.

        Args:
            visual (torch.Tensor): ``[N, C, T, H, W]`` visual code input.
            pos, neg (torch.Tensor): ``[N, C', T']`` A->FS outputs of the
                aligned and the negative audio.
            valid (torch.Tensor): ``[N]`` bool mask of usable pairs; masked
                pairs contribute zero (the graph stays connected).

        Returns:
            tuple[torch.Tensor]: ``(loss [], pair_accuracy [])``; the pair
            accuracy (detached) is the share of valid pairs whose aligned
            audio code is closer to the visual code than the negative one
            (0.5 = chance; NaN without a valid pair).
        """
        v, p, n = self.embed(visual, pos, neg)
        pos_term = (v - p).pow(2).sum(dim=1)
        neg_dist = torch.linalg.vector_norm(v - n, dim=1)
        neg_term = (self.margin - neg_dist).clamp(min=0).pow(2)
        mask = valid.to(pos_term.dtype)
        with torch.no_grad():
            right = (pos_term.sqrt() < neg_dist).to(mask.dtype)
            accuracy = (right * mask).sum() / mask.sum()
        loss = ((pos_term + neg_term) * mask).sum() / (2 * mask.sum() + 1e-8)
        return loss, accuracy


def valid_avs_pairs(pos: torch.Tensor,
                    neg: torch.Tensor,
                    var_thresh: float = 0.01,
                    dup_thresh: float = 0.99999) -> torch.Tensor:
    """Mask of (aligned, negative) spectrogram pairs usable for AVS.

    A pair is dropped when either spectrogram is near-silent (variance
    ``<= var_thresh``) or when the two are near duplicates (cosine similarity
    ``>= dup_thresh``).

    Args:
        pos, neg (torch.Tensor): ``[N, 1, T, F]`` spectrograms.

    Returns:
        torch.Tensor: ``[N]`` bool.
    """
    with torch.no_grad():
        pos = pos.flatten(1).float()
        neg = neg.flatten(1).float()
        loud = (pos.var(dim=1) > var_thresh) & (neg.var(dim=1) > var_thresh)
        cos = F.cosine_similarity(pos, neg, dim=1, eps=1e-12)
        return loud & (cos < dup_thresh)


def easy_negative_index(batch_size: int, epoch: int, mix_neg_epoch: int,
                        easy_neg_ratio: float) -> torch.Tensor:
    """Which sample's negative each sample uses (the AVS curriculum).

    Sample ``i < SN`` takes the negative of sample ``(i + 1) % SN`` (an *easy*
    negative from another video); samples ``i >= SN`` keep their own *hard*
    negative. ``SN = N`` before ``mix_neg_epoch`` and
    ``max(floor(easy_neg_ratio * N), 1)`` from then on.
    """
    if epoch >= mix_neg_epoch:
        sn = max(int(easy_neg_ratio * batch_size), 1)
    else:
        sn = batch_size
    index = torch.arange(batch_size)
    index[:sn] = (torch.arange(sn) + 1) % sn
    return index


class AVSNegativeCurriculum:
    """Which negative each sample's AVS pair uses, by training epoch.

    The reference's curriculum: before ``mix_neg_epoch`` every sample takes
    an *easy* negative (the audio of another sample of the batch); from then
    on ``easy_neg_ratio`` of the batch (at least one sample) does and the
    rest keep their own *hard* negative (the same video, shifted). See
    :func:`easy_negative_index`.

    The epoch is set from outside before every training epoch
    (``AVSCurriculumHook`` in the configs' ``custom_hooks``, or
    :meth:`set_epoch`). Until it is, the curriculum stays at epoch 0 and
    warns once when negatives are drawn, so a run that never sets it does
    not silently skip the hard negatives.

    Args:
        easy_neg_ratio (float): Share of easy negatives from
            ``mix_neg_epoch`` on, in ``[0, 1]``. Defaults to 0.75.
        mix_neg_epoch (int): 0-based epoch from which hard negatives are
            mixed in. Defaults to 96.
    """

    def __init__(self,
                 easy_neg_ratio: float = 0.75,
                 mix_neg_epoch: int = 96) -> None:
        if not 0.0 <= easy_neg_ratio <= 1.0:
            raise ValueError('easy_neg_ratio must be in [0, 1], got '
                             f'{easy_neg_ratio}')
        if int(mix_neg_epoch) != mix_neg_epoch or mix_neg_epoch < 0:
            raise ValueError('mix_neg_epoch must be an integer >= 0, got '
                             f'{mix_neg_epoch}')
        self.easy_neg_ratio = float(easy_neg_ratio)
        self.mix_neg_epoch = int(mix_neg_epoch)
        self.epoch: Optional[int] = None
        self._warned_unset = False

    def set_epoch(self, epoch: int) -> None:
        """Set the (0-based) training epoch of the following draws."""
        if int(epoch) != epoch or epoch < 0:
            raise ValueError(f'epoch must be an integer >= 0, got {epoch}')
        self.epoch = int(epoch)

    def easy_share(self, epoch: Optional[int] = None) -> float:
        """Nominal share of easy negatives at ``epoch`` (default: the set
        epoch, 0 if unset): 1.0 before ``mix_neg_epoch``, else
        ``easy_neg_ratio`` (a batch of ``N`` takes
        ``max(floor(easy_neg_ratio * N), 1)`` easy negatives)."""
        epoch = (self.epoch or 0) if epoch is None else epoch
        return 1.0 if epoch < self.mix_neg_epoch else self.easy_neg_ratio

    def negative_index(self, batch_size: int) -> torch.Tensor:
        """``[batch_size]`` long: the sample whose negative each sample
        uses at the set epoch (epoch 0, with a one-time warning, if never
        set)."""
        if self.epoch is None and not self._warned_unset:
            self._warned_unset = True
            print_log(
                'AVSlowFast: AVS negatives are drawn but the curriculum '
                'epoch was never set, so it stays at epoch 0 (easy negatives '
                f'only; hard ones would be mixed in from epoch '
                f'{self.mix_neg_epoch}). Add dict(type=\'AVSCurriculumHook\') '
                'to custom_hooks, or call backbone.set_epoch(epoch) before '
                'every training epoch.',
                logger='current',
                level=logging.WARNING)
        return easy_negative_index(batch_size, self.epoch or 0,
                                   self.mix_neg_epoch, self.easy_neg_ratio)


def unique_views(audio: torch.Tensor):
    """Identical audio views, to be computed once (eval only).

    At multi-view testing every spatial crop of a temporal clip carries the
    same audio clip (``AlignAudioViews`` tiles it), so the audio pathway and
    the A->FS convs would run once per view. In eval mode (BN uses running
    statistics, every sample is independent) each distinct spectrogram can
    be processed once and its features gathered back per view; no crop
    count or view layout is assumed.

    Args:
        audio (torch.Tensor): ``[B, 1, T, F]``.

    Returns:
        tuple: ``(unique [U, 1, T, F], views [B] | None)`` with
        ``audio == unique[views]``; ``(audio, None)`` when all ``B`` are
        distinct.
    """
    if audio.shape[0] < 2:
        return audio, None
    unique, views = torch.unique(audio.flatten(1), dim=0, return_inverse=True)
    if unique.shape[0] == audio.shape[0]:
        return audio, None
    return unique.view(-1, *audio.shape[1:]), views


def drop_pathway_draw(probability: float, seed: int, iteration: int) -> bool:
    """DropPathway decision: a pure function of ``(seed, iteration)``.

    The pair is hashed into the seed of a private ``torch.Generator`` so that
    every rank draws the same value and a resumed run repeats the decisions.
    Returns True (drop) with the given probability.
    """
    if probability <= 0:
        return False
    if probability >= 1:
        return True
    digest = hashlib.sha256(f'{int(seed)}:{int(iteration)}'.encode())
    gen = torch.Generator().manual_seed(
        int.from_bytes(digest.digest()[:8], 'little') & (2**63 - 1))
    return bool(torch.rand((), generator=gen).item() < probability)
