"""Reports the data events of :mod:`mmaction_avslowfast.datasets.unreadable`:
unreadable samples and samples whose audio could not be read."""
import logging
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_gather_object, all_reduce, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmaction.registry import HOOKS
from ...datasets.unreadable import EVENTS_KEY, media_event

KINDS = ('unreadable', 'no_audio')
_WHAT = dict(unreadable='unreadable sample', no_audio='no usable audio')
_ACTION = dict(
    train=dict(unreadable='another sample was drawn',
               no_audio='silence was used'),
    val=dict(unreadable='counted as a miss', no_audio='silence was used'))
_ACTION['test'] = _ACTION['val']
_SUMMARY = dict(unreadable='unreadable', no_audio='without usable audio')


def _plural(count: int, noun: str) -> str:
    return f'{count} {noun}{"" if count == 1 else "s"}'


def batch_events(data_batch: Optional[Dict]) -> List[Dict]:
    """The data events a collated batch carries.

    Events on a sample's ``data_events`` metainfo (unreadable samples that
    were redrawn or replaced by a placeholder, audio-``skip`` drops), plus
    one ``no_audio`` event per sample packed with ``audio_valid=False``.
    """
    events = []
    samples = (data_batch or {}).get('data_samples') or []
    for sample in samples:
        meta = sample.metainfo
        events.extend(meta.get(EVENTS_KEY, ()))
        if meta.get('audio_valid') is False and not meta.get('unreadable'):
            events.append(
                media_event('no_audio', meta.get('filename', '?'),
                            meta.get('audio_issue', 'unusable audio')))
    return events


@HOOKS.register_module()
class MediaIssuesHook(Hook):
    """Logs, counts and limits unreadable samples and lost audio.

    For every batch of training, validation and testing it reads the events
    the data sets put on the samples (see
    :mod:`mmaction_avslowfast.datasets.unreadable`; they come from any
    dataloader worker), then:

    - logs one WARNING per file, kind and split, naming it, the reason and
      what was done (redrawn, counted as a miss, silence used);
    - counts the draws per epoch, summed over all ranks, as the message-hub
      scalars ``{train,val,test}/data/unreadable`` and ``.../data/no_audio``
      (shown as ``data/unreadable`` / ``data/no_audio`` in the log lines),
      updated as each batch arrives, in the iteration that carries the
      event (its log line is the first to count it); in training, samples
      dropped and redrawn count as drawn samples;
    - at the end of each epoch logs a summary in files and draws
      (``train: 3 files unreadable (4 draws), 1 file without usable audio
      (2 draws) of 17 samples drawn this epoch``) and writes every file
      seen so far to ``<work_dir>/unreadable_files.txt`` and
      ``<work_dir>/no_audio_files.txt`` (``splits<TAB>path<TAB>reason``,
      ``splits`` every split that met the file, e.g. ``train,val``);
    - stops training with an error when more than ``max_unreadable`` of the
      samples drawn in an epoch were unreadable, once at least
      ``min_samples`` were drawn.

    Args:
        max_unreadable (float): Largest tolerated share of unreadable draws
            per training epoch. Default: 0.05.
        min_samples (int): Draws before the limit applies. Default: 100.
    """

    priority = 'NORMAL'

    def __init__(self, max_unreadable: float = 0.05,
                 min_samples: int = 100) -> None:
        if not 0.0 <= max_unreadable <= 1.0:
            raise ValueError('MediaIssuesHook: max_unreadable must be in '
                             f'[0, 1], got {max_unreadable}')
        self.max_unreadable = float(max_unreadable)
        self.min_samples = int(min_samples)
        self._warned = set()  # (kind, path, split) logged on this rank
        # kind -> path -> dict(splits=[...], reason=...), all ranks
        self._files = {kind: {} for kind in KINDS}
        self._counts = {}
        self._new = {}  # mode -> events first seen on this rank, not gathered
        self._epoch_files = {}  # mode -> kind -> paths met this epoch here

    # -- per batch ---------------------------------------------------------
    def _reset(self, mode: str) -> None:
        self._counts[mode] = torch.zeros(3, dtype=torch.float64)
        self._new[mode] = []
        self._epoch_files[mode] = {kind: set() for kind in KINDS}

    def _after_iter(self, runner, mode: str, data_batch) -> torch.Tensor:
        if mode not in self._counts:
            self._reset(mode)
        events = batch_events(data_batch)
        for event in events:
            self._epoch_files[mode][event['kind']].add(event['path'])
            key = (event['kind'], event['path'], mode)
            if key not in self._warned:
                self._warned.add(key)
                self._new[mode].append(dict(event, split=mode))
                action = ('the sample was skipped and another drawn'
                          if event.get('dropped') and event['kind'] ==
                          'no_audio' else _ACTION[mode][event['kind']])
                print_log(
                    f"{_WHAT[event['kind']]}: {event['path']!r} "
                    f"({event['reason']}); {action}",
                    logger='current', level=logging.WARNING)
        samples = len((data_batch or {}).get('data_samples') or [])
        dropped = sum(bool(e.get('dropped')) for e in events)
        step = torch.tensor([
            sum(e['kind'] == 'unreadable' for e in events),
            sum(e['kind'] == 'no_audio' for e in events), samples + dropped
        ], dtype=torch.float64)
        all_reduce(step)  # sum over ranks (no-op when not distributed)
        self._counts[mode] += step
        unreadable, no_audio, _ = self._counts[mode].tolist()
        runner.message_hub.update_scalar(f'{mode}/data/unreadable',
                                         int(unreadable))
        runner.message_hub.update_scalar(f'{mode}/data/no_audio',
                                         int(no_audio))
        return self._counts[mode]

    def before_train_epoch(self, runner) -> None:
        self._reset('train')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        unreadable, _, drawn = self._after_iter(runner, 'train',
                                                data_batch).tolist()
        if drawn >= self.min_samples and \
                unreadable > self.max_unreadable * drawn:
            # (every rank reaches this at the same iteration: counts are
            # summed over ranks, so the collective in _summary is safe)
            self._summary(runner, 'train')
            files = sorted(self._files['unreadable'])
            raise RuntimeError(
                f'{int(unreadable)} of the {int(drawn)} samples drawn in '
                f'epoch {runner.epoch + 1} were unreadable (limit '
                f'{self.max_unreadable:.1%} after {self.min_samples} draws): '
                f'the data set is mostly broken. First files: {files[:10]} '
                f'(all in {osp.join(runner.work_dir, "unreadable_files.txt")}'
                f'). Check it with tools/data/check_dataset.py and train on '
                f'the cleaned list, or raise the limit with --cfg-options '
                f'custom_hooks.<index of MediaIssuesHook>.max_unreadable=...')

    def before_val_epoch(self, runner) -> None:
        self._reset('val')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs=None) -> None:
        self._after_iter(runner, 'val', data_batch)

    def before_test_epoch(self, runner) -> None:
        self._reset('test')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs=None) -> None:
        self._after_iter(runner, 'test', data_batch)

    # -- per epoch ---------------------------------------------------------
    def _summary(self, runner, mode: str) -> None:
        counts = self._counts.get(mode)
        if counts is None:  # no iteration ran
            return
        # every rank's new files and the files it met this epoch
        gathered = all_gather_object(
            (self._new.get(mode, []),
             {k: sorted(v) for k, v in self._epoch_files[mode].items()}))
        self._new[mode] = []
        met = {kind: set() for kind in KINDS}
        for events, epoch_files in gathered:
            for kind in KINDS:
                met[kind].update(epoch_files[kind])
            for event in events:
                self._remember(event)
        draws = dict(zip(KINDS, (int(v) for v in counts.tolist())))
        seen = int(counts[2])
        if any(draws.values()):
            unit = 'draw' if mode == 'train' else 'sample'
            parts = [
                f'{_plural(len(met[kind]), "file")} {_SUMMARY[kind]} '
                f'({_plural(draws[kind], unit)})'
                for kind in KINDS if draws[kind]
            ]
            lists = ' and '.join(
                osp.join(runner.work_dir, f'{kind}_files.txt')
                for kind in KINDS if self._files[kind])
            print_log(
                f'{mode}: {", ".join(parts)} of {seen} samples'
                f'{" drawn" if mode == "train" else ""} this epoch (all '
                f'ranks); files listed in {lists}',
                logger='current', level=logging.WARNING)
        if is_main_process():
            self._write(runner.work_dir)

    def _remember(self, event: Dict) -> None:
        """Add a gathered event's file and split to the lists (and log a
        file only another rank met)."""
        key = (event['kind'], event['path'], event['split'])
        if key not in self._warned:  # met on another rank only
            self._warned.add(key)
            print_log(
                f"{_WHAT[event['kind']]} (another rank): "
                f"{event['path']!r} ({event['reason']})",
                logger='current', level=logging.WARNING)
        entry = self._files[event['kind']].setdefault(
            event['path'], dict(splits=[], reason=event['reason']))
        if event['split'] not in entry['splits']:
            entry['splits'].append(event['split'])

    def _write(self, work_dir: str) -> None:
        for kind in KINDS:
            path = osp.join(work_dir, f'{kind}_files.txt')
            if not self._files[kind] and not osp.exists(path):
                continue
            with open(path, 'w') as f:
                for name, entry in sorted(self._files[kind].items()):
                    f.write(f"{','.join(entry['splits'])}\t{name}\t"
                            f"{entry['reason']}\n")

    def after_train_epoch(self, runner) -> None:
        self._summary(runner, 'train')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._summary(runner, 'val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._summary(runner, 'test')
