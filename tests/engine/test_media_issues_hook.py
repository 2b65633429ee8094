"""MediaIssuesHook: one WARNING per file, per-epoch counts in the message
hub, files listed in the work dir, and the unreadable-share limit."""
import logging
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub, MMLogger
from mmengine.structures import BaseDataElement

from mmaction_avslowfast.datasets.unreadable import media_event
from mmaction_avslowfast.engine.hooks import MediaIssuesHook


def sample(name, events=(), audio_valid=True, **meta):
    element = BaseDataElement()
    element.set_metainfo(dict(filename=name, audio_valid=audio_valid, **meta))
    if events:
        element.set_metainfo(dict(data_events=list(events)))
    return element


def batch(*samples):
    return dict(inputs=[None] * len(samples), data_samples=list(samples))


def unreadable(name):
    return media_event('unreadable', name, 'file not found', dropped=True)


@pytest.fixture
def runner(tmp_path, request):
    hub = MessageHub.get_instance(f'media_issues_{request.node.name}')
    return SimpleNamespace(message_hub=hub, work_dir=str(tmp_path), epoch=0)


@pytest.fixture
def warnings_log():
    records = []

    class Keep(logging.Handler):

        def emit(self, record):
            if record.levelno >= logging.WARNING:
                records.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Keep()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_counts_warnings_and_files(runner, warnings_log, tmp_path):
    hook = MediaIssuesHook()
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, 0, batch(
        sample('a.mp4', events=[unreadable('bad.mp4')]), sample('b.mp4')))
    hook.after_train_iter(runner, 1, batch(
        sample('c.mp4', audio_valid=False, audio_issue='no audio stream'),
        sample('a.mp4', events=[unreadable('bad.mp4')])))
    hub = runner.message_hub
    assert hub.get_scalar('train/data/unreadable').current() == 2
    assert hub.get_scalar('train/data/no_audio').current() == 1
    # one WARNING per file, naming it, the reason and what was done
    assert len(warnings_log) == 2
    assert "'bad.mp4' (file not found); another sample was drawn" in \
        warnings_log[0]
    assert "'c.mp4' (no audio stream); silence was used" in warnings_log[1]
    hook.after_train_epoch(runner)
    # in files and in draws: 4 packed + 2 redrawn samples drawn
    assert warnings_log[-1].startswith(
        'train: 1 file unreadable (2 draws), 1 file without usable audio '
        '(1 draw) of 6 samples drawn this epoch (all ranks); files listed '
        'in ')
    listed = (tmp_path / 'unreadable_files.txt').read_text().splitlines()
    assert listed == ['train\tbad.mp4\tfile not found']
    assert 'c.mp4\tno audio stream' in (tmp_path /
                                        'no_audio_files.txt').read_text()
    # counts are per epoch
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, 0, batch(sample('b.mp4')))
    assert hub.get_scalar('train/data/unreadable').current() == 0


def test_validation_counts_placeholders(runner, warnings_log):
    hook = MediaIssuesHook()
    hook.before_val_epoch(runner)
    placeholder = sample('x.mp4', events=[media_event('unreadable', 'x.mp4',
                                                      'empty file')],
                         audio_valid=False, unreadable=True)
    hook.after_val_iter(runner, 0, batch(placeholder, sample('y.mp4')))
    hub = runner.message_hub
    assert hub.get_scalar('val/data/unreadable').current() == 1
    # the placeholder's silent audio is not a second issue
    assert hub.get_scalar('val/data/no_audio').current() == 0
    assert 'counted as a miss' in warnings_log[0]


@pytest.mark.parametrize('bad,stops', [(5, False), (6, True)])
def test_limit_stops_a_mostly_broken_run(runner, bad, stops, tmp_path):
    hook = MediaIssuesHook(max_unreadable=0.05, min_samples=100)
    hook.before_train_epoch(runner)
    # 100 draws: (100 - bad) packed samples, bad of them carrying an event
    good = [sample(f'g{i}.mp4') for i in range(100 - 2 * bad)]
    carriers = [sample(f'c{i}.mp4', events=[unreadable(f'bad{i}.mp4')])
                for i in range(bad)]
    if not stops:
        hook.after_train_iter(runner, 0, batch(*good, *carriers))
        return
    with pytest.raises(RuntimeError, match='6 of the 100 samples') as info:
        hook.after_train_iter(runner, 0, batch(*good, *carriers))
    assert 'bad0.mp4' in str(info.value)
    assert 'check_dataset' in str(info.value)
    assert 'max_unreadable=' in str(info.value)
    # the files are listed in the work dir before the run stops
    listed = (tmp_path / 'unreadable_files.txt').read_text()
    assert all(f'bad{i}.mp4' in listed for i in range(bad))


def test_limit_waits_for_min_samples(runner):
    hook = MediaIssuesHook(max_unreadable=0.05, min_samples=100)
    hook.before_train_epoch(runner)
    # 50 % unreadable, but only 20 draws so far
    hook.after_train_iter(runner, 0, batch(*[
        sample(f'c{i}.mp4', events=[unreadable(f'bad{i}.mp4')])
        for i in range(10)
    ]))
    assert runner.message_hub.get_scalar(
        'train/data/unreadable').current() == 10


def test_bad_limit_is_rejected():
    with pytest.raises(ValueError, match='max_unreadable'):
        MediaIssuesHook(max_unreadable=1.5)


def test_validation_inside_a_training_epoch_keeps_train_files(runner,
                                                              tmp_path):
    """Iteration-based loops validate before the training 'epoch' ends."""
    hook = MediaIssuesHook()
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, 0, batch(
        sample('a.mp4', events=[unreadable('bad_train.mp4')])))
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, batch(sample(
        'v.mp4', events=[media_event('unreadable', 'bad_val.mp4', 'empty')],
        unreadable=True)))
    hook.after_val_epoch(runner)
    hook.after_train_iter(runner, 1, batch(sample('b.mp4')))
    hook.after_train_epoch(runner)
    listed = (tmp_path / 'unreadable_files.txt').read_text()
    assert 'train\tbad_train.mp4' in listed and 'val\tbad_val.mp4' in listed
    assert runner.message_hub.get_scalar(
        'train/data/unreadable').current() == 1


def test_file_lists_keep_every_split_that_met_a_file(runner, tmp_path,
                                                     warnings_log):
    hook = MediaIssuesHook()
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, 0, batch(
        sample('a.mp4', events=[unreadable('both.mp4')])))
    hook.after_train_epoch(runner)
    for mode in ('val', 'test'):
        getattr(hook, f'before_{mode}_epoch')(runner)
        getattr(hook, f'after_{mode}_iter')(runner, 0, batch(sample(
            'both.mp4', unreadable=True, events=[media_event(
                'unreadable', 'both.mp4', 'file not found')])))
        getattr(hook, f'after_{mode}_epoch')(runner)
    listed = (tmp_path / 'unreadable_files.txt').read_text().splitlines()
    assert listed == ['train,val,test\tboth.mp4\tfile not found']
    # one WARNING per split, each with what was done there
    assert [w for w in warnings_log if w.startswith('unreadable')] == [
        "unreadable sample: 'both.mp4' (file not found); another sample "
        'was drawn'] + ["unreadable sample: 'both.mp4' (file not found); "
                        'counted as a miss'] * 2
    assert warnings_log[-1].startswith(
        'test: 1 file unreadable (1 sample) of 1 samples this epoch')


def test_summary_counts_files_over_ranks(runner, warnings_log, tmp_path,
                                         monkeypatch):
    """Another rank met one of this rank's files and one of its own: 2
    files, the draws summed by all_reduce (a no-op here)."""
    from mmaction_avslowfast.engine.hooks import media_issues_hook
    other = ([dict(unreadable('theirs.mp4'), split='train')],
             dict(unreadable=['mine.mp4', 'theirs.mp4'], no_audio=[]))
    monkeypatch.setattr(media_issues_hook, 'all_gather_object',
                        lambda obj: [obj, other])
    hook = MediaIssuesHook()
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, 0, batch(
        sample('a.mp4', events=[unreadable('mine.mp4')]),
        sample('b.mp4', events=[unreadable('mine.mp4')])))
    hook.after_train_epoch(runner)
    assert "unreadable sample (another rank): 'theirs.mp4'" in \
        warnings_log[-2]
    assert warnings_log[-1].startswith(
        'train: 2 files unreadable (2 draws) of 4 samples drawn')
    listed = (tmp_path / 'unreadable_files.txt').read_text().splitlines()
    assert listed == ['train\tmine.mp4\tfile not found',
                      'train\ttheirs.mp4\tfile not found']


def test_audio_skip_is_worded_as_a_skip(runner, warnings_log):
    hook = MediaIssuesHook()
    hook.before_train_epoch(runner)
    skipped = media_event('no_audio', 'n.mp4', 'no audio stream',
                          dropped=True)
    hook.after_train_iter(runner, 0, batch(sample('a.mp4',
                                                  events=[skipped])))
    assert warnings_log == ["no usable audio: 'n.mp4' (no audio stream); "
                            'the sample was skipped and another drawn']
