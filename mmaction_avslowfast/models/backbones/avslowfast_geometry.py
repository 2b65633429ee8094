"""Build-time geometry of AVSlowFast: pathway construction, stage channels
and temporal lengths, checked so that every lateral lands on Slow frames."""
from typing import Dict, List

import torch.nn as nn

from mmaction.models.backbones.resnet3d_slowfast import ResNet3dPathway

#: Junctions, in order: outputs of the stem (after pool1), res2, res3, res4
#: (inputs of res2..res5) and res5 (AVS only).
JUNCTIONS = ('pool1', 'res2', 'res3', 'res4', 'res5')


def _conv_len(length: int, kernel: int, stride: int, padding: int) -> int:
    return (length + 2 * padding - kernel) // stride + 1


class AVSlowFastGeometryMixin:
    """Channels and temporal lengths of the Slow/Fast/Audio stages of
    :class:`~.avslowfast.AVSlowFast` (which sets ``slow_path``,
    ``fast_path``, ``audio_path``, ``clip_len``, ``resample_rate``,
    ``speed_ratio``, ``audio_frames``, ``fs_fusion`` and ``avs_stages``)."""

    @staticmethod
    def _build_pathway(cfg: Dict, key: str) -> ResNet3dPathway:
        pathway_type = cfg.pop('type', 'resnet3d')
        if pathway_type != 'resnet3d':
            raise KeyError(f'{key}.type must be "resnet3d", '
                           f'got {pathway_type!r}')
        return ResNet3dPathway(**cfg)

    def _lateral(self, junction: int) -> nn.Module:
        name = 'conv1_lateral' if junction == 0 else \
            f'layer{junction}_lateral'
        return getattr(self.slow_path, name)

    @staticmethod
    def _stage_channels(path: ResNet3dPathway) -> List[int]:
        exp = path.block.expansion
        return [path.base_channels] + [
            path.base_channels * 2**i * exp for i in range(path.num_stages)
        ]

    def _slow_channels(self) -> List[int]:
        return self._stage_channels(self.slow_path)

    def _fast_channels(self) -> List[int]:
        return self._stage_channels(self.fast_path)

    @staticmethod
    def _pathway_lengths(path: ResNet3dPathway, length: int) -> List[int]:
        """Temporal length after the stem and each stage of a pathway."""
        kt = path.conv1_kernel[0]
        length = _conv_len(length, kt, path.conv1_stride_t, (kt - 1) // 2)
        length = _conv_len(length, 1, path.pool1_stride_t, 0)
        lengths = [length]
        for stride in path.temporal_strides:
            length = (length - 1) // stride + 1
            lengths.append(length)
        return lengths

    def _slow_lengths(self) -> List[int]:
        return self._pathway_lengths(self.slow_path,
                                     self.clip_len // self.resample_rate)

    def _fast_lengths(self) -> List[int]:
        return self._pathway_lengths(
            self.fast_path,
            self.clip_len // (self.resample_rate // self.speed_ratio))

    def _check_lengths(self) -> None:
        slow_t = self._slow_lengths()
        if min(slow_t) < 1:
            raise ValueError(f'clip_len ({self.clip_len}) gives no Slow '
                             f'frame with resample_rate {self.resample_rate}')
        fast_t = self._fast_lengths()
        k = self.slow_path.fusion_kernel
        for j in range(5):
            if j < 4 and not self.fs_fusion[j]:
                continue
            if j == 4 and not self.avs_stages[4]:
                continue
            out = _conv_len(fast_t[j], k, self.speed_ratio, (k - 1) // 2)
            if out != slow_t[j]:
                raise ValueError(
                    f'F->S lateral at {JUNCTIONS[j]}: {fast_t[j]} Fast frames '
                    f'give {out} frames, Slow has {slow_t[j]}; adjust '
                    f'clip_len ({self.clip_len}), resample_rate or '
                    'speed_ratio.')
        audio_t = self.audio_path.output_lengths(self.audio_frames)
        if min(audio_t) < 1:
            raise ValueError(f'audio_frames ({self.audio_frames}) too short')

