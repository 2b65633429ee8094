"""The Audio pathway of AVSlowFast (Xiao et al., arXiv 2001.08740).

The log-mel spectrogram ``[N, 1, T, F]`` (time x mel, e.g. 128 x 80) is
processed as a 2-D image whose first spatial axis is time and whose second is
frequency. The pathway differs from MMAction2's ``ResNetAudio`` in its blocks:

* stem: a 9x1 (time) and a 1x9 (frequency) conv run in parallel on the input
  and are **summed**, then one BN and ReLU; stride 1, no pooling;
* the first ``tf_stages`` stages (res2, res3 in the reference) use
  time-frequency blocks: a 3x1 and a 1x3 conv in parallel on the block input
  (each BN + ReLU), **concatenated**, then a 1x1 conv + BN (no 1x1 reduction
  in front);
* the remaining stages use standard ResNet blocks whose 3x3 convs run over
  time x frequency;
* from res3 on, the first block of each stage strides by 2 in time and
  frequency (``reduce_tf``), so 128 x 80 becomes 16 x 10 at res5.
"""
from typing import Dict, List

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, kaiming_init
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import MODELS

#: block counts per stage, and whether the depth uses bottlenecks.
AUDIO_ARCH_SETTINGS = {
    18: ((2, 2, 2, 2), False),
    34: ((3, 4, 6, 3), False),
    50: ((3, 4, 6, 3), True),
    101: ((3, 4, 23, 3), True),
    152: ((3, 8, 36, 3), True),
}


class AudioTimeFreqStem(BaseModule):
    """Parallel 9x1 (time) and 1x9 (frequency) convs, summed, BN, ReLU.

    Args:
        in_channels (int): Input channels (1 for a log-mel spectrogram).
        out_channels (int): Output channels.
        kernel (int): Length of the time and of the frequency kernel.
        norm_cfg (dict): Config of the norm layer after the sum.

    Shapes: ``[N, in_channels, T, F]`` -> ``[N, out_channels, T, F]``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel: int = 9,
                 norm_cfg: Dict = dict(type='BN2d')) -> None:
        super().__init__()
        self.conv_t = nn.Conv2d(
            in_channels,
            out_channels, (kernel, 1),
            padding=(kernel // 2, 0),
            bias=False)
        self.conv_f = nn.Conv2d(
            in_channels,
            out_channels, (1, kernel),
            padding=(0, kernel // 2),
            bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv_t(x) + self.conv_f(x)))


class TimeFreqBlock(BaseModule):
    """Residual block with decoupled time and frequency convs.

    A 3x1 (time) and a 1x3 (frequency) conv act on the block input in parallel
    (each followed by BN and ReLU); their outputs are concatenated and mapped
    by a 1x1 conv + BN to ``out_channels``; then the shortcut is added and ReLU
    applied. This is the reference's ``TimeFreqBottleneckTransform_v1``.

    Args:
        in_channels (int): Input channels.
        inner_channels (int): Output channels of each of the two branches.
        out_channels (int): Output channels.
        stride (int): Stride in time and frequency of both branches.
        norm_cfg (dict): Config of the norm layers.

    Shapes: ``[N, in, T, F]`` -> ``[N, out, ceil(T / s), ceil(F / s)]``.
    """

    def __init__(self,
                 in_channels: int,
                 inner_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 norm_cfg: Dict = dict(type='BN2d')) -> None:
        super().__init__()
        self.conv_t = ConvModule(
            in_channels,
            inner_channels, (3, 1),
            stride=stride,
            padding=(1, 0),
            bias=False,
            norm_cfg=norm_cfg)
        self.conv_f = ConvModule(
            in_channels,
            inner_channels, (1, 3),
            stride=stride,
            padding=(0, 1),
            bias=False,
            norm_cfg=norm_cfg)
        self.conv_out = ConvModule(
            2 * inner_channels,
            out_channels,
            1,
            bias=False,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.downsample = _make_shortcut(in_channels, out_channels, stride,
                                         norm_cfg)
        self.relu = nn.ReLU(inplace=True)

    @property
    def last_norm(self) -> nn.Module:
        return self.conv_out.norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.cat([self.conv_t(x), self.conv_f(x)], dim=1)
        return self.relu(self.conv_out(out) + identity)


class AudioBottleneck(BaseModule):
    """Standard bottleneck: 1x1 -> 3x3 (time x frequency, strided) -> 1x1.

    Args:
        in_channels (int): Input channels.
        inner_channels (int): Channels of the 1x1 reduction and the 3x3 conv.
        out_channels (int): Output channels.
        stride (int): Stride of the 3x3 conv in time and frequency.
        norm_cfg (dict): Config of the norm layers.
    """

    def __init__(self,
                 in_channels: int,
                 inner_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 norm_cfg: Dict = dict(type='BN2d')) -> None:
        super().__init__()
        self.conv1 = ConvModule(
            in_channels, inner_channels, 1, bias=False, norm_cfg=norm_cfg)
        self.conv2 = ConvModule(
            inner_channels,
            inner_channels,
            3,
            stride=stride,
            padding=1,
            bias=False,
            norm_cfg=norm_cfg)
        self.conv3 = ConvModule(
            inner_channels,
            out_channels,
            1,
            bias=False,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.downsample = _make_shortcut(in_channels, out_channels, stride,
                                         norm_cfg)
        self.relu = nn.ReLU(inplace=True)

    @property
    def last_norm(self) -> nn.Module:
        return self.conv3.norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv3(self.conv2(self.conv1(x)))
        return self.relu(out + identity)


class AudioBasicBlock(BaseModule):
    """Basic block: 3x3 (strided) -> 3x3 over time x frequency.

    Used by the shallow (R18/R34) variants. ``inner_channels`` is ignored and
    kept for a uniform block signature.
    """

    def __init__(self,
                 in_channels: int,
                 inner_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 norm_cfg: Dict = dict(type='BN2d')) -> None:
        super().__init__()
        self.conv1 = ConvModule(
            in_channels,
            out_channels,
            3,
            stride=stride,
            padding=1,
            bias=False,
            norm_cfg=norm_cfg)
        self.conv2 = ConvModule(
            out_channels,
            out_channels,
            3,
            padding=1,
            bias=False,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.downsample = _make_shortcut(in_channels, out_channels, stride,
                                         norm_cfg)
        self.relu = nn.ReLU(inplace=True)

    @property
    def last_norm(self) -> nn.Module:
        return self.conv2.norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


def _make_shortcut(in_channels: int, out_channels: int, stride: int,
                   norm_cfg: Dict):
    """1x1 projection + BN when the shape changes, else identity (None)."""
    if in_channels == out_channels and stride == 1:
        return None
    return ConvModule(
        in_channels,
        out_channels,
        1,
        stride=stride,
        bias=False,
        norm_cfg=norm_cfg,
        act_cfg=None)


@MODELS.register_module()
class AVSlowFastAudioPathway(BaseModule):
    """Audio pathway of AVSlowFast.

    Widths are those of the Slow pathway divided by ``channel_ratio``: with
    ``base_channels=32`` (Slow 64 / 2) and depth 50 the stem has 32 channels
    and res2..res5 have 128 / 256 / 512 / 1024.

    Args:
        depth (int): 18, 34, 50, 101 or 152; follows the visual depth.
        base_channels (int): Stem width. Defaults to 32.
        in_channels (int): Input channels. Defaults to 1.
        stem_kernel (int): Length of the stem's time and frequency kernels.
            Defaults to 9.
        tf_stages (int): How many leading stages use :class:`TimeFreqBlock`.
            Defaults to 2 (res2 and res3).
        reduce_tf (bool): Stride 2 in time and frequency at res3, res4 and
            res5. Defaults to True.
        norm_cfg (dict): Config of the norm layers.
        init_cfg (dict, optional): Initialization config dict.

    Shapes:
        input ``[N, in_channels, T, F]``; :meth:`forward` returns the list of
        the stem, res2, res3, res4 and res5 outputs, the last one
        ``[N, feat_dim, T / 8, F / 8]`` when ``reduce_tf``.
    """

    def __init__(self,
                 depth: int = 50,
                 base_channels: int = 32,
                 in_channels: int = 1,
                 stem_kernel: int = 9,
                 tf_stages: int = 2,
                 reduce_tf: bool = True,
                 norm_cfg: Dict = dict(type='BN2d', requires_grad=True),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in AUDIO_ARCH_SETTINGS:
            raise KeyError(f'invalid audio pathway depth {depth}; choose one '
                           f'of {sorted(AUDIO_ARCH_SETTINGS)}')
        stage_blocks, bottleneck = AUDIO_ARCH_SETTINGS[depth]
        self.depth = depth
        self.base_channels = base_channels
        self.reduce_tf = reduce_tf
        expansion = 4 if bottleneck else 1
        self.stage_strides = (1, ) + ((2, ) * 3 if reduce_tf else (1, ) * 3)

        self.conv1 = AudioTimeFreqStem(in_channels, base_channels,
                                       stem_kernel, norm_cfg)
        self.res_layers: List[str] = []
        self.stage_channels = [base_channels]
        in_ch = base_channels
        for i, num_blocks in enumerate(stage_blocks):
            planes = base_channels * 2**i
            out_ch = planes * expansion
            if i < tf_stages:
                block = TimeFreqBlock
                inner = planes if bottleneck else out_ch // 2
            else:
                block = AudioBottleneck if bottleneck else AudioBasicBlock
                inner = planes
            layers = []
            for b in range(num_blocks):
                layers.append(
                    block(
                        in_ch,
                        inner,
                        out_ch,
                        stride=self.stage_strides[i] if b == 0 else 1,
                        norm_cfg=norm_cfg))
                in_ch = out_ch
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*layers))
            self.res_layers.append(name)
            self.stage_channels.append(out_ch)
        self.feat_dim = in_ch

    def output_lengths(self, length: int) -> List[int]:
        """Time (or frequency) length after the stem and each stage."""
        lengths = [length]
        for stride in self.stage_strides:
            length = (length - 1) // stride + 1
            lengths.append(length)
        return lengths

    def init_weights(self) -> None:
        """Kaiming init of convs, BN to 1, last BN of every block to 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m)
            elif isinstance(m, _BatchNorm):
                constant_init(m, 1)
        for m in self.modules():
            if isinstance(m, (TimeFreqBlock, AudioBottleneck,
                              AudioBasicBlock)):
                constant_init(m.last_norm, 0)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Run the pathway.

        Args:
            x (torch.Tensor): Log-mel input ``[N, C, T, F]``.

        Returns:
            list[torch.Tensor]: Outputs of stem, res2, res3, res4 and res5.
        """
        outs = [self.conv1(x)]
        for name in self.res_layers:
            outs.append(getattr(self, name)(outs[-1]))
        return outs

