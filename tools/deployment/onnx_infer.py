"""Predict one video with an exported AVSlowFast (``export_onnx.py``) using
only onnxruntime, numpy, PyAV and OpenCV: no torch, torchaudio, mmengine,
mmcv or mmaction.

Reads ``MODEL.json`` beside ``MODEL.onnx`` and reproduces the config's test
pipeline from it (clips, frames, resize / crop, normalisation; audio
decode, resampling, log-mel, clip alignment: ``np_video.py``,
``np_audio.py``), runs every view through the model and averages the
views' probabilities as the config's ``average_clips='prob'``. A video
without (decodable) audio is predicted with the log-mel of digital silence,
as ``tools/demo.py`` does. Prints the top-k, one ``label probability`` line
each (the class name when the JSON has them, else the class index).

Usage::

    python tools/deployment/onnx_infer.py VIDEO MODEL.onnx [--top-k 5]
        [--threads N]

To deploy, copy this folder's ``onnx_infer.py``, ``np_audio.py``,
``np_video.py`` and ``runner_spec.py`` with the model and its JSON.
"""
import argparse
import os.path as osp
import sys
from typing import NamedTuple, Optional

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import np_audio  # noqa: E402
import np_video  # noqa: E402
from runner_spec import SpecError, load_spec, spec_path  # noqa: E402


class Prepared(NamedTuple):
    """The model inputs of one video.

    Attributes:
        imgs (np.ndarray): float32 ``[V, 3, T, H, W]``, normalised.
        audios (np.ndarray): float32 ``[V, 1, T_a, F]``, normalised.
        frame_inds (np.ndarray): int32 ``[num_clips * T]`` sampled frames.
        audio_valid (bool): False when the audio input is silence.
    """
    imgs: np.ndarray
    audios: np.ndarray
    frame_inds: np.ndarray
    audio_valid: bool


def prepare_inputs(video: str, spec: dict) -> Prepared:
    """Run the test pipeline described by ``spec`` on ``video``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: no video stream / frames / frame rate (names the file).
    """
    if not osp.isfile(video):
        raise FileNotFoundError(f'no such video: {video!r}')
    vs, aus = spec['video'], spec['audio']
    info = np_video.probe_video(video)
    inds = np_video.sample_test_clips(info.num_frames, vs['clip_len'],
                                      vs['frame_interval'], vs['num_clips'],
                                      vs['out_of_bound_opt'])
    frames = np_video.read_frames(video, inds)
    imgs = np_video.video_views(frames, vs['num_clips'], vs['resize'],
                                vs['crop'], vs['mean'], vs['std'],
                                vs['to_rgb'])
    rate = aus['sample_rate']
    track = np_audio.decode_track(video)
    if track is None:
        logmel, offset = np.zeros((0, aus['n_mels']), np.float32), 0.0
    else:
        wave = np_audio.resample(track.wave, track.rate, rate)
        logmel = np_audio.log_mel(wave, rate, aus['n_fft'],
                                  aus['hop_length'], aus['n_mels'])
        offset = track.offset
    positions = np_audio.clip_positions(inds, vs['num_clips'], info.fps,
                                        rate / aus['hop_length'], offset,
                                        aus['num_frames'])
    audios = np_audio.logmel_clips(logmel, positions, aus['mean'],
                                   aus['std'])
    if aus.get('input_mean') is not None:
        audios = ((audios - np.float32(aus['input_mean'][0])) /
                  np.float32(aus['input_std'][0])).astype(np.float32)
    crops = imgs.shape[0] // vs['num_clips']
    audios = np.ascontiguousarray(np.tile(audios, (crops, 1, 1, 1)))
    return Prepared(imgs, audios, inds, track is not None)


def load_session(model: str, threads: Optional[int] = None):
    """An onnxruntime CPU session of ``model``."""
    import onnxruntime as ort
    if not osp.isfile(model):
        raise FileNotFoundError(f'no such model: {model!r}')
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(model, options,
                                providers=['CPUExecutionProvider'])


def view_scores(session, prepared: Prepared) -> np.ndarray:
    """Per-view softmax probabilities, float32 ``[V, num_classes]``."""
    return session.run(['scores'], dict(imgs=prepared.imgs,
                                        audios=prepared.audios))[0]


def predict(video: str, model: str, spec: Optional[dict] = None,
            session=None) -> np.ndarray:
    """The averaged probabilities of ``video``, float32 ``[num_classes]``
    (the views' softmax probabilities averaged: ``average_clips='prob'``).
    """
    spec = spec or load_spec(spec_path(model))
    session = session or load_session(model)
    scores = view_scores(session, prepare_inputs(video, spec))
    return scores.mean(axis=0)


def format_topk(probs: np.ndarray, classes, top_k: int) -> str:
    """``label probability`` lines, best first (ties: lower index)."""
    order = np.argsort(-probs, kind='stable')[:top_k]
    return '\n'.join(
        f'{classes[i] if classes else i} {probs[i]:.4f}' for i in order)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('video', help='video file (with or without audio)')
    parser.add_argument('model', help='MODEL.onnx (MODEL.json beside it)')
    parser.add_argument('--top-k', type=int, default=5,
                        help='classes printed (default 5)')
    parser.add_argument('--threads', type=int, default=None,
                        help='onnxruntime intra-op threads (default: all)')
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f'--top-k must be >= 1, got {args.top_k}')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        spec = load_spec(spec_path(args.model))
        session = load_session(args.model, args.threads)
        prepared = prepare_inputs(args.video, spec)
    except (FileNotFoundError, SpecError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    if not prepared.audio_valid:
        print(f'note: {args.video} has no decodable audio; the audio input '
              'is digital silence', file=sys.stderr)
    probs = view_scores(session, prepared).mean(axis=0)
    print(format_topk(probs, spec.get('classes'),
                      min(args.top_k, probs.size)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
