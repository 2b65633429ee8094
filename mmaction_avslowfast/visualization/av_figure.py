"""The demo picture: frames, the audio track with the test clips, top-k
bars per condition and, optionally, the timeline (matplotlib, no display).
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from ..apis.conditions import CONDITION_TITLES
from ..apis.inference import ModalityComparison
from ..apis.labels import class_label, topk_classes
from ..apis.media import TrackLogMel, VideoSummary
from ..apis.timeline import Timeline

STRIP_HEIGHT = 96  # pixels of each frame in the strip


def _strip_image(frames: np.ndarray, gap: int = 4) -> Tuple[np.ndarray, int]:
    """``[N, H, W, 3]`` frames side by side at :data:`STRIP_HEIGHT`, with
    ``gap`` white columns between them; returns the image and the
    horizontal pitch of the frames."""
    import mmcv
    scale = STRIP_HEIGHT / frames.shape[1]
    width = max(int(round(frames.shape[2] * scale)), 1)
    tiles = []
    for frame in frames:
        tiles.append(mmcv.imresize(frame, (width, STRIP_HEIGHT)))
        tiles.append(np.full((STRIP_HEIGHT, gap, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], axis=1), width + gap


def _draw_strip(ax, frames: np.ndarray, times: np.ndarray) -> None:
    image, pitch = _strip_image(frames)
    ax.imshow(image)
    ax.set_xticks([pitch * i + (pitch - 4) / 2 for i in range(len(times))])
    ax.set_xticklabels([f'{t:.1f} s' for t in times], fontsize=8)
    ax.set_yticks([])
    ax.set_title('frames', fontsize=10)


def _draw_track(ax, track: TrackLogMel, comparison: ModalityComparison,
                duration: float) -> None:
    from matplotlib.patches import Rectangle
    fps = comparison.sample.get('avg_fps', comparison.sample.get('fps'))
    n_mels = track.logmel.shape[1]
    if track.logmel.shape[0]:
        start, end = track.extent
        ax.imshow(track.logmel.T, origin='lower', aspect='auto',
                  cmap='magma', extent=(start, end, 0, n_mels),
                  interpolation='nearest')
    else:
        ax.set_facecolor('black')
        ax.text(0.5, 0.5, f'no audio track ({track.issue}):\nthe model '
                'hears digital silence', color='white', ha='center',
                va='center', transform=ax.transAxes, fontsize=9, wrap=True)
    # One row of the spectrogram's height per clip, so that overlapping
    # clips stay apart.
    num_clips = len(comparison.clip_times)
    height = n_mels / num_clips
    for k, times in enumerate(comparison.clip_times):
        lo, hi = times.min(), times.max() + 1 / fps
        ax.add_patch(Rectangle((lo, k * height), hi - lo, height, fill=False,
                               lw=1.2, edgecolor='cyan'))
        if num_clips <= 12:
            ax.text(lo, (k + 0.5) * height, f' clip {k}', color='cyan',
                    va='center', fontsize=7)
    ax.set_xlim(0, max(duration, track.extent[1]))
    ax.set_ylim(0, n_mels)
    ax.set_xlabel('time (s)')
    ax.set_ylabel('mel bin')
    looped = ' (looped: the video is shorter than one clip)' \
        if comparison.looped else ''
    ax.set_title(f'log-mel of the whole audio track; boxes: the '
                 f'{len(comparison.clip_times)} test clips{looped}',
                 fontsize=10)


def _draw_bars(ax, scores: np.ndarray, title: str, topk: int,
               class_names: Optional[Sequence[str]]) -> None:
    ranked = topk_classes(scores, topk, class_names)
    ypos = np.arange(len(ranked))
    ax.barh(ypos, [r.score for r in ranked], color='tab:blue')
    ax.set_yticks(ypos)
    ax.set_yticklabels([r.name for r in ranked], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(1.0, max(r.score for r in ranked) * 1.05))
    for y, r in zip(ypos, ranked):
        ax.text(r.score, y, f' {r.score:.3f}', va='center', fontsize=7)
    ax.set_title(title, fontsize=10)


def _draw_timeline(ax, timeline: Timeline, topk: int,
                   class_names: Optional[Sequence[str]]) -> None:
    best = np.argsort(-timeline.scores.max(axis=0), kind='stable')[:topk]
    for c in best:
        ax.plot(timeline.centers, timeline.scores[:, c], marker='.',
                label=class_label(int(c), class_names))
    ax.set_ylabel('score')
    ax.set_ylim(0, max(1.0, float(timeline.scores.max()) * 1.05))
    ax.legend(fontsize=7, loc='upper right', ncol=min(len(best), 5))
    ax.set_title(f'timeline: one clip every {timeline.stride:g} s '
                 '(audiovisual), top classes', fontsize=10)


def build_av_figure(summary: VideoSummary,
                    comparison: ModalityComparison,
                    track: TrackLogMel,
                    frames: np.ndarray,
                    frame_times: np.ndarray,
                    class_names: Optional[Sequence[str]] = None,
                    topk: int = 5,
                    timeline: Optional[Timeline] = None):
    """The demo picture as a matplotlib ``Figure`` (Agg canvas).

    Panels, top to bottom: the frame strip (title ``'frames'``), the
    timeline (``'timeline: ...'``, only with ``timeline``), the log-mel of
    the whole track with every test clip boxed (``'log-mel of the whole
    audio track; ...'``), and one top-k bar chart per condition of
    ``comparison.scores`` (titles of :data:`CONDITION_TITLES`). The figure
    title is :meth:`VideoSummary.title`.

    Args:
        summary (VideoSummary): The video's streams.
        comparison (ModalityComparison): Scores per condition and clips.
        track (TrackLogMel): Whole-track log-mel ``[T, n_mels]``.
        frames (np.ndarray): ``[N, H, W, 3]`` uint8 RGB frames.
        frame_times (np.ndarray): ``[N]`` their times (s).
        class_names (Sequence[str], optional): Class names.
        topk (int): Classes per bar chart (and timeline curves).
        timeline (Timeline, optional): Windows' scores.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    conditions = list(comparison.scores)
    rows = [1.0, 1.6, 1.3] if timeline is None else [1.0, 1.4, 1.6, 1.3]
    fig = Figure(figsize=(12, 2.0 * sum(rows)))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(rows), len(conditions), height_ratios=rows,
                            hspace=0.55, wspace=0.6)
    _draw_strip(fig.add_subplot(grid[0, :]), frames, frame_times)
    track_ax = fig.add_subplot(grid[len(rows) - 2, :])
    if timeline is not None:
        timeline_ax = fig.add_subplot(grid[1, :], sharex=track_ax)
        _draw_timeline(timeline_ax, timeline, topk, class_names)
    _draw_track(track_ax, track, comparison, summary.duration)
    for col, name in enumerate(conditions):
        _draw_bars(fig.add_subplot(grid[-1, col]), comparison.scores[name],
                   CONDITION_TITLES[name], topk, class_names)
    fig.suptitle(summary.title(), fontsize=11, y=0.995)
    fig.subplots_adjust(top=0.92, bottom=0.06, left=0.1, right=0.97)
    return fig
