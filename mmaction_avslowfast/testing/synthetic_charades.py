"""A tiny synthetic Charades (v1 layout) whose picture and sound change with
the annotated actions, for tests and short ``mim`` runs.

Layout written under ``root``::

    Charades_v1_train.csv  Charades_v1_test.csv  Charades_v1_classes.txt
    videos/<id>.mp4        (H.264 + AAC, 80x64, 16 fps by default)

The CSVs have the official header (``id,subject,scene,quality,relevance,
verified,script,objects,descriptions,actions,length``; free-text columns
with commas and quotes) and one row without actions per split.

Content: only the classes of ``FIXTURE_CLASSES`` occur; class
``FIXTURE_CLASSES[k]`` is shown by colour channel ``k`` (R, G, B): frame
``i`` (time ``i / fps``) is a uniform colour whose channel ``k`` is
``ON`` (220) while an action of that class is active (``start <= t <
end``) and ``OFF`` (30) otherwise. The audio is a tone whose frequency
encodes the same set (:func:`set_frequency`; silence when no action is
active), laid out in video time even when the audio track starts later
(``audio_start``). Action boundaries lie on multiples of 0.5 s, i.e. on
frame times.

Example::

    from mmaction_avslowfast.testing.synthetic_charades import \\
        write_charades_fixture
    info = write_charades_fixture('data/charades_fixture')
    info['train_csv'], info['videos']['TRN01']['actions']
"""
import csv
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from . import synthetic_media

FIXTURE_CLASSES = (3, 92, 156)  # shown by the R, G, B channels
ON, OFF = 220, 30
HEADER = ('id', 'subject', 'scene', 'quality', 'relevance', 'verified',
          'script', 'objects', 'descriptions', 'actions', 'length')
Action = Tuple[int, float, float]  # class id, start (s), end (s)

# id -> (actions, duration s, audio_start s)
TRAIN_VIDEOS = {
    'TRN01': ([(3, 0.0, 3.0), (92, 2.0, 6.0)], 6.0, 0.0),
    # The audio track starts 0.5 s after the picture.
    'TRN02': ([(156, 1.0, 4.0), (3, 3.0, 5.5)], 6.0, 0.5),
    'TRN03': ([], 5.0, 0.0),  # no actions
    'TRN04': ([(92, 0.0, 2.5), (156, 0.0, 6.0), (3, 4.5, 6.0)], 6.0, 0.0),
}
TEST_VIDEOS = {
    'TST01': ([(3, 0.0, 2.0), (92, 3.0, 6.0)], 6.0, 0.0),
    'TST02': ([(156, 0.5, 5.0)], 6.0, 0.5),
    'TST03': ([], 5.0, 0.0),  # no actions
    'TST04': ([(3, 1.0, 6.0), (156, 4.0, 6.0)], 6.0, 0.0),
}


def active_mask(actions: Sequence[Action], t: float) -> int:
    """Bit ``k`` set when an action of ``FIXTURE_CLASSES[k]`` is active at
    time ``t`` (``start <= t < end``)."""
    mask = 0
    for label, start, end in actions:
        if start <= t < end:
            mask |= 1 << FIXTURE_CLASSES.index(label)
    return mask


def mask_labels(mask: int) -> Tuple[int, ...]:
    """Class ids of the bits of ``mask``."""
    return tuple(c for k, c in enumerate(FIXTURE_CLASSES) if mask >> k & 1)


def frame_labels(frame: np.ndarray) -> Tuple[int, ...]:
    """Class ids shown by a decoded RGB frame ``[H, W, 3]`` (channel mean
    above the ``ON``/``OFF`` midpoint)."""
    means = np.asarray(frame, np.float64).reshape(-1, 3).mean(axis=0)
    return mask_labels(
        sum(1 << k for k in range(3) if means[k] > (ON + OFF) / 2))


def set_frequency(mask: int) -> Optional[float]:
    """Tone (Hz) of an active set: ``400 * mask``; None (silence) for 0."""
    return 400.0 * mask if mask else None


def _frames(actions: Sequence[Action], num_frames: int, fps: float,
            size: Tuple[int, int]) -> np.ndarray:
    """Uniform frames ``[T, H, W, 3]``, each coloured by the set of actions
    active at its time."""
    width, height = size
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for i in range(num_frames):
        mask = active_mask(actions, i / fps)
        frames[i] = [ON if mask >> k & 1 else OFF for k in range(3)]
    return frames


def _tone_schedule(actions, duration, fps, audio_start):
    """Tone per active set in audio-track time (video time minus
    ``audio_start``), switching wherever the set changes."""
    schedule, last = [], -1
    for i in range(int(round(duration * fps))):
        t = i / fps
        if t < audio_start:
            continue
        mask = active_mask(actions, t)
        if mask != last:
            schedule.append((max(t - audio_start, 0.0), set_frequency(mask)))
            last = mask
    return schedule


def write_charades_video(path: str, actions: Sequence[Action],
                         duration: float, audio_start: float = 0.0,
                         fps: int = 16, size=(80, 64),
                         sample_rate: int = 16000) -> str:
    """One H.264 + AAC video (real codecs): frames coloured by the active
    actions, the tone of the active set starting ``audio_start`` s after
    the first frame (:func:`synthetic_media.write_frames_with_audio`)."""
    tones = _tone_schedule(actions, duration, fps, audio_start)
    wave = synthetic_media.tone_waveform(duration - audio_start, sample_rate,
                                         tones, amplitude=0.5)
    frames = _frames(actions, int(round(duration * fps)), fps, size)
    return synthetic_media.write_frames_with_audio(
        path, frames, wave, fps, sample_rate, audio_start=audio_start,
        crf=28)


def _row(video_id: str, actions: Sequence[Action], length: float) -> Dict:
    return dict(
        id=video_id, subject='SUBJ', scene='Kitchen', quality='6',
        relevance='7', verified='Yes',
        script='A person, "quietly", holds a cup; then leaves.',
        objects='cup;door', descriptions='Synthetic, with "quotes".',
        actions=';'.join(f'c{c:03d} {s:.2f} {e:.2f}'
                         for c, s, e in actions),
        length=f'{length:.2f}')


def write_charades_fixture(root: str,
                           train: Dict = None,
                           test: Dict = None,
                           fps: int = 16,
                           size: Tuple[int, int] = (80, 64),
                           with_classes: bool = True) -> Dict:
    """Write the fixture (see the module docstring).

    Args:
        root (str): Output folder.
        train (dict, optional): ``id -> (actions, duration, audio_start)``;
            default :data:`TRAIN_VIDEOS`.
        test (dict, optional): Same for the test split; default
            :data:`TEST_VIDEOS`.
        fps (int): Frame rate. Default: 16.
        size (tuple): ``(width, height)``. Default: (80, 64).
        with_classes (bool): Write ``Charades_v1_classes.txt`` (157 lines).

    Returns:
        dict: ``root``, ``video_dir``, ``train_csv``, ``test_csv``,
        ``classes_file`` (or None), ``fps`` and ``videos``: ``id ->
        dict(actions, duration, audio_start, split, path)``.
    """
    train = TRAIN_VIDEOS if train is None else train
    test = TEST_VIDEOS if test is None else test
    video_dir = osp.join(root, 'videos')
    os.makedirs(video_dir, exist_ok=True)
    info = dict(root=root, video_dir=video_dir, fps=fps, videos={},
                classes_file=None)
    for split, videos in (('train', train), ('test', test)):
        csv_path = osp.join(root, f'Charades_v1_{split}.csv')
        with open(csv_path, 'w', newline='', encoding='utf-8') as f:
            writer = csv.DictWriter(f, fieldnames=HEADER)
            writer.writeheader()
            for video_id, (actions, duration, audio_start) in videos.items():
                path = osp.join(video_dir, f'{video_id}.mp4')
                write_charades_video(path, actions, duration, audio_start,
                                     fps, size)
                writer.writerow(_row(video_id, actions, duration))
                info['videos'][video_id] = dict(
                    actions=list(actions), duration=duration,
                    audio_start=audio_start, split=split, path=path)
        info[f'{split}_csv'] = csv_path
    if with_classes:
        info['classes_file'] = osp.join(root, 'Charades_v1_classes.txt')
        with open(info['classes_file'], 'w', encoding='utf-8') as f:
            f.write('c000 Holding some clothes\n')
            f.writelines(f'c{k:03d} Synthetic action {k}\n'
                         for k in range(1, 157))
    return info
