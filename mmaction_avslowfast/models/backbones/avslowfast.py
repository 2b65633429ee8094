"""AVSlowFast backbone (Xiao et al., "Audiovisual SlowFast Networks for Video
Recognition", arXiv 2001.08740) on top of MMAction2's ``ResNet3dPathway``."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, kaiming_init
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import MODELS
from .audio_pathway import AVSlowFastAudioPathway
from .avslowfast_geometry import JUNCTIONS, AVSlowFastGeometryMixin
from .avslowfast_weights import AVSlowFastWeightsMixin
from .avs_modules import (AudioToSlowFastLateral, AVSNegativeCurriculum,
                          AVSyncHead, drop_pathway_draw, unique_views)
from .avslowfast_avs import AVSlowFastAVSMixin

@MODELS.register_module()
class AVSlowFast(AVSlowFastGeometryMixin, AVSlowFastWeightsMixin,
                 AVSlowFastAVSMixin, BaseModule):
    """Audiovisual SlowFast backbone.

    Slow and Fast pathways are MMAction2 ``ResNet3dPathway`` s with the same
    attribute names as ``ResNet3dSlowFast`` (``slow_path``, ``fast_path``), so
    a ``ResNet3dSlowFast`` state dict loads into the visual part unchanged when
    the F->S laterals match (all four for the MMAction2 model zoo). The Audio
    pathway (:class:`AVSlowFastAudioPathway`) has half the Slow width and the
    visual depth. At every junction in ``afs_fusion`` the audio feature is
    averaged over frequency, passed through an A->FS conv stack whose last
    stride maps audio time exactly onto Slow time, and **added** (broadcast
    over H, W) to the Slow tensor after the F->S concat.

    DropPathway: in training, with probability ``drop_pathway`` per forward
    (for the whole batch and all junctions) the A->FS additions are multiplied
    by zero; the convs still run, so every parameter stays in the graph. The
    draw is :func:`drop_pathway_draw` of ``(drop_seed, drop_iteration)``;
    ``drop_iteration`` is incremented after every training forward and may be
    set every iteration by a hook (:meth:`set_drop_iteration`), which makes
    the decision identical on all ranks and reproducible on resume. Never
    drops in eval mode; no rescaling. ``last_drop`` (public) records the
    decision of the last training forward (``DropPathwayHook`` logs it).

    Hierarchical AVS: at each stage in ``avs_stages`` an :class:`AVSyncHead`
    compares the visual code (Slow after F->S concat, before audio is added)
    with the A->FS outputs of the aligned and the negative audio. Only in
    training and only when ``audios`` has 2 channels (channel 1 = negative).
    A stage's loss is multiplied by 0 if it lies after the earliest junction
    where audio was fused in this forward. The res5 stage uses its own F->S and
    A->FS convs and never runs in eval. The losses are returned, not stored:
    ``forward(imgs, audios, return_avs=True)``. Negatives are shuffled across
    the batch (easy negatives) following ``avs_curriculum``
    (:class:`AVSNegativeCurriculum`), whose epoch :meth:`set_epoch` sets
    (``AVSCurriculumHook``).

    Args:
        pretrained (str, optional): A ``ResNet3dSlowFast`` (or AVSlowFast)
            checkpoint loaded non-strictly by :meth:`init_weights`; see
            :meth:`load_slowfast_checkpoint`. Defaults to None.
        resample_rate (int): tau; Slow takes every tau-th input frame.
            Defaults to 8.
        speed_ratio (int): alpha, Fast/Slow frame ratio. Defaults to 8.
        channel_ratio (int): beta_inv, Slow/Fast width ratio. Defaults to 8.
        slow_pathway (dict): ``ResNet3dPathway`` kwargs for Slow. ``lateral``,
            ``lateral_activate``, ``speed_ratio`` and ``channel_ratio`` are set
            from ``fs_fusion`` and the ratios above.
        fast_pathway (dict): ``ResNet3dPathway`` kwargs for Fast.
        audio_pathway (dict): Extra kwargs of :class:`AVSlowFastAudioPathway`
            (``in_channels``, ``stem_kernel``, ``tf_stages``, ``reduce_tf``,
            ``norm_cfg``); ``depth`` follows Slow, and its width is Slow's
            ``base_channels // audio_channel_ratio``.
        audio_channel_ratio (int): Slow/Audio width ratio. Defaults to 2.
        fs_fusion (Sequence[bool]): F->S laterals at (pool1, res2, res3, res4).
            Defaults to ``(False, False, True, True)`` (reference).
        afs_fusion (Sequence[bool]): A->FS laterals at the same junctions.
            Defaults to ``(False, False, True, True)``.
        audio_fusion_interm (int): Width of the intermediate A->FS conv.
            Defaults to 64.
        audio_fusion_kernel (int): A->FS kernel along audio time.
            Defaults to 5.
        audio_fusion_convs (int): Convs per A->FS lateral. Defaults to 2.
        clip_len (int): Frames of ``imgs`` (Fast rate). Defaults to 32.
        audio_frames (int): Spectrogram frames of ``audios``. Defaults to 128.
        drop_pathway (float): DropPathway probability. Defaults to 0.8.
        drop_seed (int): Seed of the DropPathway draw. Defaults to 0.
        avs_stages (Sequence[bool]): AVS heads at (pool1, res2, res3, res4,
            res5). Defaults to ``(False, False, True, True, True)``.
        avs_proj_dim (int): AVS projection dim. Defaults to 64.
        avs_margin (float): Contrastive margin. Defaults to 0.99.
        avs_var_thresh (float): Spectrograms with variance <= this are
            near-silent and their pair is masked. Defaults to 0.01.
        avs_dup_thresh (float): Pairs with cosine similarity >= this are
            near duplicates and masked. Defaults to 0.99999.
        avs_loss_weight (float): Weight of every AVS loss. Defaults to 1.0.
        easy_neg_ratio (float): Share of easy negatives from
            ``mix_neg_epoch`` on (``avs_curriculum``). Defaults to 0.75.
        mix_neg_epoch (int): Epoch from which hard negatives are mixed in.
            Defaults to 96.
        frozen (bool): Freeze the whole backbone: every parameter (Slow,
            Fast and Audio pathways, F->S and A->FS laterals, AVS heads) gets
            ``requires_grad=False`` and the backbone stays in eval mode (BN
            statistics fixed, no DropPathway, no AVS) even when the model is
            trained, e.g. for a linear probe. Defaults to False.
        norm_eval (bool): Keep every BN layer of the backbone in eval mode in
            training (running statistics used and not updated; the affine
            parameters still train unless ``frozen``), as fine-tuning with
            frozen BN. Defaults to False.
        share_eval_audio (bool): In eval mode, run the audio pathway and the
            A->FS convs once per distinct audio view (the spatial crops of a
            multi-view test share their clip's audio); outputs are equal
            within float tolerance. Defaults to True.
        skip_gated_avs (bool): In training, do not compute the AVS branches
            whose loss the gating multiplies by 0 in this iteration (the res5
            F->S/A->FS convs and the heads after the earliest fused
            junction); their parameters get the same zero gradient through
            a zero-valued stand-in loss, so DDP needs no
            ``find_unused_parameters``. Losses and gradients are unchanged
            (only the running statistics of the res5 AVS-only BN layers,
            which nothing reads, skip those iterations). Defaults to True.
        allow_mismatched_pretrained (bool): Load a ``pretrained``
            checkpoint whose tensors partly have other shapes, leaving those
            as initialised (each named in a WARNING); by default such a
            checkpoint is refused. Defaults to False.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=...,
            prefix=...)`` is treated like ``pretrained``.

    Shapes:
        ``imgs [N, 3, T, H, W]`` with ``T = clip_len``; ``audios
        [N, 1 | 2, audio_frames, F]`` -> ``(x_slow [N, Cs, T/tau, h, w],
        x_fast [N, Cf, T*alpha/tau, h, w], x_audio [N, Ca, Ta, Fa])``;
        R50: ``Cs, Cf, Ca = 2048, 256, 1024`` and ``Ta x Fa = 16 x 10`` for
        ``128 x 80`` input; see :meth:`forward` for ``return_avs``.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 resample_rate: int = 8,
                 speed_ratio: int = 8,
                 channel_ratio: int = 8,
                 slow_pathway: Dict = dict(
                     type='resnet3d',
                     depth=50,
                     pretrained=None,
                     lateral=True,
                     lateral_norm=True,
                     conv1_kernel=(1, 7, 7),
                     conv1_stride_t=1,
                     pool1_stride_t=1,
                     inflate=(0, 0, 1, 1)),
                 fast_pathway: Dict = dict(
                     type='resnet3d',
                     depth=50,
                     pretrained=None,
                     lateral=False,
                     base_channels=8,
                     conv1_kernel=(5, 7, 7),
                     conv1_stride_t=1,
                     pool1_stride_t=1),
                 audio_pathway: Dict = dict(),
                 audio_channel_ratio: int = 2,
                 fs_fusion: Sequence[bool] = (False, False, True, True),
                 afs_fusion: Sequence[bool] = (False, False, True, True),
                 audio_fusion_interm: int = 64,
                 audio_fusion_kernel: int = 5,
                 audio_fusion_convs: int = 2,
                 clip_len: int = 32,
                 audio_frames: int = 128,
                 drop_pathway: float = 0.8,
                 drop_seed: int = 0,
                 avs_stages: Sequence[bool] = (False, False, True, True,
                                               True),
                 avs_proj_dim: int = 64,
                 avs_margin: float = 0.99,
                 avs_var_thresh: float = 0.01,
                 avs_dup_thresh: float = 0.99999,
                 avs_loss_weight: float = 1.0,
                 easy_neg_ratio: float = 0.75,
                 mix_neg_epoch: int = 96,
                 frozen: bool = False,
                 norm_eval: bool = False,
                 share_eval_audio: bool = True,
                 skip_gated_avs: bool = True,
                 allow_mismatched_pretrained: bool = False,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(fs_fusion) != 4 or len(afs_fusion) != 4:
            raise ValueError('fs_fusion and afs_fusion need 4 flags '
                             '(pool1, res2, res3, res4)')
        if len(avs_stages) != 5:
            raise ValueError('avs_stages needs 5 flags '
                             '(pool1, res2, res3, res4, res5)')
        if resample_rate % speed_ratio:
            raise ValueError(f'resample_rate ({resample_rate}) must be a '
                             f'multiple of speed_ratio ({speed_ratio})')
        self.pretrained = pretrained
        self.allow_mismatched_pretrained = bool(allow_mismatched_pretrained)
        self.resample_rate = resample_rate
        self.speed_ratio = speed_ratio
        self.channel_ratio = channel_ratio
        self.fs_fusion = tuple(bool(f) for f in fs_fusion)
        self.afs_fusion = tuple(bool(f) for f in afs_fusion)
        self.avs_stages = tuple(bool(f) for f in avs_stages)
        self.clip_len = clip_len
        self.audio_frames = audio_frames
        self.drop_pathway = drop_pathway
        self.drop_seed = drop_seed
        self.drop_iteration = 0
        self.last_drop = False
        self.avs_loss_weight = avs_loss_weight
        self.avs_var_thresh = avs_var_thresh
        self.avs_dup_thresh = avs_dup_thresh
        self.avs_curriculum = AVSNegativeCurriculum(easy_neg_ratio,
                                                    mix_neg_epoch)
        self.pretrained_report: Optional[Dict[str, List[str]]] = None
        self._warned_no_negative = False
        self._warned_discarded_avs = False

        slow_cfg = copy.deepcopy(slow_pathway)
        slow_cfg['lateral'] = any(self.fs_fusion)
        slow_cfg['lateral_activate'] = [int(f) for f in self.fs_fusion]
        slow_cfg['speed_ratio'] = speed_ratio
        slow_cfg['channel_ratio'] = channel_ratio
        self.slow_path = self._build_pathway(slow_cfg, 'slow_pathway')
        self.fast_path = self._build_pathway(
            copy.deepcopy(fast_pathway), 'fast_pathway')
        if self.slow_path.depth != self.fast_path.depth:
            raise ValueError('slow_pathway and fast_pathway need equal depth')

        audio_cfg = dict(audio_pathway)
        for key in ('depth', 'base_channels'):
            if key in audio_cfg:
                raise ValueError(f'audio_pathway.{key} is derived from '
                                 'slow_pathway and audio_channel_ratio')
        self.audio_path = AVSlowFastAudioPathway(
            depth=self.slow_path.depth,
            base_channels=self.slow_path.base_channels // audio_channel_ratio,
            **audio_cfg)

        self._check_lengths()
        slow_t = self._slow_lengths()
        audio_t = self.audio_path.output_lengths(audio_frames)
        slow_ch = self._slow_channels()
        fast_ch = self._fast_channels()

        if self.avs_stages[4]:
            self.avs_fast_lateral_res5 = ConvModule(
                fast_ch[4],
                fast_ch[4] * self.slow_path.lateral_infl,
                kernel_size=(self.slow_path.fusion_kernel, 1, 1),
                stride=(speed_ratio, 1, 1),
                padding=((self.slow_path.fusion_kernel - 1) // 2, 0, 0),
                bias=False,
                conv_cfg=dict(type='Conv3d'),
                norm_cfg=dict(type='BN3d') if self.slow_path.lateral_norm
                else None,
                act_cfg=dict(type='ReLU')
                if self.slow_path.lateral_norm else None)
        fused_ch = []
        for j in range(5):
            if j < 4:
                fs_ch = (self._lateral(j).conv.out_channels
                         if self.fs_fusion[j] else 0)
            else:
                fs_ch = fast_ch[4] * self.slow_path.lateral_infl
            fused_ch.append(slow_ch[j] + fs_ch)

        self.audio_laterals = nn.ModuleDict()
        self.avs_heads = nn.ModuleDict()
        for j, name in enumerate(JUNCTIONS):
            fuse = j < 4 and self.afs_fusion[j]
            if not (fuse or self.avs_stages[j]):
                continue
            stride = audio_t[j] // slow_t[j]
            if audio_t[j] % slow_t[j]:
                raise ValueError(
                    f'A->FS lateral at {name}: {audio_t[j]} audio frames '
                    f'do not map onto {slow_t[j]} Slow frames with an integer '
                    f'stride; adjust clip_len ({clip_len}), resample_rate '
                    f'({resample_rate}) or audio_frames ({audio_frames}).')
            self.audio_laterals[name] = AudioToSlowFastLateral(
                self.audio_path.stage_channels[j],
                fused_ch[j],
                stride,
                interm_channels=audio_fusion_interm,
                kernel_size=audio_fusion_kernel,
                num_convs=audio_fusion_convs)
            if self.avs_stages[j]:
                self.avs_heads[name] = AVSyncHead(
                    fused_ch[j], fused_ch[j], avs_proj_dim, avs_margin)

        self.out_channels = (slow_ch[4], fast_ch[4], self.audio_path.feat_dim)
        self.feat_dim = sum(self.out_channels)
        self.frozen = bool(frozen)
        self.norm_eval = bool(norm_eval)
        self.share_eval_audio = bool(share_eval_audio)
        self.skip_gated_avs = bool(skip_gated_avs)
        if self.frozen:
            for param in self.parameters():
                param.requires_grad = False
        self.train(self.training)

    # ------------------------------------------------------------- init/load
    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """Initialise from scratch, then optionally load a SlowFast checkpoint.

        Visual pathways init like ``ResNet3dSlowFast`` (``pathway.pretrained``
        2-D inflation is honoured); the audio pathway and the A->FS / res5
        F->S convs use kaiming with BN = 1 (last BN of every audio block 0);
        AVS projections N(0, 0.01). If ``pretrained`` (argument, attribute or
        an ``init_cfg`` of type ``Pretrained``) is set, the checkpoint is
        loaded by :meth:`load_slowfast_checkpoint` and the report is kept in
        ``self.pretrained_report``.
        """
        if pretrained:
            self.pretrained = pretrained
        self.fast_path.init_weights()
        self.slow_path.init_weights()
        self.audio_path.init_weights()
        fusion_modules = [self.audio_laterals]
        if hasattr(self, 'avs_fast_lateral_res5'):
            fusion_modules.append(self.avs_fast_lateral_res5)
        for module in fusion_modules:
            for m in module.modules():
                if isinstance(m, (nn.Conv1d, nn.Conv3d)):
                    kaiming_init(m)
                elif isinstance(m, _BatchNorm):
                    constant_init(m, 1)
        for head in self.avs_heads.values():
            head.init_weights()

        checkpoint, prefix = self.pretrained, None
        key = 'model.backbone.pretrained'
        if checkpoint is None and isinstance(self.init_cfg, dict) and \
                self.init_cfg.get('type') == 'Pretrained':
            checkpoint = self.init_cfg['checkpoint']
            prefix = self.init_cfg.get('prefix')
            key = 'model.backbone.init_cfg.checkpoint'
        if checkpoint is not None:
            if not isinstance(checkpoint, str):
                raise TypeError('pretrained must be a str or None')
            self.load_slowfast_checkpoint(checkpoint, prefix=prefix, key=key)
        self._is_init = True

    # ------------------------------------------------------------ hook API
    def set_drop_iteration(self,
                           iteration: int,
                           seed: Optional[int] = None) -> None:
        """Set the iteration (and optionally the seed) of the next
        DropPathway draw; call every training iteration (e.g. with
        ``runner.iter`` and ``runner.seed``)."""
        self.drop_iteration = int(iteration)
        if seed is not None:
            self.drop_seed = int(seed)

    # -------------------------------------------------------------- forward
    def _draw_drop(self) -> bool:
        dropped = drop_pathway_draw(self.drop_pathway, self.drop_seed,
                                    self.drop_iteration)
        self.drop_iteration += 1
        self.last_drop = dropped
        return dropped

    def _audio_lateral(self, junction: int, audio: torch.Tensor,
                       slow_t: int, batch: int,
                       views: Optional[torch.Tensor] = None):
        """A->FS lateral of one junction; ``views`` maps each of the
        ``batch`` visual samples to its row of ``audio`` when identical
        audio views were computed once (eval, ``share_eval_audio``)."""
        out = self.audio_laterals[JUNCTIONS[junction]](audio)
        if out.shape[2] != slow_t:
            raise ValueError(
                f'A->FS lateral at {JUNCTIONS[junction]} gives '
                f'{out.shape[2]} frames but Slow has {slow_t}: the input '
                f'does not match clip_len={self.clip_len} / '
                f'audio_frames={self.audio_frames} set at build time.')
        if views is not None:
            return out[views], None
        return out[:batch], (out[batch:] if out.shape[0] > batch else None)

    def _stems(self, imgs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Slow and Fast frame sampling, stems and pool1.

        ``imgs [N, 3, T, H, W]`` -> ``(x_slow [N, C, T/tau, h, w],
        x_fast [N, C', T*alpha/tau, h, w])``.
        """
        x_slow = F.interpolate(
            imgs,
            mode='nearest',
            scale_factor=(1.0 / self.resample_rate, 1.0, 1.0))
        x_slow = self.slow_path.maxpool(self.slow_path.conv1(x_slow))
        x_fast = F.interpolate(
            imgs,
            mode='nearest',
            scale_factor=(1.0 / (self.resample_rate // self.speed_ratio), 1.0,
                          1.0))
        x_fast = self.fast_path.maxpool(self.fast_path.conv1(x_fast))
        return x_slow, x_fast

    def forward(self,
                imgs: torch.Tensor,
                audios: torch.Tensor,
                return_avs: bool = False):
        """Features, and with ``return_avs`` the AVS outputs of this forward.

        Args:
            imgs (torch.Tensor): ``[N, 3, T, H, W]`` at the Fast rate.
            audios (torch.Tensor): ``[N, 1 | 2, T_a, F]`` log-mel; channel 1
                (negative) is used only for AVS in training.
            return_avs (bool): Also return the AVS outputs. The computation
                is the same either way (unrequested AVS losses are discarded
                with a one-time warning).

        Returns:
            ``features = (x_slow [N, Cs, Ts, h, w], x_fast [N, Cf, Tf, h, w],
            x_audio [N, Ca, Ta, Fa])`` (aligned audio only), or with
            ``return_avs`` ``(features, avs)``: ``avs`` maps
            ``loss_avs_<stage>`` (every stage in ``avs_stages``; weighted,
            gated) and ``avs_pair_acc_<stage>`` (detached, stages computed)
            to 0-dim tensors (:meth:`_avs_outputs`); empty unless training
            with AVS stages and a negative.
        """
        batch = imgs.shape[0]
        aligned, negative = self._split_audio(audios, batch)
        with_avs = negative is not None
        dropped = self._draw_drop() if self.training else False
        afs_now = [f and not dropped for f in self.afs_fusion]
        earliest = next((j for j in range(4) if afs_now[j]), 4)
        # AVS stages after the earliest fused junction have gate 0: their
        # loss is not computed (equal loss and gradients, see _zero_touch).
        live = [with_avs and self.avs_stages[j] and
                (j <= earliest or not self.skip_gated_avs) for j in range(5)]

        audio_in, views = aligned, None
        if negative is not None:
            audio_in = torch.cat([aligned, negative], dim=0)
        elif not self.training and self.share_eval_audio:
            audio_in, views = unique_views(aligned)
        audio_feats = self.audio_path(audio_in)

        x_slow, x_fast = self._stems(imgs)

        avs_inputs = {}
        for j in range(4):
            if j > 0:
                name = self.slow_path.res_layers[j - 1]
                x_slow = getattr(self.slow_path, name)(x_slow)
                x_fast = getattr(self.fast_path, name)(x_fast)
            if self.fs_fusion[j]:
                x_slow = torch.cat((x_slow, self._lateral(j)(x_fast)), dim=1)
            if JUNCTIONS[j] not in self.audio_laterals:
                continue
            use_avs = with_avs and self.avs_stages[j]
            if not (self.afs_fusion[j] or use_avs):
                continue
            # Gated or not, the negative runs through a fused junction's
            # lateral: it shares the lateral's BN batch with the aligned audio.
            pos, neg = self._audio_lateral(j, audio_feats[j], x_slow.shape[2],
                                           batch, views)
            if use_avs:
                avs_inputs[j] = (x_slow, pos, neg)
            if self.afs_fusion[j]:
                # A dropped lateral still adds (zeros) to keep the graph.
                lateral = pos * 0.0 if dropped else pos
                x_slow = x_slow + lateral[..., None, None]
        last = self.slow_path.res_layers[-1]
        x_slow = getattr(self.slow_path, last)(x_slow)
        x_fast = getattr(self.fast_path, last)(x_fast)

        if live[4]:
            visual = torch.cat(
                (x_slow, self.avs_fast_lateral_res5(x_fast)), dim=1)
            pos, neg = self._audio_lateral(4, audio_feats[4], x_slow.shape[2],
                                           batch)
            avs_inputs[4] = (visual, pos, neg)

        avs = self._avs_outputs(avs_inputs, live, earliest, aligned,
                                negative) if with_avs else {}
        if avs and not return_avs:
            self._warn_discarded_avs()
        x_audio = audio_feats[4][views] if views is not None else \
            audio_feats[4][:batch]
        features = (x_slow, x_fast, x_audio)
        return (features, avs) if return_avs else features
