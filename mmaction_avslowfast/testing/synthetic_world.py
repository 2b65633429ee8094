"""A synthesized audiovisual world in which sound and picture are causally
linked in time, for the self-supervised (AVS) demo
(``tools/make_selfsup_world.py``, ``tools/selfsup_demo.sh``).

Picture: ``num_objects`` squares of distinct colours (:data:`COLOURS`), always
visible, each in its own horizontal lane (the lane order is random per
video), moving at a constant speed. The picture wraps around horizontally (an
object leaving on the right re-enters on the left), so there are no walls.
At random *event* times an object **flashes**: it is drawn white
(:data:`FLASH_COLOUR`) for ``flash_frames`` frames (default 4 = 1/4 s) and
then shows its colour again (``event='reverse'``: it reverses its direction
instead).

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
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .synthetic_media import write_frames_with_audio

#: Object colours (RGB) and their names (the probe's class names).
COLOURS = ((230, 40, 40), (40, 200, 40), (50, 90, 255), (240, 220, 30))
COLOUR_NAMES = ('red', 'green', 'blue', 'yellow')
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
                  margin: float = 0.125,
                  clock: Optional[float] = None) -> List[np.ndarray]:
    """Random event frames of every object.

    Without ``clock``: a Poisson process of ``rate`` per second per object,
    thinned so that events of the same object are at least ``min_gap`` s
    apart. With ``clock`` (s): one event every ``clock`` seconds, at the
    same times in every video (frames ``margin * fps + n * clock * fps``),
    each by an object drawn uniformly at random (``rate`` and ``min_gap``
    unused): when and how many events happen then says nothing, only which
    colours flash (and beep) does.

    Returns:
        list[np.ndarray]: per object, sorted int frame indices in
        ``[margin * fps, (duration - margin) * fps)``.
    """
    num_frames = int(round(duration * fps))
    lo, hi = int(round(margin * fps)), num_frames - int(round(margin * fps))
    if clock is not None:
        ticks = np.arange(lo, hi, max(int(round(clock * fps)), 1))
        owner = rng.randint(num_objects, size=len(ticks))
        return [ticks[owner == k].astype(np.int64)
                for k in range(num_objects)]
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


def object_positions(event_frames: Sequence[np.ndarray], num_frames: int,
                     starts: np.ndarray, velocities: np.ndarray
                     ) -> np.ndarray:
    """x positions ``[num_frames, K]`` (float, not yet wrapped): object k
    starts at ``starts[k]`` and moves ``velocities[k]`` px per frame; at a
    reversal frame ``f`` it is at its turning point (the step into ``f`` has
    the old sign, the step out of ``f`` the new one)."""
    num_objects = len(event_frames)
    pos = np.zeros((num_frames, num_objects))
    for k in range(num_objects):
        step = np.full(num_frames, float(velocities[k]))
        step[0] = 0.0
        sign = np.ones(num_frames)
        for f in event_frames[k]:
            sign[f + 1:] *= -1  # steps after frame f go the other way
        pos[:, k] = starts[k] + np.cumsum(step * sign)
    return pos


def object_sprites(obj_size: int,
                   shape: str = 'arrow') -> Dict[bool, np.ndarray]:
    """Boolean masks ``[obj_size, obj_size]`` of an object heading left
    (key False) and right (key True)."""
    if shape == 'square':
        square = np.ones((obj_size, obj_size), bool)
        return {False: square, True: square}
    if shape != 'arrow':
        raise ValueError(f"shape must be 'arrow' or 'square', got {shape!r}")
    rows = np.arange(obj_size)[:, None] - (obj_size - 1) / 2
    cols = np.arange(obj_size)[None, :]
    right = np.abs(rows) <= (obj_size - cols) / 2  # apex on the right
    return {False: right[:, ::-1].copy(), True: right}


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
                 shape: str = 'square',
                 event: str = 'flash',
                 flash_frames: int = 4) -> Dict:
    """Frames and sound of one video of the world.

    Args:
        event_frames (list[np.ndarray]): Per object, its event frames
            (see :func:`sample_events` / :func:`probe_event`).
        duration (float): Seconds.
        rng (np.random.RandomState): Draws lanes, starts, speeds and
            initial directions.
        fps (float), size (int): Frame rate and frame side (px).
        obj_size (int): Side of an object (px).
        speed (tuple): Range of speeds (px per frame).
        sample_rate (int), tone_length (float), amplitude (float): The tone
            burst of an event (Hann-windowed sine) starts at the
            event frame's time.
        shape (str): ``'square'`` (default) or ``'arrow'`` (a triangle
            pointing where the object goes).
        event (str): What an object does at its event frames:
            ``'flash'`` (default): it is drawn white for ``flash_frames``
            frames from the event frame on, and keeps moving at constant
            velocity; ``'reverse'``: it reverses its direction (the event
            frame is its turning point).
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
    if event not in ('flash', 'reverse'):
        raise ValueError(f"event must be 'flash' or 'reverse', got {event!r}")
    turns = event_frames if event == 'reverse' else \
        [np.zeros(0, np.int64)] * num_objects
    raw = object_positions(turns, num_frames, starts, velocities)
    pos = np.mod(raw, size)
    # heading of frame i: the sign of the step out of it (the last frame:
    # into it), so an arrow flips at its turning point.
    heading = np.sign(np.diff(raw, axis=0, append=2 * raw[-1:] - raw[-2:-1]))
    sprites = object_sprites(obj_size, shape)
    lane_h = size // num_objects
    frames = np.full((num_frames, size, size, 3), BACKGROUND, np.uint8)
    colours = np.tile(np.asarray(COLOURS[:num_objects], np.uint8),
                      (num_frames, 1, 1))  # [T, K, 3]
    if event == 'flash':
        for k, frames_k in enumerate(event_frames):
            for f in frames_k:
                colours[f:f + flash_frames, k] = FLASH_COLOUR
    for i in range(num_frames):
        for k in range(num_objects):
            x0 = int(round(pos[i, k]))
            xs = (x0 + np.arange(obj_size)) % size
            y0 = lanes[k] * lane_h + (lane_h - obj_size) // 2
            sprite = sprites[heading[i, k] > 0]  # [obj_size, obj_size]
            image = frames[i]  # [size, size, 3] view
            patch = image[y0:y0 + obj_size, xs]  # [obj_size, obj_size, 3]
            patch[sprite] = colours[i, k]
            image[y0:y0 + obj_size, xs] = patch

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
        headings=heading,
        lanes=lanes,
        fps=fps,
        sample_rate=sample_rate)


def write_world_video(path: str, world: Dict, crf: int = 18) -> str:
    """Write ``world`` (:func:`render_world`) as an mp4 (H.264 + mono AAC,
    audio and video both starting at 0). Parent folders are created."""
    return write_frames_with_audio(path, world['frames'], world['wave'],
                                   world['fps'], int(world['sample_rate']),
                                   crf=crf)


def find_reversals(positions: np.ndarray, size: int = 64) -> List[List[int]]:
    """Reversal frames recovered from x positions ``[T, K]`` (e.g. measured
    on decoded frames): frames where the wrapped step changes sign."""
    step = np.diff(positions, axis=0)
    step = (step + size / 2) % size - size / 2  # undo wrapping
    out = []
    for k in range(positions.shape[1]):
        s = np.sign(step[:, k])
        out.append([i + 1 for i in range(len(s) - 1)
                    if s[i] != 0 and s[i + 1] != 0 and s[i] != s[i + 1]])
    return out
