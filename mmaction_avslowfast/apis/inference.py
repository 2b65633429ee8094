"""Load a trained AVSlowFast recognizer and predict a video, also with one
sense blanked (see :mod:`.conditions`)."""
import copy
import os.path as osp
from pathlib import Path
from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Union

import mmengine
import numpy as np
import torch
from mmaction.structures import ActionDataSample
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from ..audio import clip_frame_times
from ..engine.hooks.checkpoint_match_hook import (mismatch_message,
                                                  shape_mismatches)
from .conditions import (CONDITIONS, check_blank, forward_blanked,
                         pipeline_silence_value)

# Keys of the pipeline's intermediate results that describe what was
# sampled (kept by :func:`run_test_pipeline`).
SAMPLE_KEYS = ('total_frames', 'avg_fps', 'fps', 'start_index', 'frame_inds',
               'num_clips', 'clip_len', 'frame_interval', 'audio_valid',
               'audio_issue', 'original_shape')
_AUDIO_LOADERS = ('LoadAudioFromVideo', 'LoadLogMel')


def init_av_recognizer(config: Union[str, Path, mmengine.Config],
                       checkpoint: Optional[str] = None,
                       device: Union[str, torch.device] = 'cuda:0',
                       cfg_options: Optional[Dict] = None) -> torch.nn.Module:
    """Build a recognizer from a config and load a checkpoint, like
    :func:`mmaction.apis.init_recognizer`, keeping the checkpoint's
    ``meta['dataset_meta']`` (e.g. ``classes``) in ``model.dataset_meta``.

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file, loaded weights-only
            (see :mod:`mmaction_avslowfast.utils.compat`). None: the
            model's own initialisation (random weights).
        device (str | torch.device): Device of the model. Default:
            ``'cuda:0'``.
        cfg_options (dict, optional): Overrides merged into the config
            (as ``--cfg-options``).

    Returns:
        nn.Module: The recognizer in eval mode, with ``model.cfg``.
    """
    if isinstance(config, (str, Path)):
        config = mmengine.Config.fromfile(str(config))
    elif not isinstance(config, mmengine.Config):
        raise TypeError(f'config must be a filename or Config, got '
                        f'{type(config)}')
    else:
        config = copy.deepcopy(config)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    from mmaction.apis import init_recognizer
    model = init_recognizer(config, None, device='cpu')
    dataset_meta = {}
    if checkpoint is not None:
        loaded = load_checkpoint(model, checkpoint, map_location='cpu')
        mismatched = shape_mismatches(model, loaded.get('state_dict', {}))
        if mismatched:
            raise ValueError(mismatch_message(checkpoint, mismatched))
        dataset_meta = dict(loaded.get('meta', {}).get('dataset_meta') or {})
    model.dataset_meta = dataset_meta
    model.to(device)
    model.eval()
    return model


def test_pipeline_cfg(cfg: mmengine.Config) -> list:
    """A copy of the config's test pipeline (``test_pipeline``, as
    ``inference_recognizer`` reads it, else the test data set's)."""
    if 'test_pipeline' in cfg:
        return copy.deepcopy(list(cfg.test_pipeline))
    return copy.deepcopy(list(cfg.test_dataloader.dataset.pipeline))


def build_test_pipeline(cfg: mmengine.Config,
                        pipeline_cfg: Optional[Sequence[dict]] = None
                        ) -> Compose:
    """The config's test pipeline, with missing audio read as silence.

    ``on_missing_audio`` of the audio loaders is set to ``'zeros'``, so a
    video without (readable) sound is predicted with the log-mel of
    silence and ``audio_valid=False`` instead of being refused; everything
    else (sampling, views, crops, normalisation) is the config's.

    Args:
        cfg (Config): The model's config (``model.cfg``).
        pipeline_cfg (list[dict], optional): Use this pipeline instead of
            :func:`test_pipeline_cfg`.
    """
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    steps = copy.deepcopy(list(pipeline_cfg)) if pipeline_cfg is not None \
        else test_pipeline_cfg(cfg)
    for step in steps:
        if isinstance(step, dict) and step.get('type') in _AUDIO_LOADERS:
            step['on_missing_audio'] = 'zeros'
    return Compose(steps)


def video_input(video: str) -> Dict:
    """The pipeline input for a video file (``inference_recognizer``'s)."""
    if not osp.isfile(video):
        raise FileNotFoundError(f'no such video: {video!r}')
    return dict(filename=video, label=-1, start_index=0, modality='RGB')


def run_test_pipeline(pipeline: Compose, data: Dict) -> Tuple[Dict, Dict]:
    """Run a pipeline like :class:`Compose`, also returning what it sampled.

    Returns:
        tuple: ``(packed, sample)``: the last transform's output and the
        last value of each :data:`SAMPLE_KEYS` key seen along the way
        (packing drops them).

    Raises:
        RuntimeError: a transform returned None (the sample was refused).
    """
    sample = {}
    for transform in pipeline.transforms:
        data = transform(data)
        if data is None:
            raise RuntimeError(f'{transform!r} refused the sample')
        sample.update({k: data[k] for k in SAMPLE_KEYS if k in data})
    return data, sample


class ModalityComparison(NamedTuple):
    """Predictions of one video under the conditions of :data:`CONDITIONS`.

    Attributes:
        scores (dict[str, np.ndarray]): condition -> ``[num_classes]``
            (the head's ``average_clips`` over the test views).
        clip_times (np.ndarray): ``[num_clips, clip_len]`` time (s) of every
            frame of every test clip.
        looped (bool): Some clip repeats frames (a video shorter than one
            clip: ``SampleFrames`` loops it and the audio loops with it).
        num_views (int): Views the scores average.
        silence (float): Normalised log-mel value used for silence.
        sample (dict): What the pipeline sampled (:data:`SAMPLE_KEYS`).
    """
    scores: Dict[str, np.ndarray]
    clip_times: np.ndarray
    looped: bool
    num_views: int
    silence: float
    sample: Dict


def _prepare(model, video, test_pipeline):
    if test_pipeline is None:
        test_pipeline = build_test_pipeline(model.cfg)
    data = dict(video) if isinstance(video, dict) else video_input(video)
    packed, sample = run_test_pipeline(test_pipeline, data)
    return test_pipeline, packed, sample


def inference_av(model: torch.nn.Module,
                 video: Union[str, Dict],
                 blank: Optional[str] = None,
                 test_pipeline: Optional[Compose] = None) -> ActionDataSample:
    """Predict one video, optionally with one sense blanked.

    With ``blank=None`` the result equals
    :func:`mmaction.apis.inference_recognizer` (same pipeline input, test
    pipeline and ``test_step``).

    Args:
        model (nn.Module): From :func:`init_av_recognizer`.
        video (str | dict): Video file or the pipeline's input dict.
        blank (str, optional): ``None``, ``'audios'`` (digital silence) or
            ``'imgs'`` (mean grey); see :mod:`.conditions`.
        test_pipeline (Compose, optional): Default
            :func:`build_test_pipeline` of ``model.cfg``.

    Returns:
        ActionDataSample: ``pred_score`` ``[num_classes]``.
    """
    check_blank(blank)
    test_pipeline, packed, _ = _prepare(model, video, test_pipeline)
    silence = pipeline_silence_value(test_pipeline) \
        if blank == 'audios' else None
    return forward_blanked(model, [packed], blank, silence)[0]


def compare_modalities(model: torch.nn.Module,
                       video: Union[str, Dict],
                       test_pipeline: Optional[Compose] = None,
                       conditions: Sequence[str] = tuple(CONDITIONS)
                       ) -> ModalityComparison:
    """Predict one video under several conditions (:data:`CONDITIONS`):
    the test pipeline runs once, the model once per condition.

    Args:
        model (nn.Module): From :func:`init_av_recognizer`.
        video (str | dict): Video file or the pipeline's input dict.
        test_pipeline (Compose, optional): Default
            :func:`build_test_pipeline` of ``model.cfg``.
        conditions (Sequence[str]): Keys of :data:`CONDITIONS`.

    Returns:
        ModalityComparison: scores per condition and what was sampled.
    """
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise ValueError(f'unknown conditions {unknown}; choose from '
                         f'{list(CONDITIONS)}')
    test_pipeline, packed, sample = _prepare(model, video, test_pipeline)
    silence = pipeline_silence_value(test_pipeline)
    scores = {
        name: forward_blanked(model, [packed], CONDITIONS[name],
                              silence)[0].pred_score.cpu().numpy()
        for name in conditions
    }
    fps = sample.get('avg_fps', sample.get('fps'))
    frames = clip_frame_times(sample['frame_inds'], sample['num_clips'], fps,
                              start_index=sample.get('start_index', 0))
    return ModalityComparison(
        scores=scores,
        clip_times=frames.times,
        looped=not bool(np.all(frames.regular)),
        num_views=int(packed['inputs']['imgs'].shape[0]),
        silence=float(silence),
        sample=sample)
