"""Synthesize a tiny EPIC-Kitchens-100 data set in the official layout.

Two untrimmed videos, ``<root>/P01/videos/P01_01.MP4`` and ``P01_02.MP4``
(H.264 + AAC), whose action segments each have their own picture and
sound, and the annotation CSVs with the official header order
(``EPIC_100_train.csv``, ``EPIC_100_validation.csv``). Used by the unit
tests and the short ``mim train`` / ``mim test`` runs; nothing is
downloaded. Everything is deterministic; writing takes about a second.

Content (so that a test can tell by content where a clip came from):

- segment ``k``: every frame is filled with the colour ``SEGMENT_COLORS[k]``
  except a vertical stripe, a little brighter, that moves with the frame
  index (motion); the sound is a sine of ``SEGMENT_TONES[k]`` Hz;
- between and around the segments (gaps): grey ``GAP_COLOR`` with the same
  kind of stripe, and a ``GAP_TONE`` Hz sine;
- ``P01_02``'s audio track starts ``late_audio`` seconds after its first
  picture (as in many real recordings); the sound stays aligned with the
  picture in video time (its tone schedule is shifted accordingly);
- one segment per video lasts at most 0.2 s (7 frames at 30 fps), shorter
  than a clip of ``clip_len=8, frame_interval=2`` (15 frames): it loops.

Frame ``i`` is shown at ``i / fps``; it carries segment ``k``'s content
when ``start_k <= i / fps <= stop_k``. Class ids are below 97 (verbs) and
300 (nouns), as in the real data set.
"""
import csv
import math
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .synthetic_media import tone_waveform, write_frames_with_audio

# Official column order of EPIC_100_{train,validation}.csv.
EPIC_COLUMNS = ('narration_id', 'participant_id', 'video_id',
                'narration_timestamp', 'start_timestamp', 'stop_timestamp',
                'start_frame', 'stop_frame', 'narration', 'verb',
                'verb_class', 'noun', 'noun_class', 'all_nouns',
                'all_noun_classes')
NUM_VERBS, NUM_NOUNS = 97, 300

GAP_COLOR = (128, 128, 128)
GAP_TONE = 5500.0
# Corners of the RGB cube: any two at least 175 apart, 151 from the grey.
SEGMENT_COLORS = ((215, 40, 40), (40, 215, 40), (40, 40, 215),
                  (215, 215, 40), (215, 40, 215), (40, 215, 215),
                  (215, 215, 215), (40, 40, 40))
SEGMENT_TONES = (350.0, 500.0, 700.0, 1000.0, 1400.0, 2000.0, 2800.0,
                 4000.0)
STRIPE_DELTA = 20  # stripe brightness over its background

# (video, start s, stop s, verb, verb_class, noun, noun_class, split)
_SEGMENTS = (
    ('P01_01', 1.00, 3.00, 'open', 3, 'door', 10, 'train'),
    ('P01_01', 3.50, 6.00, 'take', 0, 'knife', 42, 'train'),
    ('P01_01', 6.50, 6.70, 'put', 1, 'plate', 7, 'train'),
    ('P01_01', 7.20, 11.00, 'open', 3, 'fridge', 99, 'validation'),
    ('P01_02', 1.00, 2.50, 'wash', 10, 'knife', 42, 'train'),
    ('P01_02', 3.00, 5.00, 'cut', 7, 'onion', 299, 'train'),
    ('P01_02', 5.50, 7.50, 'take', 0, 'plate', 7, 'validation'),
    ('P01_02', 7.80, 7.95, 'put', 1, 'door', 10, 'validation'),
)
_DURATIONS = {'P01_01': 12.0, 'P01_02': 8.5}


def format_timestamp(seconds: float) -> str:
    """``HH:MM:SS.ff`` as in EPIC's ``start_timestamp`` columns."""
    cents = int(round(seconds * 100))
    hours, rest = divmod(cents, 360000)
    minutes, rest = divmod(rest, 6000)
    return f'{hours:02d}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}'


def _frame(index: int, color: Sequence[int], size: Tuple[int, int]
           ) -> np.ndarray:
    """RGB ``[H, W, 3]``: ``color`` with a brighter 8-px stripe at a column
    that moves 3 px per frame."""
    width, height = size
    img = np.empty((height, width, 3), np.uint8)
    img[:] = color
    x0 = (index * 3) % (width - 8)
    img[:, x0:x0 + 8] = np.minimum(np.asarray(color) + STRIPE_DELTA, 255)
    return img


def _write_video(path: str, duration: float, fps: float,
                 size: Tuple[int, int], frame_colors: List[Sequence[int]],
                 tones: List[Tuple[float, float]], sample_rate: int,
                 audio_start: float) -> None:
    """H.264 + AAC mp4 with given per-frame colours and a tone schedule in
    video time; the audio stream starts ``audio_start`` s after the first
    frame."""
    # Tone schedule in audio-track time: video time minus audio_start.
    schedule = [(max(t - audio_start, 0.0), f) for t, f in tones]
    wave = tone_waveform(duration - audio_start, sample_rate, schedule)
    frames = (_frame(i, color, size) for i, color in enumerate(frame_colors))
    write_frames_with_audio(path, frames, wave, fps, sample_rate,
                            audio_start=audio_start)


def write_epic_fixture(root: str,
                       fps: float = 30.0,
                       size: Tuple[int, int] = (64, 64),
                       sample_rate: int = 16000,
                       late_audio: float = 0.4,
                       video_ext: str = 'MP4') -> Dict:
    """Write the two videos and the train / validation CSVs under ``root``.

    Args:
        root (str): Output folder (created).
        fps (float): Frame rate. Default: 30.
        size (tuple[int, int]): ``(width, height)``, even, at least 64
            (decord fails on 48x48). Default: (64, 64).
        sample_rate (int): Audio rate (mono AAC). Default: 16000.
        late_audio (float): Seconds by which ``P01_02``'s audio starts after
            its picture. Default: 0.4.
        video_ext (str): File extension. Default: ``'MP4'``.

    Returns:
        dict: ``train_csv``, ``val_csv`` (paths), ``video_root`` (the
        ``data_prefix.video``), ``fps``, ``late_audio`` (per video id) and
        ``segments``: one dict per segment (``narration_id``, ``video_id``,
        ``start``, ``stop``, ``verb_class``, ``noun_class``, ``split``,
        ``color``, ``tone``, ``index``), in CSV order.
    """
    video_root = osp.join(root, 'videos')
    segments, counters = [], {}
    for k, (vid, start, stop, verb, vcls, noun, ncls, split) in enumerate(
            _SEGMENTS):
        num = counters[vid] = counters.get(vid, -1) + 1
        segments.append(
            dict(narration_id=f'{vid}_{num}', video_id=vid, start=start,
                 stop=stop, verb=verb, verb_class=vcls, noun=noun,
                 noun_class=ncls, split=split, color=SEGMENT_COLORS[k],
                 tone=SEGMENT_TONES[k], index=k))
    offsets = {'P01_01': 0.0, 'P01_02': float(late_audio)}
    for vid, duration in _DURATIONS.items():
        own = [s for s in segments if s['video_id'] == vid]
        colors = []
        for i in range(int(round(duration * fps))):
            hit = [s for s in own if s['start'] <= i / fps + 1e-9 and
                   i / fps - 1e-9 <= s['stop']]
            colors.append(hit[0]['color'] if hit else GAP_COLOR)
        tones = [(0.0, GAP_TONE)]
        for s in own:  # each tone from its start to just past its stop
            tones += [(s['start'], s['tone']),
                      (s['stop'] + 1.0 / fps, GAP_TONE)]
        path = osp.join(video_root, vid.split('_')[0], 'videos',
                        f'{vid}.{video_ext}')
        os.makedirs(osp.dirname(path), exist_ok=True)
        _write_video(path, duration, fps, size, colors, tones, sample_rate,
                     offsets[vid])
    paths = {}
    for split in ('train', 'validation'):
        path = paths[split] = osp.join(root, f'EPIC_100_{split}.csv')
        with open(path, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(EPIC_COLUMNS)
            for s in segments:
                if s['split'] != split:
                    continue
                writer.writerow([
                    s['narration_id'], s['video_id'].split('_')[0],
                    s['video_id'],
                    format_timestamp(s['start']) + '0',
                    format_timestamp(s['start']),
                    format_timestamp(s['stop']),
                    int(math.floor(s['start'] * fps + 1e-6)),
                    int(math.floor(s['stop'] * fps + 1e-6)),
                    f"{s['verb']} {s['noun']}", s['verb'], s['verb_class'],
                    s['noun'], s['noun_class'], f"['{s['noun']}']",
                    f"[{s['noun_class']}]"
                ])
    return dict(train_csv=paths['train'], val_csv=paths['validation'],
                video_root=video_root, fps=float(fps), late_audio=offsets,
                segments=segments)
