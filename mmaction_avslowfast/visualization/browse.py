"""Pictures of what an AVSlowFast model sees: the pipeline's video views
next to their aligned log-mel clips (used by ``tools/visualizations/browse_dataset.py``).

A sample is run through its dataset's pipeline up to the packer
(``PackAVInputs``), whose inputs are what the data preprocessor receives:
``imgs`` uint8 RGB ``[V, 3, T, H, W]`` (``FormatShape('NCTHW')``, view
``k = crop * num_clips + clip``) and ``audios`` ``[V, C, T_a, F]``
(normalised log-mel, channel 1 the AVS hard negative when the pipeline
makes one). The results just before the packer give the clip times
(``frame_inds`` / ``avg_fps``, as :class:`AudioLogMelClips` computes them)
and the audio state (``audio_valid``, ``audio_offset``).

:func:`browse_figure` draws one row per view: a strip of its frames
(a subsample when ``T > max_frames``) and its log-mel (time x mel, in
seconds of the video) plus the negative channel when present. Figures are
matplotlib :class:`~matplotlib.figure.Figure` objects on the Agg canvas
(no display, no pyplot state).
"""
from dataclasses import dataclass, field
from functools import cached_property
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..audio import clip_frame_times

#: Keys of the pre-packing results that the picture uses.
INFO_KEYS = ('filename', 'label', 'frame_inds', 'avg_fps', 'fps',
             'num_clips', 'clip_len', 'start_index', 'audio_time_offset',
             'audio_offset', 'audio_valid', 'audio_issue', 'total_frames')


@dataclass
class BrowsedSample:
    """One sample as the model sees it.

    Attributes:
        index (int): Index in the dataset.
        imgs (np.ndarray): ``[V, C, T, H, W]`` video views.
        audios (np.ndarray, optional): ``[V, C_a, T_a, F]`` log-mel views
            (None when the pipeline makes no audio).
        info (dict): Pre-packing results (:data:`INFO_KEYS`).
        meta (dict): Metainfo of the packed data sample.
    """

    index: int
    imgs: np.ndarray
    audios: Optional[np.ndarray]
    info: Dict
    meta: Dict = field(default_factory=dict)

    @property
    def num_clips(self) -> int:
        """Temporal clips; views are ``crops x clips``."""
        return int(self.info.get('num_clips', 1) or 1)

    @cached_property
    def _clip_frames(self):
        """``clip_frame_times`` of ``info`` (None without frame_inds/fps),
        as :class:`AudioLogMelClips` computes them."""
        fps = self.info.get('avg_fps', self.info.get('fps'))
        if 'frame_inds' not in self.info or not fps:
            return None
        return clip_frame_times(
            np.asarray(self.info['frame_inds']), self.num_clips, fps,
            start_index=self.info.get('start_index', 0),
            time_offset=self.info.get('audio_time_offset', 0.0))

    @property
    def clip_times(self) -> Optional[np.ndarray]:
        """``[num_clips, clip_len]`` frame times in seconds, or None."""
        frames = self._clip_frames
        return None if frames is None else np.asarray(frames.times)

    @property
    def regular(self) -> Optional[np.ndarray]:
        """Per clip, True when its frame indices increase (its log-mel
        then spans first..last frame time linearly), or None."""
        frames = self._clip_frames
        return None if frames is None else np.asarray(frames.regular)

    def view_clip_crop(self, view: int) -> tuple:
        """``(clip, crop)`` of a view (``view = crop * num_clips + clip``)."""
        return view % self.num_clips, view // self.num_clips


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _packer_index(transforms: Sequence) -> Optional[int]:
    """Index of the last ``Pack*`` transform (None if there is none)."""
    found = None
    for i, transform in enumerate(transforms):
        if type(transform).__name__.startswith('Pack'):
            found = i
    return found


def load_sample(dataset, index: int) -> Optional[BrowsedSample]:
    """Run sample ``index`` through ``dataset.pipeline``.

    The transforms run one by one on ``dataset.get_data_info(index)``; the
    results before the packer are kept for the clip times. An unreadable
    file raises (:class:`~mmaction_avslowfast.datasets.UnreadableMediaError`
    from the checked loaders); a transform that drops the sample (e.g.
    ``on_missing_audio='skip'``) makes it return None.

    Raises:
        ValueError: when the pipeline's ``imgs`` are not ``NCTHW`` views.
    """
    transforms = getattr(dataset.pipeline, 'transforms', [dataset.pipeline])
    pack_at = _packer_index(transforms)
    results = dataset.get_data_info(index)
    before_pack = results
    for i, transform in enumerate(transforms):
        if i == pack_at:
            before_pack = dict(results)
        results = transform(results)
        if results is None:
            return None
    if pack_at is None:
        before_pack = results
        inputs = dict(imgs=results.get('imgs'), audios=results.get('audios'))
        meta = {}
    else:
        inputs = results['inputs']
        if not isinstance(inputs, dict):
            inputs = dict(imgs=inputs)
        sample = results.get('data_samples')
        meta = dict(sample.metainfo) if sample is not None else {}
    if inputs.get('imgs') is None:
        raise ValueError('the pipeline produces no "imgs"')
    imgs = _to_numpy(inputs['imgs'])
    audios = inputs.get('audios')
    audios = None if audios is None else _to_numpy(audios)
    if imgs.ndim == 4:  # FormatShape(collapse=True): a single view
        imgs = imgs[None]
        if audios is not None and audios.ndim == 3:
            audios = audios[None]
    if imgs.ndim != 5:
        raise ValueError(
            f'browse_dataset shows FormatShape("NCTHW") views [V, C, T, H, '
            f'W]; the pipeline gives imgs of shape {tuple(imgs.shape)}')
    if audios is not None and (audios.ndim != 4
                               or audios.shape[0] != imgs.shape[0]):
        raise ValueError(
            f'audios {tuple(audios.shape)} do not pair with imgs '
            f'{tuple(imgs.shape)} view by view; put AlignAudioViews after '
            f'FormatShape')
    info = {k: before_pack[k] for k in INFO_KEYS if k in before_pack}
    for key in ('filename', 'audio_valid', 'audio_issue'):
        if key in meta:
            info.setdefault(key, meta[key])
    return BrowsedSample(index, imgs, audios, info, meta=meta)


def spread(total: int, limit: int) -> List[int]:
    """``min(total, limit)`` indices spread evenly over ``range(total)``
    (all of them, in order, when ``total <= limit``)."""
    if limit <= 0 or total <= limit:
        return list(range(total))
    return sorted(
        set(np.linspace(0, total - 1, limit).round().astype(int).tolist()))


def clip_span_text(sample: BrowsedSample, clip: int) -> str:
    """``'0.00-0.94 s'``: first and last frame time of a clip."""
    if sample.clip_times is None or clip >= len(sample.clip_times):
        return 'times n/a'
    times = sample.clip_times[clip]
    text = f'{times[0]:.2f}-{times[-1]:.2f} s'
    if sample.regular is not None and not sample.regular[clip]:
        text += ' (looped)'
    return text


def _frame_image(imgs: np.ndarray, view: int, t: int) -> np.ndarray:
    """Frame ``t`` of a view as ``[H, W, 3]`` uint8 (undoes NCTHW)."""
    frame = np.moveaxis(imgs[view][:, t], 0, -1)
    if frame.dtype != np.uint8:
        frame = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    if frame.shape[-1] == 1:
        frame = np.repeat(frame, 3, axis=-1)
    elif frame.shape[-1] != 3:
        frame = np.repeat(frame[..., :1], 3, axis=-1)  # e.g. flow: x only
    return frame


def _title(sample: BrowsedSample, split: str, views: List[int],
           frames: List[int], class_names: Optional[Sequence[str]]) -> str:
    info = sample.info
    label = info.get('label', 'n/a')
    if class_names is not None and isinstance(label, (int, np.integer)) \
            and 0 <= label < len(class_names):
        label = f'{label} ({class_names[label]})'
    valid = info.get('audio_valid', 'n/a')
    issue = info.get('audio_issue')
    lines = [
        f'{info.get("filename", "?")}',
        f'{split} sample {sample.index} | label {label} | '
        f'audio_valid={valid}' + (f' ({issue})' if issue else '') +
        (f' | audio offset {info["audio_offset"]:+.3f} s'
         if info.get('audio_offset') else '')
    ]
    num_views, _, clip_len = sample.imgs.shape[:3]
    num_crops = max(num_views // sample.num_clips, 1)
    layout = (f'{num_views} views = {num_crops} crop(s) x '
              f'{sample.num_clips} clip(s) of {clip_len} frames')
    if len(views) < num_views:
        layout += (f'; showing views {", ".join(map(str, views))} '
                   f'(--max-views {len(views)})')
    if len(frames) < clip_len:
        layout += f'; {len(frames)} of {clip_len} frames per view'
    lines.append(layout)
    spans = [clip_span_text(sample, c) for c in range(sample.num_clips)]
    for start in range(0, len(spans), 5):
        head = 'clip times: ' if start == 0 else '            '
        lines.append(head + ', '.join(
            f'#{start + i} {s}' for i, s in enumerate(spans[start:start + 5])))
    return '\n'.join(lines)


def browse_figure(sample: BrowsedSample,
                  split: str = 'train',
                  max_views: int = 6,
                  max_frames: int = 8,
                  class_names: Optional[Sequence[str]] = None,
                  dpi: int = 100):
    """Figure of one sample: a row per shown view with its frames and its
    log-mel (and AVS negative) panels.

    Axes carry labels for programmatic checks (``ax.get_label()``):
    ``'frame v{view} t{t}'``, ``'logmel v{view}'`` and
    ``'audio v{view} ch{c}'`` (``'negative v{view}'`` for channel 1 of a
    two-channel audio view).

    Args:
        sample (BrowsedSample): From :func:`load_sample`.
        split (str): Shown in the title.
        max_views (int): Views shown at most, spread over all views (the
            title lists them). Default: 6.
        max_frames (int): Frames shown per view at most, spread over the
            clip. Default: 8.
        class_names (Sequence[str], optional): Label names.
        dpi (int): Resolution of the saved picture.

    Returns:
        matplotlib.figure.Figure: On an Agg canvas; save it with
        ``fig.savefig(path)``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    imgs, audios = sample.imgs, sample.audios
    views = spread(imgs.shape[0], max_views)
    frames = spread(imgs.shape[2], max_frames)
    channels = 0 if audios is None else audios.shape[1]
    n_title = 4 + (sample.num_clips - 1) // 5
    ratios = [1.0] * len(frames) + [2.5] * channels
    fig = Figure(
        figsize=(1.15 * len(frames) + 2.9 * channels + 1.0,
                 1.45 * len(views) + 0.22 * n_title + 0.4),
        dpi=dpi, layout='constrained')
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(views), len(ratios), width_ratios=ratios)
    times = sample.clip_times
    for row, view in enumerate(views):
        clip, crop = sample.view_clip_crop(view)
        span = clip_span_text(sample, clip)
        clip_times = None
        if times is not None and clip < len(times) and \
                len(times[clip]) == imgs.shape[2]:
            clip_times = times[clip]
        for col, t in enumerate(frames):
            ax = fig.add_subplot(grid[row, col], label=f'frame v{view} t{t}')
            ax.imshow(_frame_image(imgs, view, t), interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f'{clip_times[t]:.2f} s' if clip_times is not None
                         else f'frame {t}', fontsize=7)
            if col == 0:
                ax.set_ylabel(f'view {view}\nclip {clip}, crop {crop}\n'
                              f'{span}', fontsize=7)
        if not channels:
            continue
        audio = audios[view]
        low, high = float(np.min(audio)), float(np.max(audio))
        extent = None  # the clip's audio in video time; others by frame
        if times is not None and clip < len(times):
            extent = (float(times[clip][0]), float(times[clip][-1]), 0,
                      audio.shape[-1])
        for c in range(channels):
            if c == 0:
                name, text = f'logmel v{view}', f'log-mel {span}'
            elif c == 1 and channels == 2:
                name, text = f'negative v{view}', 'AVS negative (channel 1)'
            else:
                name, text = f'audio v{view} ch{c}', f'audio channel {c}'
            if not sample.info.get('audio_valid', True):
                text += ' [no audio: silence]'
            ax = fig.add_subplot(grid[row, len(frames) + c], label=name)
            ax.imshow(audio[c].T, origin='lower', aspect='auto',
                      cmap='magma', vmin=low, vmax=high,
                      extent=extent if c == 0 else None,
                      interpolation='nearest')
            ax.set_title(text, fontsize=7)
            ax.tick_params(labelsize=6)
            if c == 0:
                ax.set_ylabel('mel bin', fontsize=7)
            if row == len(views) - 1:
                ax.set_xlabel('video time (s)' if extent and c == 0 else
                              'log-mel frame', fontsize=7)
    fig.suptitle(_title(sample, split, views, frames, class_names),
                 fontsize=8, ha='left', x=0.01)
    return fig
