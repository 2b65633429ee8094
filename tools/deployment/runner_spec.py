"""The JSON written beside an exported model (``MODEL.json`` next to
``MODEL.onnx``): what ``onnx_infer.py`` needs to reproduce the config's
test pipeline without the config.

:func:`spec_from_pipeline` builds it from the built test pipeline (the
transform objects, duck-typed by class name: no imports here), so the
exporter and the runner share one definition; :func:`load_spec` reads and
checks it. A pipeline step the runner does not reproduce is refused by
name when exporting, so a JSON that loads always describes a pipeline the
runner implements.
"""
import json
import math
import os.path as osp
from typing import Dict, Optional, Sequence

from np_audio import LOG_EPS
from np_video import INTERPOLATIONS

FORMAT = 'mmaction-avslowfast-onnx'
VERSION = 1
# Steps that add nothing the runner has to reproduce (packing, layout).
PASS_THROUGH = ('AlignAudioViews', 'PackAVInputs', 'PackActionInputs')
VIDEO_INIT = ('CheckedDecordInit', 'DecordInit')
VIDEO_DECODE = ('CheckedDecordDecode', 'DecordDecode')
CROPS = ('CenterCrop', 'ThreeCrop')
# The audio recipe the runner implements (np_audio.py); load_spec refuses
# any other value of these keys.
AUDIO_RECIPE = dict(
    channels='mean',
    resampling=dict(method='sinc_interp_hann', lowpass_filter_width=6,
                    rolloff=0.99),
    window='hann', center=False, power=2.0, f_min=0.0, mel_scale='htk',
    mel_norm='slaney', log_eps=LOG_EPS, missing_audio='silence')


class SpecError(ValueError):
    """A pipeline the runner cannot reproduce, or a bad runner JSON."""


def spec_path(model_path: str) -> str:
    """``MODEL.json`` beside ``MODEL.onnx``."""
    return osp.splitext(model_path)[0] + '.json'


def _pair(value) -> list:
    return [int(v) for v in value] if isinstance(value, (tuple, list)) \
        else [int(value), int(value)]


def _resize(step) -> dict:
    if getattr(step, 'lazy', False):
        raise SpecError('Resize(lazy=True) is not reproduced by the runner')
    if step.interpolation not in INTERPOLATIONS:
        raise SpecError(f'Resize interpolation {step.interpolation!r} is '
                        f'not one of {INTERPOLATIONS}')
    scale = step.scale
    if not isinstance(scale, (int, float)):
        scale = [-1 if math.isinf(s) else int(s) for s in scale]
    return dict(scale=scale, keep_ratio=bool(step.keep_ratio),
                interpolation=step.interpolation)


def _sample_frames(step) -> dict:
    if not step.test_mode:
        raise SpecError('SampleFrames must have test_mode=True')
    unsupported = [name for name in ('temporal_jitter', 'twice_sample',
                                     'target_fps') if getattr(step, name)]
    if unsupported or step.clip_len < 2:
        raise SpecError(f'SampleFrames with {unsupported or "clip_len=1"} '
                        'is not reproduced by the runner')
    return dict(clip_len=int(step.clip_len),
                frame_interval=int(step.frame_interval),
                num_clips=int(step.num_clips),
                out_of_bound_opt=step.out_of_bound_opt)


def spec_from_pipeline(transforms: Sequence, preprocessors: Dict[str, dict],
                       average_clips: str, num_classes: int,
                       classes: Optional[Sequence[str]] = None) -> dict:
    """The runner JSON of a built test pipeline.

    Args:
        transforms: The pipeline's transform objects, in order.
        preprocessors (dict): ``imgs`` / ``audios`` -> the data
            preprocessor's settings (``mean``, ``std``, ``to_rgb``).
        average_clips (str): The head's view averaging (``'prob'``).
        num_classes (int): Classes of the output.
        classes: Class names, or None.

    Raises:
        SpecError: a step (or setting) the runner does not reproduce,
            named.
    """
    video = dict(resize=None, crop=None)
    audio = dict(AUDIO_RECIPE)
    seen = []
    for step in transforms:
        name = type(step).__name__
        seen.append(name)
        if name in PASS_THROUGH or name in VIDEO_INIT:
            continue
        if name in VIDEO_DECODE:
            if getattr(step, 'mode', 'accurate') != 'accurate':
                raise SpecError(f"{name}(mode={step.mode!r}): only 'accurate'"
                                ' decoding is reproduced')
        elif name == 'SampleFrames':
            video.update(_sample_frames(step))
        elif name == 'LoadAudioFromVideo':
            audio['sample_rate'] = int(step.sample_rate)
        elif name == 'AudioLogMelClips':
            if step.with_negative:
                raise SpecError('AudioLogMelClips(with_negative=True) is a '
                                'training step')
            ex = step.extractor
            audio.update(n_fft=int(ex.n_fft), hop_length=int(ex.hop_length),
                         n_mels=int(ex.n_mels), f_max=ex.sample_rate / 2,
                         num_frames=int(step.num_frames),
                         mean=float(step.mean), std=float(step.std),
                         logmel_rate=int(ex.sample_rate))
        elif name == 'Resize':
            video['resize'] = _resize(step)
        elif name in CROPS:
            video['crop'] = dict(type=name, size=_pair(step.crop_size))
        elif name == 'FormatShape':
            if step.input_format != 'NCTHW' or getattr(step, 'collapse',
                                                       False):
                raise SpecError(f'FormatShape(input_format='
                                f'{step.input_format!r}) is not NCTHW')
        else:
            raise SpecError(
                f'test pipeline step {name} is not reproduced by '
                'tools/deployment/onnx_infer.py (it reproduces '
                f'{VIDEO_INIT + VIDEO_DECODE} -> SampleFrames -> '
                'LoadAudioFromVideo -> AudioLogMelClips -> Resize -> '
                f'{CROPS} -> FormatShape -> {PASS_THROUGH})')
    for needed in ('SampleFrames', 'LoadAudioFromVideo', 'AudioLogMelClips',
                   'FormatShape'):
        if needed not in seen:
            raise SpecError(f'the test pipeline has no {needed} (steps: '
                            f'{seen})')
    if audio.pop('logmel_rate') != audio['sample_rate']:
        raise SpecError('LoadAudioFromVideo and AudioLogMelClips disagree '
                        'on the sample rate')
    imgs, audios = preprocessors.get('imgs', {}), preprocessors.get(
        'audios', {})
    video.update(mean=[float(v) for v in imgs.get('mean') or [0.] * 3],
                 std=[float(v) for v in imgs.get('std') or [1.] * 3],
                 to_rgb=bool(imgs.get('to_rgb', False)))
    audio.update(input_mean=audios.get('mean'), input_std=audios.get('std'))
    if classes is not None and len(classes) != num_classes:
        raise SpecError(f'{len(classes)} class names for {num_classes} '
                        'classes')
    return dict(format=FORMAT, version=VERSION, video=video, audio=audio,
                average_clips=average_clips, num_classes=int(num_classes),
                classes=list(classes) if classes is not None else None)


def load_spec(path: str) -> dict:
    """Read and check a runner JSON.

    Raises:
        SpecError: missing file, another format or version, or a setting
            the runner does not implement (named).
    """
    if not osp.isfile(path):
        raise SpecError(f'no runner JSON {path!r} beside the model (written '
                        'by tools/deployment/export_onnx.py)')
    try:
        with open(path, encoding='utf-8') as f:
            spec = json.load(f)
    except (OSError, ValueError) as err:
        raise SpecError(f'{path!r} is not a JSON file: {err}') from err
    if not isinstance(spec, dict) or spec.get('format') != FORMAT:
        raise SpecError(f'{path!r} is not a {FORMAT} runner JSON')
    if spec.get('version') != VERSION:
        raise SpecError(f'{path!r} has version {spec.get("version")}; this '
                        f'runner reads version {VERSION}')
    for key in ('video', 'audio', 'average_clips', 'num_classes'):
        if key not in spec:
            raise SpecError(f'{path!r} has no {key!r}')
    for key, value in AUDIO_RECIPE.items():
        if spec['audio'].get(key) != value:
            raise SpecError(f'{path!r}: audio {key}='
                            f'{spec["audio"].get(key)!r}; the runner '
                            f'implements {value!r}')
    if spec['average_clips'] != 'prob':
        raise SpecError(f'{path!r}: average_clips='
                        f'{spec["average_clips"]!r}; the runner averages '
                        "probabilities ('prob')")
    return spec
