"""tools/visualizations/browse_dataset.py on a tiny synthesized demo data set."""
import os.path as osp

import numpy as np
import pytest
from tool_helpers import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'avslowfast_demo.py')

# The demo config's test split as 10 clips x 3 crops (30 views).
TEN_BY_THREE = """_base_ = {base!r}
test_dataloader = dict(dataset=dict(
    ann_file={ann!r}, data_prefix=dict(video={root!r}),
    pipeline=[
        dict(type='CheckedDecordInit'),
        dict(type='SampleFrames', clip_len=16, frame_interval=2,
             num_clips=10, test_mode=True),
        dict(type='CheckedDecordDecode'),
        dict(type='LoadAudioFromVideo'),
        dict(type='AudioLogMelClips', num_frames=64),
        dict(type='Resize', scale=(48, 32), keep_ratio=False),
        dict(type='ThreeCrop', crop_size=32),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='AlignAudioViews'),
        dict(type='PackAVInputs')]))
"""


@pytest.fixture(scope='module')
def tool():
    return load_tool('visualizations/browse_dataset.py')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """One clip per class and split (18 clips of 2 s, 64 x 64)."""
    out = tmp_path_factory.mktemp('avdemo')
    load_tool('make_demo_dataset.py').main([
        '--out', str(out), '--train-per-class', '1', '--val-per-class', '1',
        '--test-per-class', '1'
    ])
    return out


def options(data, split):
    return [
        f'{split}_dataloader.dataset.ann_file={data}/{split}_list_videos.txt',
        f'{split}_dataloader.dataset.data_prefix.video={data}/videos_{split}'
    ]


def dataset_of(tool, data, split, config=DEMO_CONFIG):
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if config == DEMO_CONFIG:
        cfg.merge_from_dict(dict(o.split('=') for o in options(data, split)))
    return tool.build_dataset(cfg, split)


def labels(fig, kind):
    return [ax.get_label() for ax in fig.axes
            if ax.get_label().startswith(kind)]


def span(frame_inds, fps):
    return f'{frame_inds[0] / fps:.2f}-{frame_inds[-1] / fps:.2f} s'


@pytest.mark.parametrize('split,views', [('train', 1), ('test', 3)])
def test_cli_writes_one_png_per_sample(tool, data, tmp_path, capsys, split,
                                       views):
    out = tmp_path / 'browse'
    argv = [DEMO_CONFIG, '--split', split, '-n', '2', '--out', str(out),
            '--cfg-options'] + options(data, split)
    assert tool.main(argv) == 0
    stdout = capsys.readouterr().out
    files = sorted(out.glob('*.png'))
    assert [f.name for f in files] == [
        f'{split}_00000_left_low_0000.png', f'{split}_00001_left_high_0000.png'
    ]
    for f in files:
        assert f.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        assert f.stat().st_size > 10000
        assert f'wrote {f}' in stdout
    assert f'{views} of {views} views' in stdout
    negative = ' + AVS negative' if split == 'train' else ''
    assert f'views, log-mel{negative})\n' in stdout
    assert f'2 pictures of {split} samples in {out}' in stdout


def test_train_figure_has_negative_and_clip_times(tool, data):
    from mmaction_avslowfast.visualization.browse import (browse_figure,
                                                          load_sample)
    dataset = dataset_of(tool, data, 'train')
    sample = load_sample(dataset, 3)
    assert sample.imgs.shape == (1, 3, 16, 32, 32)
    assert sample.imgs.dtype == np.uint8
    assert sample.audios.shape == (1, 2, 64, 80)
    fig = browse_figure(sample, 'train', max_frames=8,
                        class_names=['a', 'b', 'c', 'd', 'e', 'f'])
    # 8 of the 16 frames, the log-mel and the AVS negative: one row.
    assert len(fig.axes) == 10
    assert labels(fig, 'frame') == [
        f'frame v0 t{t}' for t in (0, 2, 4, 6, 9, 11, 13, 15)]
    assert labels(fig, 'logmel') == ['logmel v0']
    assert labels(fig, 'negative') == ['negative v0']
    negative = [ax for ax in fig.axes if ax.get_label() == 'negative v0'][0]
    assert 'AVS negative' in negative.get_title()
    np.testing.assert_array_equal(negative.images[0].get_array(),
                                  sample.audios[0, 1].T)
    title = fig.texts[0].get_text()
    info = sample.info
    clip = span(info['frame_inds'], info['avg_fps'])
    assert info['filename'] in title
    assert info['filename'].endswith('right_high_0000.mp4')
    assert 'label 3 (d)' in title and 'audio_valid=True' in title
    assert f'clip times: #0 {clip}' in title
    first = fig.axes[0]
    assert clip in first.get_ylabel()
    assert first.get_title() == f'{info["frame_inds"][0] / 16:.2f} s'


def test_val_figure_shows_the_pipeline_output(tool, data):
    """Frames and log-mel drawn are the dataset's own packed inputs."""
    from mmaction_avslowfast.visualization.browse import (browse_figure,
                                                          load_sample)
    dataset = dataset_of(tool, data, 'val')
    packed = dataset[1]  # the dataset's own path (deterministic in val)
    imgs = packed['inputs']['imgs'].numpy()
    audios = packed['inputs']['audios'].numpy()
    fig = browse_figure(load_sample(dataset, 1), 'val', max_frames=16)
    assert labels(fig, 'negative') == []
    assert len(fig.axes) == 16 + 1
    frames = [ax for ax in fig.axes if ax.get_label().startswith('frame')]
    for t, ax in enumerate(frames):
        expected = imgs[0][:, t].transpose(1, 2, 0)  # undo C,T
        np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    logmel = [ax for ax in fig.axes if ax.get_label() == 'logmel v0'][0]
    np.testing.assert_array_equal(logmel.images[0].get_array(),
                                  audios[0, 0].T)
    # x axis in seconds of the video: first to last frame of the clip
    assert tuple(logmel.images[0].get_extent()[:2]) == (0.0, 30 / 16)
    assert packed['data_samples'].filename in fig.texts[0].get_text()


def test_ten_clips_three_crops_limited_views(tool, data, tmp_path, capsys):
    config = tmp_path / 'ten_by_three.py'
    config.write_text(TEN_BY_THREE.format(
        base=DEMO_CONFIG, ann=f'{data}/test_list_videos.txt',
        root=f'{data}/videos_test'))
    out = tmp_path / 'browse'
    assert tool.main([str(config), '--split', 'test', '-n', '1', '--out',
                      str(out), '--max-views', '6', '--max-frames', '4']) == 0
    assert '6 of 30 views (--max-views 6), log-mel)\n' in \
        capsys.readouterr().out
    assert len(list(out.glob('test_*.png'))) == 1

    from mmaction_avslowfast.visualization.browse import (browse_figure,
                                                          load_sample)
    sample = load_sample(dataset_of(tool, data, 'test', str(config)), 0)
    assert sample.imgs.shape[:3] == (30, 3, 16)
    fig = browse_figure(sample, 'test', max_views=6, max_frames=4)
    views = (0, 6, 12, 17, 23, 29)  # spread over clips and crops
    assert labels(fig, 'logmel') == [f'logmel v{v}' for v in views]
    assert len(fig.axes) == 6 * (4 + 1)
    title = fig.texts[0].get_text()
    assert '30 views = 3 crop(s) x 10 clip(s)' in title
    assert 'showing views 0, 6, 12, 17, 23, 29 (--max-views 6)' in title
    assert '4 of 16 frames per view' in title
    inds = sample.info['frame_inds'].reshape(10, 16)
    for clip in range(10):
        assert f'#{clip} {span(inds[clip], 16)}' in title
    # view 12 = crop 1 x 10 clips + clip 2; its frames are imgs[12]
    row = [ax for ax in fig.axes if ax.get_label().startswith('frame v12 ')]
    assert [ax.get_label() for ax in row] == [
        f'frame v12 t{t}' for t in (0, 5, 10, 15)]
    assert f'clip 2, crop 1\n{span(inds[2], 16)}' in row[0].get_ylabel()
    np.testing.assert_array_equal(row[-1].images[0].get_array(),
                                  sample.imgs[12][:, 15].transpose(1, 2, 0))


def test_unreadable_file_is_skipped(tool, data, tmp_path, capsys):
    ann = tmp_path / 'list.txt'
    ann.write_text('missing.mp4 0\n' +
                   (data / 'val_list_videos.txt').read_text())
    out = tmp_path / 'browse'
    argv = [DEMO_CONFIG, '--split', 'val', '-n', '1', '--out', str(out),
            '--cfg-options', f'val_dataloader.dataset.ann_file={ann}',
            f'val_dataloader.dataset.data_prefix.video={data}/videos_val']
    assert tool.main(argv) == 0
    stdout = capsys.readouterr().out
    assert 'skipped sample 0:' in stdout and 'missing.mp4' in stdout
    assert [f.name for f in out.glob('*.png')] == [
        'val_00001_left_low_0000.png']
    # fewer readable samples than asked for: exit code 1
    ann.write_text('missing.mp4 0\n')
    assert tool.main(argv + ['-n', '3']) == 1


def test_bad_arguments(tool):
    with pytest.raises(SystemExit):
        tool.parse_args([DEMO_CONFIG, '--max-views', '0'])
    args = tool.parse_args([DEMO_CONFIG, '--phase', 'val',
                            '--show-number', '3'])
    assert (args.split, args.num, args.out) == ('val', 3,
                                                'work_dirs/browse_dataset')


def test_figure_without_audio_or_with_silence():
    """Pipelines without audio get frames only; silence is labelled."""
    from mmaction_avslowfast.visualization.browse import (BrowsedSample,
                                                          browse_figure)
    imgs = np.random.RandomState(0).randint(
        0, 256, (2, 3, 4, 8, 8)).astype(np.uint8)
    info = dict(filename='clip.mp4', label=1, num_clips=2,
                frame_inds=np.array([0, 1, 2, 3, 4, 6, 8, 10]), avg_fps=4.0)
    fig = browse_figure(BrowsedSample(0, imgs, None, info))
    assert labels(fig, 'frame') == [f'frame v{v} t{t}' for v in (0, 1)
                                    for t in range(4)]
    assert len(fig.axes) == 8
    assert '#0 0.00-0.75 s, #1 1.00-2.50 s' in fig.texts[0].get_text()
    np.testing.assert_array_equal(fig.axes[5].images[0].get_array(),
                                  imgs[1][:, 1].transpose(1, 2, 0))

    info.update(audio_valid=False, audio_issue='no audio stream')
    audios = np.zeros((2, 1, 6, 5), np.float32)
    fig = browse_figure(BrowsedSample(0, imgs, audios, info))
    assert 'audio_valid=False (no audio stream)' in fig.texts[0].get_text()
    logmel = [ax for ax in fig.axes if ax.get_label() == 'logmel v1'][0]
    assert 'no audio: silence' in logmel.get_title()
