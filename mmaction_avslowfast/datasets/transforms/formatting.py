"""Audio/video view alignment and packing of audiovisual samples."""
from typing import Dict

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmaction.datasets.transforms import PackActionInputs
from mmaction.registry import TRANSFORMS
from mmaction.structures.action_data_sample import format_label


@TRANSFORMS.register_module()
class AlignAudioViews(BaseTransform):
    """Lay out ``audios`` like ``FormatShape`` lays out ``imgs``.

    Place after ``FormatShape``. ``FormatShape('NCTHW')`` orders video
    views as ``view = crop * num_clips + clip``; the per-clip audio
    ``[num_clips, C, T, F]`` is tiled over the crops the same way, so that
    ``MMRecognizer3D`` (which flattens each modality's views independently)
    pairs video view k with audio view k. With ``FormatShape(collapse=True)``
    (detection, ``imgs [C, T, H, W]``) the single audio view is squeezed to
    ``[C, T, F]``.

    Required keys: ``imgs`` (formatted), ``audios``, ``num_clips``.
    Modified keys: ``audios`` -> ``[V, C, T, F]`` with V = video views.

    Raises:
        ValueError: when the video view count is not a multiple of the audio
            clip count (the pipeline produced inconsistent views).
    """

    def transform(self, results: Dict) -> Dict:
        audios = results['audios']
        imgs = results['imgs']
        num_clips = results.get('num_clips', 1)
        if audios.shape[0] != num_clips:
            raise ValueError(
                f'AlignAudioViews: audios has {audios.shape[0]} views but '
                f'num_clips={num_clips}; run it once, after FormatShape')
        if imgs.ndim == 4:  # FormatShape(collapse=True): one view
            if num_clips != 1:
                raise ValueError('collapsed imgs need num_clips == 1, got '
                                 f'{num_clips}')
            results['audios'] = audios[0]
            return results
        num_views = imgs.shape[0]
        if num_views % num_clips:
            raise ValueError(
                f'AlignAudioViews: {num_views} video views cannot be paired '
                f'with {num_clips} audio clips (imgs {tuple(imgs.shape)}, '
                f'audios {tuple(audios.shape)}); use FormatShape before it')
        results['audios'] = np.ascontiguousarray(
            np.tile(audios, (num_views // num_clips, 1, 1, 1)))
        return results


@TRANSFORMS.register_module()
class PackAVInputs(PackActionInputs):
    """``PackActionInputs`` for audiovisual samples.

    Collects ``imgs`` and ``audios`` into ``inputs`` (as
    ``PackActionInputs(collect_keys=('imgs', 'audios'))``) and keeps in the
    packed sample's metainfo, besides MMAction2's default meta keys, the
    ``filename``, ``audio_valid`` (False when the audio could not be read
    and silence was used) and ``audio_issue`` (why). A ``mim test --dump``
    then says which predictions were made without audio, and
    ``MediaIssuesHook`` counts them (``data/no_audio``). A ``noun_label``
    in the results (``EpicKitchensDataset``) becomes the sample's
    ``noun_label`` field, formatted like ``gt_label`` (LongTensor ``[1]``).

    Args:
        collect_keys (tuple[str]): Input keys. Default: ``('imgs',
            'audios')``.
        meta_keys (Sequence[str]): Metainfo keys. Default: MMAction2's
            ``('img_shape', 'img_key', 'video_id', 'timestamp')`` plus
            ``('filename', 'audio_valid', 'audio_issue')``.
    """

    DEFAULT_META_KEYS = ('img_shape', 'img_key', 'video_id', 'timestamp',
                         'filename', 'audio_valid', 'audio_issue')

    def __init__(self,
                 collect_keys=('imgs', 'audios'),
                 meta_keys=DEFAULT_META_KEYS,
                 algorithm_keys=()) -> None:
        super().__init__(
            collect_keys=collect_keys,
            meta_keys=meta_keys,
            algorithm_keys=algorithm_keys)

    def transform(self, results: Dict) -> Dict:
        """Pack as ``PackActionInputs``; a floating-point NumPy ``label``
        (multi-hot / soft target ``[num_classes]``, e.g. from
        ``CharadesClipLabel``) is kept as a float32 tensor on ``gt_label``
        (MMAction2 1.2.0's ``set_gt_label`` casts NumPy labels to int64,
        which ``BCELossWithLogits`` rejects)."""
        packed = super().transform(results)
        label = results.get('label')
        if isinstance(label, np.ndarray) and label.dtype.kind == 'f':
            packed['data_samples'].set_gt_label(
                torch.from_numpy(label.astype(np.float32)))
        if 'noun_label' in results:  # EPIC-Kitchens: noun class, as gt_label
            packed['data_samples'].set_field(
                format_label(results['noun_label']), 'noun_label',
                dtype=torch.Tensor)
        return packed
