"""The Grad-CAM picture of ``tools/demo.py --cam``: the first test view's
frames with the frame heat over them, and its log-mel with the audio heat
(matplotlib, no display)."""
from typing import Optional, Sequence

import numpy as np

from ..apis.gradcam import PATHWAYS, AVGradCAM
from ..apis.labels import class_label
from .av_figure import _strip_image

HEAT_ALPHA = 0.5  # weight of the heat colour over the input
CMAP = 'jet'


def heat_overlay(imgs: np.ndarray, cam: np.ndarray,
                 alpha: float = HEAT_ALPHA) -> np.ndarray:
    """Blend a heat map over frames.

    Args:
        imgs (np.ndarray): ``[T, H, W, 3]`` uint8 RGB.
        cam (np.ndarray): ``[T, H, W]`` in [0, 1].
        alpha (float): Weight of the heat colour.

    Returns:
        np.ndarray: ``[T, H, W, 3]`` uint8 RGB.
    """
    from matplotlib import colormaps
    heat = colormaps[CMAP](np.clip(cam, 0, 1))[..., :3]
    blend = (1 - alpha) * imgs / 255.0 + alpha * heat
    return np.clip(np.round(blend * 255), 0, 255).astype(np.uint8)


def strip_indices(num: int, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` of ``num`` frame positions, evenly spread."""
    return np.unique(
        np.linspace(0, num - 1, min(num, max_frames)).round().astype(int))


def _draw_frames(ax, frames: np.ndarray, labels: Sequence[str],
                 title: str) -> None:
    image, pitch = _strip_image(frames)
    ax.imshow(image)
    ax.set_xticks([pitch * i + (pitch - 4) / 2 for i in range(len(labels))])
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)


def _draw_logmel(ax, audio: np.ndarray, cam: Optional[np.ndarray],
                 title: str) -> None:
    t_a, n_mels = audio.shape
    extent = (0, t_a, 0, n_mels)
    ax.imshow(audio.T, origin='lower', aspect='auto', cmap='gray',
              extent=extent, interpolation='nearest')
    if cam is not None:
        ax.imshow(cam.T, origin='lower', aspect='auto', cmap=CMAP,
                  alpha=HEAT_ALPHA, extent=extent, vmin=0, vmax=1,
                  interpolation='nearest')
    ax.set_xlabel('log-mel frame of the view')
    ax.set_ylabel('mel bin')
    ax.set_title(title, fontsize=10)


def build_cam_figure(cam: AVGradCAM,
                     class_names: Optional[Sequence[str]] = None,
                     title: str = '',
                     max_frames: int = 16):
    """The Grad-CAM picture as a matplotlib ``Figure`` (Agg canvas).

    Panels: the view's frames as fed (title ``'frames of test view 0 ...'``)
    and the same frames under the frame heat (``'frame heat: ...'``), at most
    ``max_frames`` of them, evenly spread; below, the view's log-mel
    (``'log-mel of test view 0'``) and the same under the audio heat
    (``'audio heat ...'``). The figure title names the class, its score and
    the layers with their map sizes.

    Args:
        cam (AVGradCAM): From :func:`~mmaction_avslowfast.apis.av_gradcam`.
        class_names (Sequence[str], optional): Class names.
        title (str): Prefix of the figure title (e.g. the video's name).
        max_frames (int): Frames drawn per strip.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keep = strip_indices(len(cam.imgs), max_frames)
    labels = [f'#{cam.frame_inds[i]}' for i in keep]
    fig = Figure(figsize=(12, 6.4))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, 2, height_ratios=[0.8, 0.8, 2.0], hspace=0.5,
                            wspace=0.2)
    _draw_frames(fig.add_subplot(grid[0, :]), cam.imgs[keep], labels,
                 'frames of test view 0 as fed (video frame index)')
    _draw_frames(
        fig.add_subplot(grid[1, :]),
        heat_overlay(cam.imgs, cam.frames_cam)[keep], labels,
        f'frame heat: {cam.layers["slow"]} + {cam.layers["fast"]} '
        '(summed in the class score\'s units)')
    _draw_logmel(fig.add_subplot(grid[2, 0]), cam.audio, None,
                 'log-mel of test view 0 (normalised)')
    _draw_logmel(fig.add_subplot(grid[2, 1]), cam.audio, cam.audio_cam,
                 f'audio heat: {cam.layers["audio"]}')
    sizes = ', '.join(
        f'{cam.layers[p]} {"x".join(map(str, cam.map_sizes[p]))}'
        for p in PATHWAYS)
    name = class_label(cam.label, class_names)
    head = f'{title} - ' if title else ''
    fig.suptitle(
        f'{head}Grad-CAM of {name} (video score {cam.scores[cam.label]:.3f}, '
        f'view logit {cam.view_score:.2f})\nlayers: {sizes}', fontsize=11,
        y=0.995)
    fig.subplots_adjust(top=0.88, bottom=0.08, left=0.06, right=0.98)
    return fig
