"""A synthesized audiovisual world in which sound and picture are causally
linked in time, for the self-supervised (AVS) demo
(``tools/make_selfsup_world.py``, ``tools/selfsup_demo.sh``).

Picture: ``num_objects`` squares of distinct colours (:data:`COLOURS`), always
visible, each in its own horizontal lane (the lane order is random per
video), moving at a constant speed. The picture wraps around horizontally (an
object leaving on the right re-enters on the left), so there are no walls.
At random *event* times an object **flashes**: it is drawn white
(:data:`FLASH_COLOUR`) for ``flash_frames`` frames (default 4 = 1/4 s) and
then shows its colour again.

Sound: every event emits a short tone burst whose pitch belongs to the
object's colour (:data:`PITCHES`, well apart in mel, below 8 kHz); between
bursts there is silence.

Probe clips (:func:`probe_event`): one flash (and its beep) at a random time
of a 1 s clip; the label is *when*: the quarter of the clip that holds it.
AVS pre-training has to learn where flashes fall in a clip (its negatives
differ from the aligned audio in when the beeps are); a randomly initialised
network pools its features over time and cannot tell (see the README's
self-supervised demo for the measurements).

Everything is deterministic from a seed. Example::

    from mmaction_avslowfast.testing.synthetic_world import (
        sample_events, render_world, write_world_video)
    rng = np.random.RandomState(0)
    events = sample_events(rng, duration=4.0, fps=16, rate=0.8)
    world = render_world(events, duration=4.0, rng=rng)
    write_world_video('world.mp4', world)
    # world['event_frames'][k]: frames where object k flashes (and beeps)
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .synthetic_media import write_frames_with_audio

#: Object colours (RGB): red, green, blue, yellow.
COLOURS = ((230, 40, 40), (40, 200, 40), (50, 90, 255), (240, 220, 30))
#: Tone of each colour (Hz): mel bins 6, 18, 34, 53 of an 80-bin 8 kHz
#: log-mel (see ``synthetic_media.mel_bin``).
PITCHES = (300.0, 900.0, 2200.0, 5000.0)
BACKGROUND = 40  # grey level of the background
FLASH_COLOUR = (255, 255, 255)  # an object's colour while it flashes


def sample_events(rng: np.random.RandomState,
                  duration: float,
                  fps: float = 16.0,
                  rate: float = 0.8,
                  num_objects: int = 4,
                  min_gap: float = 0.375,
                  margin: float = 0.125) -> List[np.ndarray]:
    """Random event frames of every object: a Poisson process of ``rate``
    per second per object, thinned so that events of the same object are
    at least ``min_gap`` s apart.

    Returns:
        list[np.ndarray]: per object, sorted int frame indices in
        ``[margin * fps, (duration - margin) * fps)``.
    """
    num_frames = int(round(duration * fps))
    lo, hi = int(round(margin * fps)), num_frames - int(round(margin * fps))
    gap = int(round(min_gap * fps))
    out = []
    for _ in range(num_objects):
        times, t = [], 0.0
        while True:
            t += rng.exponential(1.0 / rate)
            frame = int(round(t * fps))
            if frame >= hi:
                break
            if frame >= lo and (not times or frame - times[-1] >= gap):
                times.append(frame)
        out.append(np.asarray(times, dtype=np.int64))
    return out


def probe_event(rng: np.random.RandomState,
                label: int,
                num_bins: int = 4,
                duration: float = 1.0,
                fps: float = 16.0,
                num_objects: int = 4,
                flash_frames: int = 4) -> List[np.ndarray]:
    """Events of a probe clip: one object (drawn at random) has one event,
    in the ``label``-th of ``num_bins`` equal parts of the clip.

    The event frame is uniform over the part's frames, kept early enough
    that the whole flash (``flash_frames``) fits in the clip.

    Returns:
        list[np.ndarray]: per object, its event frames (one object has one,
        the others none).
    """
    if not 0 <= label < num_bins:
        raise ValueError(f'label {label} not in [0, {num_bins})')
    num_frames = int(round(duration * fps))
    lo = label * num_frames // num_bins
    hi = min((label + 1) * num_frames // num_bins,
             num_frames - flash_frames + 1)
    if hi <= lo:
        raise ValueError(f'part {label} of {num_bins} of a {num_frames}-'
                         f'frame clip cannot hold a {flash_frames}-frame '
                         'flash')
    frame = rng.randint(lo, hi)
    owner = rng.randint(num_objects)
    return [np.asarray([frame] if k == owner else [], dtype=np.int64)
            for k in range(num_objects)]


def probe_label_names(num_bins: int = 4, duration: float = 1.0) -> List[str]:
    """Class names of :func:`probe_event`'s labels: the time span of each
    part of the clip, e.g. ``'0.25-0.50s'``."""
    edges = np.linspace(0, duration, num_bins + 1)
    return [f'{a:.2f}-{b:.2f}s' for a, b in zip(edges[:-1], edges[1:])]


def object_positions(num_frames: int, starts: np.ndarray,
                     velocities: np.ndarray) -> np.ndarray:
    """x positions ``[num_frames, K]`` (float, not yet wrapped): object k
    starts at ``starts[k]`` and moves ``velocities[k]`` px per frame."""
    pos = np.zeros((num_frames, len(starts)))
    for k in range(len(starts)):
        step = np.full(num_frames, float(velocities[k]))
        step[0] = 0.0
        pos[:, k] = starts[k] + np.cumsum(step)
    return pos


def render_world(event_frames: Sequence[np.ndarray],
                 duration: float,
                 rng: np.random.RandomState,
                 fps: float = 16.0,
                 size: int = 64,
                 obj_size: int = 10,
                 speed: Tuple[float, float] = (1.5, 2.5),
                 sample_rate: int = 16000,
                 tone_length: float = 0.1,
                 amplitude: float = 0.3,
                 flash_frames: int = 4) -> Dict:
    """Frames and sound of one video of the world.

    Args:
        event_frames (list[np.ndarray]): Per object, its event frames
            (see :func:`sample_events` / :func:`probe_event`): it is drawn
            white for ``flash_frames`` frames from each on, and keeps moving
            at constant velocity.
        duration (float): Seconds.
        rng (np.random.RandomState): Draws lanes, starts, speeds and
            initial directions.
        fps (float), size (int): Frame rate and frame side (px).
        obj_size (int): Side of an object (a square, px).
        speed (tuple): Range of speeds (px per frame).
        sample_rate (int), tone_length (float), amplitude (float): The tone
            burst of an event (Hann-windowed sine) starts at the
            event frame's time.
        flash_frames (int): Frames of a flash. Default: 4.

    Returns:
        dict: ``frames`` uint8 ``[T, size, size, 3]``, ``wave`` float32
        ``[round(duration * sample_rate)]``, ``event_frames`` (list of
        int arrays), ``event_times`` (list of float arrays, s),
        ``positions`` ``[T, K]`` (wrapped left edges, px), ``lanes`` ``[K]``
        (lane of each object), ``fps``, ``sample_rate``.
    """
    num_objects = len(event_frames)
    if num_objects > len(COLOURS):
        raise ValueError(f'at most {len(COLOURS)} objects, got {num_objects}')
    num_frames = int(round(duration * fps))
    lanes = rng.permutation(num_objects)
    starts = rng.uniform(0, size, num_objects)
    velocities = rng.uniform(*speed, num_objects) * \
        rng.choice([-1.0, 1.0], num_objects)
    pos = np.mod(object_positions(num_frames, starts, velocities), size)
    lane_h = size // num_objects
    frames = np.full((num_frames, size, size, 3), BACKGROUND, np.uint8)
    colours = np.tile(np.asarray(COLOURS[:num_objects], np.uint8),
                      (num_frames, 1, 1))  # [T, K, 3]
    for k, frames_k in enumerate(event_frames):
        for f in frames_k:
            colours[f:f + flash_frames, k] = FLASH_COLOUR
    for i in range(num_frames):
        for k in range(num_objects):
            xs = (int(round(pos[i, k])) + np.arange(obj_size)) % size
            y0 = lanes[k] * lane_h + (lane_h - obj_size) // 2
            frames[i, y0:y0 + obj_size, xs] = colours[i, k]

    num_samples = int(round(duration * sample_rate))
    wave = np.zeros(num_samples, np.float64)
    burst = int(round(tone_length * sample_rate))
    envelope = np.hanning(burst)
    t = np.arange(burst) / sample_rate
    for k, frames_k in enumerate(event_frames):
        tone = amplitude * envelope * np.sin(2 * np.pi * PITCHES[k] * t)
        for f in frames_k:
            s0 = int(round(f / fps * sample_rate))
            n = min(burst, num_samples - s0)
            if n > 0:
                wave[s0:s0 + n] += tone[:n]
    return dict(
        frames=frames,
        wave=np.clip(wave, -1, 1).astype(np.float32),
        event_frames=[np.asarray(r, np.int64) for r in event_frames],
        event_times=[np.asarray(r, np.float64) / fps
                        for r in event_frames],
        positions=pos,
        lanes=lanes,
        fps=fps,
        sample_rate=sample_rate)


def write_world_video(path: str, world: Dict, crf: int = 18) -> str:
    """Write ``world`` (:func:`render_world`) as an mp4 (H.264 + mono AAC,
    audio and video both starting at 0). Parent folders are created."""
    return write_frames_with_audio(path, world['frames'], world['wave'],
                                   world['fps'], int(world['sample_rate']),
                                   crf=crf)

