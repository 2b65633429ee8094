"""Audiovisual Grad-CAM: where a recognizer looked and listened.

Grad-CAM (Selvaraju et al., arXiv 1610.02391) of one class score, computed
on one test view at one stage of each AVSlowFast pathway:

- the class score is the head's output for that view **before** softmax
  (the logit), by default for the video's top-1 class (the test views
  averaged as the head's ``average_clips`` says, as :func:`inference_av`);
- a stage ``A`` (``[1, C, t, h, w]`` for Slow / Fast, ``[1, C, t, f]`` for
  Audio) and the gradient ``G = d score / d A`` give channel weights, the
  mean of ``G`` over ``h, w`` per time step for the frames (as MMAction2's
  and PySlowFast's video Grad-CAM) and over ``t, f`` for the log-mel (as
  Grad-CAM on an image); the map is ``ReLU(sum_c w_c A_c)``;
- each map is upsampled to its input (Slow and Fast trilinearly to the
  view's ``T x H x W``, Audio bilinearly to ``T_a x F``) and divided by its
  maximum (a map without positive evidence stays 0);
- the frame map is the **sum** of the Slow and the Fast maps before that
  scaling, in the class score's units: each map's total over its cells is
  its first-order share of the score (``sum_c w_c A_c`` summed over the
  cells), and each upsampled map is divided by the pixels per cell
  (``T H W / (t h w)``) so that its total over the frames stays that share;
  a pathway counts as much as its evidence, whatever its map's size. The
  sum is then divided by its maximum.

Stages are named ``pathway.stage``: ``slow`` / ``fast`` / ``audio`` times
``stem`` (Slow / Fast: after pool1; Audio: its stem), ``res2`` ..
``res5`` (the output of that residual stage, before any lateral joins it).
By default each pathway uses its deepest stage whose map has at least
``4 x 4`` cells (``h x w``; Audio ``t x f``) on this input, the stem if none.

Forward hooks on the named modules read the activations and
``torch.autograd.grad`` their gradients; the hooks are removed afterwards,
the model's parameters get no ``.grad`` and it runs in eval mode (its mode
is restored).
"""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import Compose, pseudo_collate

from .conditions import forward_blanked
from .inference import _prepare

#: pathway -> backbone attribute
PATHWAYS = {'slow': 'slow_path', 'fast': 'fast_path', 'audio': 'audio_path'}
STAGES = ('stem', 'res2', 'res3', 'res4', 'res5')
#: A default stage's map has at least this many cells along each axis.
MIN_CELLS = 4


class AVGradCAM(NamedTuple):
    """Grad-CAM of one class on the first test view of a video.

    Attributes:
        imgs (np.ndarray): ``[T, H, W, 3]`` uint8, the view's frames as fed
            (after resize / crop, before normalisation).
        frames_cam (np.ndarray): ``[T, H, W]`` float32 in [0, 1], the Slow
            and Fast maps summed in the score's units (module docstring).
        slow_cam (np.ndarray), fast_cam (np.ndarray): ``[T, H, W]`` float32
            in [0, 1], each pathway's map.
        audio (np.ndarray): ``[T_a, F]`` float32, the view's log-mel as fed
            (normalised; channel 0).
        audio_cam (np.ndarray): ``[T_a, F]`` float32 in [0, 1].
        label (int): The class explained.
        scores (np.ndarray): ``[num_classes]``, the video's prediction (all
            test views, ``average_clips``).
        view_score (float): The explained logit on this view.
        layers (dict[str, str]): pathway -> stage name (``'slow.res3'``).
        map_sizes (dict[str, tuple]): pathway -> the stage's map size,
            ``(t, h, w)`` or ``(t, f)``.
        frame_inds (np.ndarray): ``[T]`` the view's frame indices in the
            video.
    """
    imgs: np.ndarray
    frames_cam: np.ndarray
    slow_cam: np.ndarray
    fast_cam: np.ndarray
    audio: np.ndarray
    audio_cam: np.ndarray
    label: int
    scores: np.ndarray
    view_score: float
    layers: Dict[str, str]
    map_sizes: Dict[str, Tuple[int, ...]]
    frame_inds: np.ndarray

    def save_npz(self, path: str) -> None:
        """Write ``imgs``, ``frames_cam``, ``audio``, ``audio_cam``,
        ``label`` and, besides, ``slow_cam``, ``fast_cam``, ``scores``,
        ``frame_inds`` and ``layers`` (str ``[3]``) to ``path``."""
        np.savez_compressed(
            path, imgs=self.imgs, frames_cam=self.frames_cam,
            audio=self.audio, audio_cam=self.audio_cam,
            label=np.int64(self.label), slow_cam=self.slow_cam,
            fast_cam=self.fast_cam, scores=self.scores.astype(np.float32),
            frame_inds=self.frame_inds,
            layers=np.array([self.layers[p] for p in PATHWAYS]))


def cam_stages(backbone: torch.nn.Module) -> Dict[str, torch.nn.Module]:
    """``'pathway.stage'`` -> module, for every stage of an AVSlowFast-like
    backbone (``slow_path`` / ``fast_path`` with ``maxpool`` and
    ``res_layers``, ``audio_path`` with ``conv1`` and ``res_layers``).

    Raises:
        TypeError: the backbone has not these pathways.
    """
    missing = [a for a in PATHWAYS.values() if not hasattr(backbone, a)]
    if missing:
        raise TypeError(f'Grad-CAM needs an AVSlowFast backbone (slow_path, '
                        f'fast_path, audio_path); {type(backbone).__name__} '
                        f'has no {missing}')
    stages = {}
    for pathway, attr in PATHWAYS.items():
        path = getattr(backbone, attr)
        stem = path.conv1 if pathway == 'audio' else path.maxpool
        modules = [stem] + [getattr(path, n) for n in path.res_layers]
        for name, module in zip(STAGES, modules):
            stages[f'{pathway}.{name}'] = module
    return stages


def parse_cam_layers(spec: Union[None, str, Sequence[str]],
                     valid: Sequence[str]) -> Dict[str, str]:
    """pathway -> stage name from ``'slow.res3,audio.res4'`` (or a list);
    pathways not named are absent (they get the default).

    Raises:
        ValueError: an unknown name (the message lists the valid ones) or a
            pathway named twice.
    """
    if spec is None:
        return {}
    names = spec.split(',') if isinstance(spec, str) else list(spec)
    chosen = {}
    for name in (n.strip() for n in names):
        if name not in valid:
            raise ValueError(f'unknown Grad-CAM layer {name!r}; valid: '
                             f'{", ".join(valid)}')
        pathway = name.split('.')[0]
        if pathway in chosen:
            raise ValueError(f'two Grad-CAM layers for {pathway!r}: '
                             f'{chosen[pathway]!r} and {name!r}')
        chosen[pathway] = name
    return chosen


def _default_stage(pathway: str, shapes: Dict[str, torch.Size]) -> str:
    """Deepest stage of ``pathway`` with a map of >= MIN_CELLS cells along
    each spatial (frames) / time-frequency (audio) axis, else the stem."""
    best = f'{pathway}.stem'
    for stage in STAGES:
        name = f'{pathway}.{stage}'
        if name in shapes and min(shapes[name][-2:]) >= MIN_CELLS:
            best = name
    return best


def _unit(cam: torch.Tensor) -> torch.Tensor:
    """Divide by the maximum (all-zero stays zero)."""
    peak = cam.max()
    return cam / peak if peak > 0 else torch.zeros_like(cam)


def grad_cam_map(activation: torch.Tensor, gradient: Optional[torch.Tensor],
                 size: Tuple[int, ...], scale: bool = True) -> torch.Tensor:
    """One Grad-CAM map, upsampled (and scaled to [0, 1]).

    Args:
        activation (Tensor): ``[1, C, t, h, w]`` (frames: weights per time
            step) or ``[1, C, t, f]`` (audio: one weight per channel).
        gradient (Tensor, optional): Its gradient (None: the score does
            not depend on it, the map is 0).
        size (tuple): ``(T, H, W)`` or ``(T_a, F)``.
        scale (bool): Divide by the maximum. False: the map in the score's
            units, divided by the pixels per cell (its total over ``size``
            equals its total over the cells).

    Returns:
        Tensor: ``size``, float32 (in [0, 1] with ``scale``).
    """
    if gradient is None:
        return torch.zeros(size)
    spatial = (3, 4) if activation.dim() == 5 else (2, 3)
    weights = gradient.mean(dim=spatial, keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True)).float()
    mode = 'trilinear' if activation.dim() == 5 else 'bilinear'
    cells = cam[0, 0].numel()
    cam = F.interpolate(cam, size=tuple(size), mode=mode,
                        align_corners=False)[0, 0].clamp(min=0).cpu()
    return _unit(cam) if scale else cam * (cells / cam.numel())


def _first_view_inputs(model, packed: Dict) -> Dict[str, torch.Tensor]:
    """The backbone's inputs of the first view (preprocessed, the model's
    own blanking applied, views flattened): ``imgs [1, 3, T, H, W]``,
    ``audios [1, C, T_a, F]``."""
    if not hasattr(model, 'backbone_inputs'):
        raise TypeError(f'Grad-CAM needs an AVRecognizer3D, got '
                        f'{type(model).__name__}')
    # views are preprocessed independently: only the first one is needed
    first = {m: x[:1] for m, x in packed['inputs'].items()}
    data = pseudo_collate([dict(inputs=first,
                                data_samples=packed['data_samples'])])
    with torch.no_grad():
        data = model.data_preprocessor(data, False)
        inputs = model.backbone_inputs(data['inputs'])
    # The inputs require gradients so that a frozen backbone (no parameter
    # requiring them) still builds the graph.
    return {m: x.detach().requires_grad_() for m, x in inputs.items()}


def _forward_with_hooks(model, inputs: Dict[str, torch.Tensor],
                        modules: Dict[str, torch.nn.Module]):
    """Backbone + head on ``inputs`` with gradients, keeping every named
    module's output; returns ``(logits [1, num_classes], outputs)``."""
    outputs, handles = {}, []

    def keep(name):

        def hook(module, args, output):
            outputs[name] = output

        return hook

    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(keep(name)))
        with torch.enable_grad():
            logits = model.cls_head(model.backbone(**inputs))
    finally:
        for handle in handles:
            handle.remove()
    if isinstance(logits, (tuple, list)):
        raise TypeError(f'{type(model.cls_head).__name__} gives several '
                        'score sets (e.g. verbs and nouns): Grad-CAM needs '
                        'a head with one')
    return logits, outputs


def av_gradcam(model: torch.nn.Module,
               video: Union[str, Dict],
               layers: Union[None, str, Sequence[str]] = None,
               target: Optional[int] = None,
               test_pipeline: Optional[Compose] = None) -> AVGradCAM:
    """Grad-CAM of a class over the frames and the log-mel of a video's
    first test view (module docstring).

    Args:
        model (nn.Module): An ``AVRecognizer3D`` with an AVSlowFast
            backbone (:func:`init_av_recognizer`).
        video (str | dict): Video file or the pipeline's input dict.
        layers (str | Sequence[str], optional): ``'pathway.stage'`` names,
            at most one per pathway (``'slow.res3,fast.res3,audio.res4'``);
            pathways not named use the default.
        target (int, optional): Class to explain; default the video's
            top-1.
        test_pipeline (Compose, optional): Default
            :func:`build_test_pipeline` of ``model.cfg``.

    Returns:
        AVGradCAM: the maps, the view's inputs and what was explained.
    """
    stages = cam_stages(model.backbone)
    chosen = parse_cam_layers(layers, list(stages))
    test_pipeline, packed, sample = _prepare(model, video, test_pipeline)
    was_training = model.training
    model.eval()
    try:
        inputs = _first_view_inputs(model, packed)
        watched = {n: m for n, m in stages.items()
                   if n.split('.')[0] not in chosen or n in chosen.values()}
        logits, outputs = _forward_with_hooks(model, inputs, watched)
        scores = forward_blanked(model, [packed])[0].pred_score.cpu()
        label = int(scores.argmax()) if target is None else int(target)
        if not 0 <= label < logits.shape[1]:
            raise ValueError(f'class {label} out of range: the model has '
                             f'{logits.shape[1]} classes')
        shapes = {n: out.shape for n, out in outputs.items()}
        for pathway in PATHWAYS:
            if pathway not in chosen:
                chosen[pathway] = _default_stage(pathway, shapes)
        names = [chosen[p] for p in PATHWAYS]
        grads = torch.autograd.grad(logits[0, label],
                                    [outputs[n] for n in names],
                                    allow_unused=True)
    finally:
        model.train(was_training)
    grads = dict(zip(names, grads))
    imgs, audios = inputs['imgs'], inputs['audios']
    frame_size = tuple(imgs.shape[2:])
    audio_size = tuple(audios.shape[2:])
    with torch.no_grad():
        maps = {
            p: grad_cam_map(outputs[chosen[p]].detach(),
                            grads[chosen[p]],
                            audio_size if p == 'audio' else frame_size,
                            scale=False)
            for p in PATHWAYS
        }
        frames_cam = _unit(maps['slow'] + maps['fast'])
        maps = {p: _unit(m) for p, m in maps.items()}
    raw = packed['inputs']['imgs'][0]  # [3, T, H, W] before normalisation
    clip_len = imgs.shape[2]
    return AVGradCAM(
        imgs=raw.permute(1, 2, 3, 0).float().round().clamp(0, 255).to(
            torch.uint8).numpy(),
        frames_cam=frames_cam.numpy().astype(np.float32),
        slow_cam=maps['slow'].numpy().astype(np.float32),
        fast_cam=maps['fast'].numpy().astype(np.float32),
        audio=audios[0, 0].detach().cpu().numpy().astype(np.float32),
        audio_cam=maps['audio'].numpy().astype(np.float32),
        label=label,
        scores=scores.numpy(),
        view_score=float(logits[0, label].detach()),
        layers={p: chosen[p] for p in PATHWAYS},
        map_sizes={p: tuple(shapes[chosen[p]][2:]) for p in PATHWAYS},
        frame_inds=np.asarray(sample['frame_inds'][:clip_len],
                              dtype=np.int64))
