"""Synthesize a small video dataset with one defect per file.

Shows (and tests) what ``tools/data/check_dataset.py`` reports. Output::

    OUT/videos/...        the files below (mp4: H.264 + AAC; 16 fps)
    OUT/list.txt          "<relative path> <label>", one line per file
    OUT/defect_config.py  train/val/test dataloaders over list.txt with
                          SampleFrames(clip_len=8, frame_interval=2)

==========================  ============================================
file                        defect
==========================  ============================================
good_0.mp4 (16 kHz mono)    none
good_1.mp4 (44.1 kHz st.)   none
sub/good_2.mp4 (48 kHz)     none
good_3.avi (22.05 kHz)      none (AVI: MPEG-4 part 2 + MP3)
no_audio.mp4                no audio stream
silent_audio.mp4            audio track of digital silence
late_audio.mp4              audio starts 0.5 s after the first frame
short_audio.mp4             0.4 s of audio in a 1.5 s video
too_short.mp4               0.5 s = 8 frames, one clip needs 8 x 2
truncated.mp4               first 50 % of a file's bytes (no index)
empty.mp4                   zero bytes
not_a_video.mp4             a text file
missing.mp4                 listed, does not exist
corrupt_frames.mp4          video packets in the middle of the data
                            overwritten with garbage (decoders fail)
garbled_keyframe.mp4        end of the first keyframe overwritten: the
                            H.264 decoder conceals it (decord returns
                            frames), PyAV marks the frame corrupt
==========================  ============================================

Deterministic. Usage::

    python tools/make_defect_dataset.py work_dirs/defects
    python tools/data/check_dataset.py work_dirs/defects/defect_config.py
"""
import argparse
import os
import os.path as osp
import shutil
import sys
from typing import List, Tuple

import numpy as np

#: Text of ``not_a_video.mp4``; the checker must never print it.
TEXT_CONTENT = 'TEXT-FILE-CONTENT-7f3a: this is a list of notes, not a video\n'
CLIP_LEN, FRAME_INTERVAL = 8, 2
FPS, DURATION, SIZE = 16, 1.5, (64, 48)

CONFIG_TEMPLATE = """# Written by tools/make_defect_dataset.py.
custom_imports = dict(
    imports=['mmaction_avslowfast'], allow_failed_imports=False)
{splits}
"""
SPLIT_TEMPLATE = """{split}_dataloader = dict(
    dataset=dict(
        type='VideoDataset',
        ann_file={ann_file!r},
        data_prefix=dict(video={video!r}),
        pipeline=[
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len={clip_len},
                 frame_interval={frame_interval}, num_clips=1),
            dict(type='DecordDecode'),
        ]))
"""


def video_packets(path: str) -> List[Tuple[int, int, bool]]:
    """``(byte position, size, is_keyframe)`` of every video packet."""
    import av
    with av.open(path) as container:
        stream = container.streams.video[0]
        return [(p.pos, p.size, p.is_keyframe)
                for p in container.demux(stream) if p.size]


def overwrite(src: str, dst: str, spans: List[Tuple[int, int]],
              seed: int = 0) -> str:
    """Copy ``src`` to ``dst`` with the byte ``spans`` (start, stop)
    replaced by random bytes."""
    data = bytearray(open(src, 'rb').read())
    rng = np.random.RandomState(seed)
    for start, stop in spans:
        data[start:stop] = rng.randint(0, 256, stop - start,
                                       dtype=np.uint8).tobytes()
    with open(dst, 'wb') as f:
        f.write(bytes(data))
    return dst


def corrupt_middle_packets(src: str, dst: str) -> str:
    """Overwrite the video packets of the middle third of the frames
    (length prefixes included: the H.264 decoder rejects them). Audio
    packets and the mp4 index (moov) stay intact."""
    packets = video_packets(src)
    third = len(packets) // 3
    spans = [(pos, pos + size) for pos, size, _ in packets[third:2 * third]]
    return overwrite(src, dst, spans, seed=1)


def garble_keyframe(src: str, dst: str) -> str:
    """Overwrite the last 40 % of the first keyframe's bytes (inside the
    slice data: the decoder conceals the damage, no error is raised)."""
    pos, size, _ = next(p for p in video_packets(src) if p[2])
    return overwrite(src, dst, [(pos + size * 6 // 10, pos + size)], seed=2)


def make_defect_dataset(out: str) -> List[Tuple[str, int, str]]:
    """Write the files, ``list.txt`` and ``defect_config.py`` to ``out``.

    Returns:
        list[tuple]: ``(relative path, label, defect)`` in list order.
    """
    from mmaction_avslowfast.testing.synthetic_media import (truncate_file,
                                                           write_av_video)
    root = osp.join(out, 'videos')
    if osp.isdir(root):
        shutil.rmtree(root)
    os.makedirs(osp.join(root, 'sub'))

    def video(rel, **kwargs):
        args = dict(duration=DURATION, fps=FPS, size=SIZE,
                    tone_schedule=[(0.0, 440.0)], color_seed=len(entries))
        args.update(kwargs)
        write_av_video(osp.join(root, rel), **args)
        return osp.join(root, rel)

    entries: List[Tuple[str, int, str]] = []

    def add(rel, defect):
        entries.append((rel, len(entries) % 3, defect))

    video('good_0.mp4', sample_rate=16000)
    add('good_0.mp4', 'none')
    video('good_1.mp4', sample_rate=44100, channels=2)
    add('good_1.mp4', 'none')
    video('sub/good_2.mp4', sample_rate=48000)
    add('sub/good_2.mp4', 'none')
    video('good_3.avi', sample_rate=22050)  # avi: mpeg4 + mp3
    add('good_3.avi', 'none')
    video('no_audio.mp4', with_audio=False)
    add('no_audio.mp4', 'no audio stream')
    video('silent_audio.mp4', tone_schedule=[(0.0, None)])
    add('silent_audio.mp4', 'silent audio track')
    video('late_audio.mp4', audio_start=0.5)
    add('late_audio.mp4', 'audio starts 0.5 s late')
    video('short_audio.mp4', audio_duration=0.4)
    add('short_audio.mp4', '0.4 s of audio, 1.5 s of video')
    video('too_short.mp4', duration=0.5)
    add('too_short.mp4', f'8 frames < {CLIP_LEN} x {FRAME_INTERVAL}')
    truncate_file(video('truncated.mp4', duration=2.0),
                  osp.join(root, 'truncated.mp4'), 0.5)
    add('truncated.mp4', 'first half of the bytes only')
    open(osp.join(root, 'empty.mp4'), 'wb').close()
    add('empty.mp4', 'zero bytes')
    with open(osp.join(root, 'not_a_video.mp4'), 'w') as f:
        f.write(TEXT_CONTENT * 20)
    add('not_a_video.mp4', 'a text file')
    add('missing.mp4', 'listed, not on disk')
    tmp = video('tmp_src.mp4', duration=2.0)
    corrupt_middle_packets(tmp, osp.join(root, 'corrupt_frames.mp4'))
    add('corrupt_frames.mp4', 'garbage video packets mid-file')
    garble_keyframe(tmp, osp.join(root, 'garbled_keyframe.mp4'))
    add('garbled_keyframe.mp4', 'garbled keyframe (concealed)')
    os.remove(tmp)

    with open(osp.join(out, 'list.txt'), 'w') as f:
        f.writelines(f'{rel} {label}\n' for rel, label, _ in entries)
    write_config(out)
    return entries


def write_config(out: str) -> str:
    """``OUT/defect_config.py`` with absolute paths (works from any
    folder)."""
    out = osp.abspath(out)
    splits = '\n'.join(
        SPLIT_TEMPLATE.format(
            split=split, ann_file=osp.join(out, 'list.txt'),
            video=osp.join(out, 'videos'), clip_len=CLIP_LEN,
            frame_interval=FRAME_INTERVAL)
        for split in ('train', 'val', 'test'))
    path = osp.join(out, 'defect_config.py')
    with open(path, 'w') as f:
        f.write(CONFIG_TEMPLATE.format(splits=splits))
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='output folder')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    entries = make_defect_dataset(args.out)
    width = max(len(rel) for rel, _, _ in entries)
    for rel, _, defect in entries:
        print(f'{rel:<{width}}  {defect}')
    print(f'\nWrote {len(entries)} list entries to '
          f'{osp.join(args.out, "list.txt")}; check them with\n'
          f'  python tools/data/check_dataset.py '
          f'{osp.join(args.out, "defect_config.py")}')
    return 0


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    sys.exit(main())
