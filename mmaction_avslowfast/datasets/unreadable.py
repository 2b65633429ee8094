"""Unreadable samples: the one mechanism every dataset of the plugin uses.

A sample is *unreadable* when its media cannot be read: a missing,
zero-byte, truncated or non-video file, or frames the decoder rejects. The
checked loaders (``CheckedDecordInit``, ``CheckedDecordDecode``,
``CheckedRawFrameDecode``) raise :class:`UnreadableMediaError` naming the
file and the reason; :class:`UnreadableSampleMixin`, mixed into the
plugin's datasets (``AVVideoDataset``, ``AVAAudioDataset``), turns it into
one of three outcomes (``on_unreadable``):

- ``'redraw'`` (training default): ``prepare_data`` returns ``None`` and
  MMEngine's ``BaseDataset.__getitem__`` draws another sample. The event
  (kind ``'unreadable'``, file, reason) is carried on the replacement
  sample's metainfo (``data_events``), so it reaches the main process from
  any dataloader worker; :class:`~mmaction_avslowfast.engine.hooks.
  MediaIssuesHook` logs one WARNING per file, counts the events per epoch
  over all workers and ranks (``data/unreadable`` in the log), writes the
  files to the work dir and stops a run whose share of unreadable draws is
  too high.
- ``'miss'`` (the shipped configs' validation datasets): a placeholder
  sample is returned: the inputs of another readable sample of the dataset,
  zeroed, with this sample's label and file name and ``unreadable=True`` in
  its metainfo; the plugin's metrics (``AVAccMetric``, ``RobustAVAMetric``)
  score it as wrong whatever its label, so the denominator stays the
  dataset size.
- ``'error'`` (test default): raise :class:`UnreadableSampleStop`; the
  run (``mim test``) stops. Its message is three lines: the file, the
  reason and the fix; in the main process only they are printed, not the
  tracebacks of the data-loader worker and the runner
  (:func:`install_short_stop_report`;
  ``MMACTION_AVSLOWFAST_TRACEBACK=1`` prints them as usual).

Audio that cannot be read is not an unreadable sample: it follows the audio
transforms' ``on_missing_audio`` policy (silence by default, flagged with
``audio_valid=False`` on the packed sample, counted as ``data/no_audio``).
A sample that ``on_missing_audio='skip'`` drops in training is counted too.

Every packed sample also gets its ``filename`` in the metainfo, so a
``mim test --dump`` can be joined back to the videos.
"""
import copy
import os
import sys
from typing import Dict, List, Optional

import torch

POLICIES = ('redraw', 'miss', 'error')
EVENTS_KEY = 'data_events'


class UnreadableMediaError(IOError):
    """A sample's media cannot be read.

    Args:
        path (str): The file (or frame) that could not be read.
        reason (str): Why, in a few words (the decoder's message).
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = str(path)
        self.reason = str(reason)
        super().__init__(f'cannot read {self.path!r}: {self.reason}')

    def __reduce__(self):  # picklable across dataloader workers
        return (type(self), (self.path, self.reason))


class UnreadableSampleStop(RuntimeError):
    """An unreadable sample under ``on_unreadable='error'``: the run stops.

    The message is the file, the reason and the fix, one line each.
    """

    @classmethod
    def message_of(cls, exc: BaseException) -> str:
        """The three lines, also of the copy that PyTorch's data loader
        re-raises in the main process (its message holds the worker's
        traceback, which ends with ``...UnreadableSampleStop: <lines>``)."""
        text = str(exc)
        marker = f'{cls.__name__}: '
        if text.startswith('Caught ') and marker in text:
            text = text.rsplit(marker, 1)[1]
        return text.strip()


def _stop_message(dataset: str, idx: int, err: UnreadableMediaError) -> str:
    return (f'unreadable file, the run stops: {err.path!r} (sample {idx} of '
            f'{dataset})\n'
            f'reason: {err.reason}\n'
            f'fix: --cfg-options test_dataloader.dataset.on_unreadable=miss '
            f'counts unreadable files as wrong and finishes '
            f'(val_dataloader.dataset... for validation), or clean the list '
            f'with tools/data/check_dataset.py')


def install_short_stop_report() -> bool:
    """Let an uncaught :class:`UnreadableSampleStop` print only its three
    lines to stderr, the first prefixed ``ERROR:`` (where Python prints a
    traceback): the last lines before ``mim``'s own error are then the
    file, the reason and the fix, not 70 lines of tracebacks. Other
    exceptions go to the previous ``sys.excepthook``; so does this one
    with ``MMACTION_AVSLOWFAST_TRACEBACK=1``. Idempotent; returns True when
    installed by this call."""
    if getattr(sys.excepthook, '_avslowfast_stop_report', False):
        return False
    previous = sys.excepthook

    def report(exc_type, exc, tb):
        if not issubclass(exc_type, UnreadableSampleStop) or \
                os.environ.get('MMACTION_AVSLOWFAST_TRACEBACK'):
            return previous(exc_type, exc, tb)
        sys.stdout.flush()  # the log lines before it come first
        sys.stderr.write(f'ERROR: {UnreadableSampleStop.message_of(exc)}\n')
        sys.stderr.flush()

    report._avslowfast_stop_report = True
    sys.excepthook = report
    return True


def media_event(kind: str, path: str, reason: str,
                dropped: bool = False) -> Dict:
    """One data event: ``kind`` is ``'unreadable'`` or ``'no_audio'``;
    ``dropped``: the sample was dropped and another one drawn."""
    return dict(kind=kind, path=str(path), reason=str(reason),
                dropped=dropped)


def _zeros_like(inputs):
    if isinstance(inputs, torch.Tensor):
        return torch.zeros_like(inputs)
    if isinstance(inputs, dict):
        return {k: _zeros_like(v) for k, v in inputs.items()}
    if isinstance(inputs, (list, tuple)):
        return type(inputs)(_zeros_like(v) for v in inputs)
    return copy.deepcopy(inputs)


class UnreadableSampleMixin:
    """Handles :class:`UnreadableMediaError` in ``prepare_data``.

    Mix in before an MMEngine ``BaseDataset`` subclass: its ``__init__``
    takes the arguments below and passes the others (``test_mode``
    included) on to the data set.

    Args:
        on_unreadable (str, optional): ``'redraw'``, ``'miss'`` or
            ``'error'`` (see the module docstring). Default ``None``:
            ``'redraw'`` in training, ``'error'`` in ``test_mode``.
        max_template_tries (int): Samples tried to find a readable template
            for a ``'miss'`` placeholder. Default: 100.
    """

    # Metainfo keys of the template that a placeholder takes from the
    # unreadable sample's own annotation (when the annotation has them).
    placeholder_meta_keys = ('filename', 'video_id', 'timestamp', 'img_key',
                             'frame_dir')
    # Annotation keys put on every packed sample's metainfo (where the
    # pipeline has not set them).
    sample_meta_keys = ('filename', )

    def __init__(self,
                 *args,
                 on_unreadable: Optional[str] = None,
                 max_template_tries: int = 100,
                 **kwargs) -> None:
        test_mode = kwargs.get('test_mode', False)
        if on_unreadable is None:
            on_unreadable = 'error' if test_mode else 'redraw'
        if on_unreadable not in POLICIES:
            raise ValueError(f'on_unreadable must be one of {POLICIES}, got '
                             f'{on_unreadable!r}')
        if on_unreadable == 'redraw' and test_mode:
            raise ValueError(
                "on_unreadable='redraw' needs training data: a validation or "
                "test set cannot draw another sample; use 'miss' or 'error'")
        self.on_unreadable = on_unreadable
        if on_unreadable == 'error':
            install_short_stop_report()
        self.max_template_tries = max_template_tries
        self._pending_events: List[Dict] = []
        self._template = None
        super().__init__(*args, **kwargs)

    def prepare_data(self, idx: int):
        """Pipeline output of sample ``idx``, or the outcome of
        ``on_unreadable`` when its media cannot be read."""
        data_info = self.get_data_info(idx)
        try:
            packed = self.pipeline(data_info)
        except UnreadableMediaError as err:
            return self._unreadable(idx, data_info, err)
        if packed is None:  # a transform dropped it (e.g. audio 'skip')
            if data_info.get('audio_issue'):
                self._pending_events.append(
                    media_event('no_audio', data_info.get('filename', ''),
                                data_info['audio_issue'], dropped=True))
            return None
        return self._annotate(packed, data_info)

    def _unreadable(self, idx: int, data_info: Dict,
                    err: UnreadableMediaError):
        name = type(self).__name__
        if self.on_unreadable == 'redraw':
            self._pending_events.append(
                media_event('unreadable', err.path, err.reason, dropped=True))
            return None
        if self.on_unreadable == 'error':
            raise UnreadableSampleStop(_stop_message(name, idx, err)) \
                from err
        return self._placeholder(idx, data_info, err)

    def _annotate(self, packed: Dict, data_info: Dict) -> Dict:
        """Add ``sample_meta_keys`` and the pending events to the packed
        sample."""
        sample = packed.get('data_samples') if isinstance(packed,
                                                          dict) else None
        if sample is None:
            return packed
        meta = {
            k: data_info[k]
            for k in self.sample_meta_keys
            if k in data_info and k not in sample
        }
        if 'unreadable' not in sample:  # explicit in every --dump entry
            meta['unreadable'] = False
        if self._pending_events:
            meta[EVENTS_KEY] = list(sample.metainfo.get(EVENTS_KEY, ())) + \
                self._pending_events
            self._pending_events = []
        if meta:
            sample.set_metainfo(meta)
        return packed

    def _find_template(self, idx: int) -> Dict:
        """Pipeline output of a readable sample (inputs zeroed), cached."""
        if self._template is None:
            for step in range(1, min(self.max_template_tries, len(self)) + 1):
                try:
                    other = self.pipeline(
                        self.get_data_info((idx + step) % len(self)))
                except UnreadableMediaError:
                    continue
                if other is not None:
                    if 'data_samples' not in other or 'inputs' not in other:
                        raise RuntimeError(
                            f"{type(self).__name__}: on_unreadable='miss' "
                            f'needs a pipeline that ends with a packer '
                            f'(PackAVInputs)')
                    other['inputs'] = _zeros_like(other['inputs'])
                    self._template = other
                    break
            else:
                raise RuntimeError(
                    f'{type(self).__name__}: no readable sample found near '
                    f'sample {idx} to stand in for unreadable samples; check '
                    f'the data set with tools/data/check_dataset.py')
        return self._template

    def _placeholder(self, idx: int, data_info: Dict,
                     err: UnreadableMediaError) -> Dict:
        """A sample with another sample's (zeroed) input shapes, this
        sample's label and identity, flagged ``unreadable=True``."""
        template = self._find_template(idx)
        sample = template['data_samples'].clone()
        meta = {
            k: data_info[k]
            for k in self.placeholder_meta_keys if k in data_info
        }
        if 'audio_valid' in sample:  # not the template's audio state
            meta.update(audio_valid=False, audio_issue='unreadable sample')
        meta.update(
            unreadable=True,
            unreadable_reason=err.reason,
            **{EVENTS_KEY: [media_event('unreadable', err.path, err.reason)]})
        sample.set_metainfo(meta)
        if 'label' in data_info and 'gt_label' in sample:
            sample.set_gt_label(data_info['label'])
        packed = dict(inputs=copy.deepcopy(template['inputs']),
                      data_samples=sample)
        return self._annotate(packed, data_info)
