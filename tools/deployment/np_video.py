"""The frame side of the test pipeline in numpy, PyAV and OpenCV, for
``onnx_infer.py`` (no torch, decord, mmcv or mmaction).

It reproduces ``CheckedDecordInit -> SampleFrames(test_mode=True) ->
CheckedDecordDecode -> Resize -> CenterCrop | ThreeCrop ->
FormatShape('NCTHW')`` and the data preprocessor's normalisation:

- the frame count is decord's (the video packets that carry data), the
  frame rate the stream's average rate, frame ``i`` the ``i``-th decoded
  frame in presentation order, converted to RGB by FFmpeg;
- clips as MMAction2's ``SampleFrames`` test mode (evenly spread offsets,
  rounded; ``loop`` / ``repeat_last`` beyond the end);
- ``Resize`` with ``mmcv.imresize``'s OpenCV interpolation and
  ``mmcv.rescale_size``'s rounding; ``CenterCrop`` / ``ThreeCrop`` with
  MMAction2's offsets; views ordered ``crop * num_clips + clip``.
"""
from typing import NamedTuple, Sequence

import numpy as np

# mmcv.image.geometric.cv2_interp_codes, by name (OpenCV constants).
INTERPOLATIONS = ('nearest', 'bilinear', 'bicubic', 'area', 'lanczos')


class VideoInfo(NamedTuple):
    """``num_frames`` (decord's count) and ``fps`` of a video stream."""
    num_frames: int
    fps: float


def probe_video(path: str) -> VideoInfo:
    """Frame count and average frame rate of the first video stream.

    Raises:
        ValueError: no video stream, no frames or no frame rate (names the
            file).
    """
    import av
    try:
        container = av.open(path)
    except av.error.FFmpegError as err:
        raise ValueError(f'cannot open {path!r} as a video: '
                         f'{err.strerror or err}') from err
    with container:
        if not container.streams.video:
            raise ValueError(f'{path!r} has no video stream')
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        count = sum(1 for packet in container.demux(stream)
                    if packet.size > 0)
    if not count:
        raise ValueError(f'{path!r} has no video frames')
    if not rate:
        raise ValueError(f'{path!r}: the video stream has no frame rate')
    return VideoInfo(count, float(rate))


def sample_test_clips(num_frames: int, clip_len: int, frame_interval: int,
                      num_clips: int,
                      out_of_bound_opt: str = 'loop') -> np.ndarray:
    """Frame indices of MMAction2's ``SampleFrames(test_mode=True)``
    (``clip_len > 1``, no ``twice_sample`` / ``target_fps``), int32
    ``[num_clips * clip_len]``."""
    ori_clip_len = (clip_len - 1) * frame_interval + 1
    max_offset = max(num_frames - ori_clip_len, 0)
    if num_clips > 1:
        offsets = np.round(np.arange(num_clips) *
                           (max_offset / float(num_clips - 1)))
    else:
        offsets = np.array([max_offset // 2])
    inds = offsets[:, None] + np.arange(clip_len)[None] * frame_interval
    if out_of_bound_opt == 'loop':
        inds = np.mod(inds, num_frames)
    elif out_of_bound_opt == 'repeat_last':
        safe = inds < num_frames
        last = np.max(safe * inds, axis=1)
        inds = safe * inds + ((1 - safe).T * last).T
    else:
        raise ValueError(f'out_of_bound_opt must be loop or repeat_last, '
                         f'got {out_of_bound_opt!r}')
    return np.concatenate(inds).astype(np.int32)


def read_frames(path: str, inds: Sequence[int]) -> np.ndarray:
    """RGB frames at ``inds`` (repeats allowed), uint8 ``[len(inds), H, W,
    3]``. An index past the last decodable frame reads the last one."""
    import av
    wanted = set(int(i) for i in inds)
    last_needed = max(wanted)
    frames, last = {}, None
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                frames[i] = frame.to_ndarray(format='rgb24')
            last = (i, frame)
            if i >= last_needed:
                break
    if last is None:
        raise ValueError(f'no decodable video frame in {path!r}')
    for i in wanted - set(frames):
        if last[0] not in frames:
            frames[last[0]] = last[1].to_ndarray(format='rgb24')
        frames[i] = frames[last[0]]
    return np.stack([frames[int(i)] for i in inds])


def _scale_size(w: int, h: int, resize: dict):
    """``(new_w, new_h)`` of MMAction2's ``Resize`` (``mmcv.rescale_size``
    with ``keep_ratio``; -1 in ``scale`` is the unbounded long edge)."""
    scale = resize['scale']
    if not resize['keep_ratio']:
        return int(scale[0]), int(scale[1])
    if isinstance(scale, (int, float)):
        factor = float(scale)
    else:
        edges = [np.inf if s == -1 else s for s in scale]
        factor = min(max(edges) / max(h, w), min(edges) / min(h, w))
    return int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)


def resize_frames(frames: np.ndarray, resize: dict) -> np.ndarray:
    """``Resize`` of uint8 ``[N, H, W, 3]`` frames (OpenCV, as
    ``mmcv.imresize``)."""
    import cv2
    codes = dict(zip(INTERPOLATIONS, (cv2.INTER_NEAREST, cv2.INTER_LINEAR,
                                      cv2.INTER_CUBIC, cv2.INTER_AREA,
                                      cv2.INTER_LANCZOS4)))
    h, w = frames.shape[1:3]
    size = _scale_size(w, h, resize)
    flag = codes[resize['interpolation']]
    return np.stack(
        [cv2.resize(frame, size, interpolation=flag) for frame in frames])


def crop_boxes(h: int, w: int, crop: dict) -> list:
    """``(x, y, crop_w, crop_h)`` of each crop (``CenterCrop`` one,
    ``ThreeCrop`` three: left/top, right/bottom, middle)."""
    if crop is None:
        return [(0, 0, w, h)]
    cw, ch = crop['size']
    if crop['type'] == 'CenterCrop':
        return [((w - cw) // 2, (h - ch) // 2, cw, ch)]
    if ch == h:
        step = (w - cw) // 2
        return [(0, 0, cw, ch), (2 * step, 0, cw, ch), (step, 0, cw, ch)]
    if cw == w:
        step = (h - ch) // 2
        return [(0, 0, cw, ch), (0, 2 * step, cw, ch), (0, step, cw, ch)]
    raise ValueError(f'ThreeCrop of {cw}x{ch} needs frames {cw} wide or '
                     f'{ch} high after Resize, got {w}x{h}')


def video_views(frames: np.ndarray, num_clips: int, resize: dict,
                crop: dict, mean: Sequence[float], std: Sequence[float],
                to_rgb: bool = False) -> np.ndarray:
    """Normalised views, float32 ``[crops * num_clips, 3, T, H, W]``.

    Args:
        frames (np.ndarray): uint8 ``[num_clips * T, H, W, 3]`` RGB.
        resize (dict | None): ``scale``, ``keep_ratio``, ``interpolation``.
        crop (dict | None): ``type`` (``CenterCrop`` / ``ThreeCrop``) and
            ``size`` ``(w, h)``.
        mean, std: Per channel, 0..255 scale (the data preprocessor's).
        to_rgb (bool): The preprocessor swaps the channel order.
    """
    if resize is not None:
        frames = resize_frames(frames, resize)
    boxes = crop_boxes(frames.shape[1], frames.shape[2], crop)
    clips = frames.reshape((num_clips, -1) + frames.shape[1:])
    t, (ch, cw) = clips.shape[1], boxes[0][2:][::-1]
    out = np.empty((len(boxes) * num_clips, 3, t, ch, cw), np.float32)
    mean = np.asarray(mean, np.float32)
    std = np.asarray(std, np.float32)
    for k, (x, y, cw, ch) in enumerate(boxes):  # crop-major, as FormatShape
        crop = clips[:, :, y:y + ch, x:x + cw]  # [clips, T, h, w, 3]
        for c in range(3):  # (x - mean) / std in float32, as the preprocessor
            dst = out[k * num_clips:(k + 1) * num_clips, c]
            np.subtract(crop[..., 2 - c if to_rgb else c], mean[c], out=dst,
                        dtype=np.float32)
            np.divide(dst, std[c], out=dst)
    return out
