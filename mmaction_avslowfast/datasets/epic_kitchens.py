"""EPIC-Kitchens-100 action segments of the untrimmed videos, with audio."""
import csv
import math
import os.path as osp
import re
from typing import Callable, Dict, List, Sequence, Union

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmaction.structures.action_data_sample import format_label
from .annotation_csv import AnnotationError, check_header
from .unreadable import UnreadableSampleMixin

# Columns the data set reads (by header name; the others are ignored).
REQUIRED_COLUMNS = ('narration_id', 'participant_id', 'video_id',
                    'start_timestamp', 'stop_timestamp', 'verb_class',
                    'noun_class')
# Metainfo keys that identify a segment on its packed sample (also on the
# placeholder of an unreadable one): the metric and dumps join on them.
SEGMENT_META_KEYS = ('narration_id', 'video_id', 'segment_start',
                     'segment_stop')
_TIMESTAMP = re.compile(r'^(\d+):([0-5]?\d):([0-5]?\d(?:\.\d*)?)$')


def parse_timestamp(text: str) -> float:
    """Seconds of an EPIC timestamp ``HH:MM:SS.ff`` (any number of
    decimals). Raises ``ValueError`` on anything else."""
    match = _TIMESTAMP.match(str(text).strip())
    if not match:
        raise ValueError(f'expected HH:MM:SS.ff, got {text!r}')
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@DATASETS.register_module()
class EpicKitchensDataset(UnreadableSampleMixin, BaseActionDataset):
    """EPIC-Kitchens-100 action recognition: every annotated action segment
    of the untrimmed videos is one sample.

    Reads the official annotation CSVs (``EPIC_100_train.csv``,
    ``EPIC_100_validation.csv``) by header name; the columns used are
    ``narration_id, participant_id, video_id, start_timestamp,
    stop_timestamp, verb_class, noun_class`` (``start_frame`` /
    ``stop_frame`` are ignored: the timestamps are authoritative, the
    frame indices are computed from them and the video's own frame rate by
    :class:`~mmaction_avslowfast.datasets.transforms.SegmentSampleFrames`).
    Videos are found in the official layout
    ``<data_prefix.video>/<participant_id>/videos/<video_id>.<video_ext>``.

    The official ``.pkl`` files are pandas pickles, which can run code when
    loaded: they are refused unless ``allow_pickle=True``.

    Each data info: ``filename`` (absolute path of the untrimmed video),
    ``label`` (``verb_class``, int), ``noun_label`` (``noun_class``, int),
    ``segment_start`` / ``segment_stop`` (seconds), ``video_id``,
    ``participant_id``, ``narration_id``. The packed sample carries
    ``gt_label`` (verb), ``noun_label`` (noun, see ``PackAVInputs``) and,
    in its metainfo, ``narration_id``, ``video_id``, ``segment_start``,
    ``segment_stop`` and ``filename``, also on the placeholder of an
    unreadable segment (``on_unreadable='miss'``).

    Unreadable videos (missing, corrupt, or shorter than the segment's
    start) follow ``on_unreadable`` as in ``AVVideoDataset`` (see
    :mod:`mmaction_avslowfast.datasets.unreadable`); audio problems follow
    the audio transforms' ``on_missing_audio``.

    Args:
        ann_file (str): Annotation CSV (or ``.pkl`` with ``allow_pickle``).
        pipeline (list[dict | callable]): Data transforms, typically
            ``CheckedDecordInit -> SegmentSampleFrames ->
            CheckedDecordDecode -> LoadAudioFromVideo -> AudioLogMelClips
            -> ... -> PackAVInputs``.
        data_prefix (dict): ``video``: the folder holding ``P01/videos/``.
        video_ext (str): Video file extension. Default: ``'MP4'``.
        test_mode (bool): Validation / test set. Default: False.
        on_unreadable (str, optional): ``'redraw'``, ``'miss'`` or
            ``'error'`` (default by ``test_mode``).
        allow_pickle (bool): Accept a pandas ``.pkl`` annotation file (only
            from a trusted source). Default: False.
        **kwargs: ``BaseActionDataset`` arguments (``start_index`` must stay
            0: frame indices are absolute and audio times derive from them).
    """

    # The segment's identity, on every sample (a placeholder cloned from
    # another sample takes this sample's).
    placeholder_meta_keys = UnreadableSampleMixin.placeholder_meta_keys + \
        SEGMENT_META_KEYS
    sample_meta_keys = UnreadableSampleMixin.sample_meta_keys + \
        SEGMENT_META_KEYS

    def __init__(self,
                 ann_file: str,
                 pipeline: List[Union[Dict, Callable]],
                 data_prefix: Dict = dict(video=''),
                 video_ext: str = 'MP4',
                 allow_pickle: bool = False,
                 **kwargs) -> None:
        if kwargs.get('start_index', 0) != 0:
            raise ValueError(
                'EpicKitchensDataset: start_index must be 0 (frame indices '
                'of the untrimmed video are absolute and the audio of a '
                f'clip is timed from them), got {kwargs["start_index"]}')
        self.video_ext = video_ext.lstrip('.')
        self.allow_pickle = allow_pickle
        super().__init__(
            ann_file, pipeline=pipeline, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[Dict]:
        """One data info per annotated segment (file order)."""
        rows = self._read_rows(self.ann_file)
        root = self.data_prefix.get('video', '') or ''
        data_list = []
        for line, row in rows:
            info = self._parse_row(row, line)
            info['filename'] = osp.abspath(
                osp.join(root, info['participant_id'], 'videos',
                         f"{info['video_id']}.{self.video_ext}"))
            data_list.append(info)
        if not data_list:
            raise AnnotationError(f'{self.ann_file}: no action segments')
        return data_list

    def _read_rows(self, path: str) -> List:
        """``[(row number, {column: text})]``; row numbers count the
        header as row 1 (line numbers of a CSV without embedded
        newlines)."""
        if path.endswith('.pkl'):
            return self._read_pickle(path)
        with open(path, newline='', encoding='utf-8') as f:
            reader = csv.DictReader(f)
            self._check_columns(reader.fieldnames or (), path)
            rows = []
            for row in reader:
                if None in row or None in row.values():
                    fields = len(row.get(None, ())) + sum(
                        v is not None for k, v in row.items() if k is not None)
                    raise AnnotationError(
                        f'{path}: row {reader.line_num}: {fields} fields '
                        f'do not match the {len(reader.fieldnames)} columns '
                        f'of the header')
                rows.append((reader.line_num, row))
        return rows

    def _read_pickle(self, path: str) -> List:
        if not self.allow_pickle:
            raise AnnotationError(
                f'{path}: refusing to load a pickle: the official EPIC .pkl '
                f'files are pandas pickles, which can run code when loaded. '
                f'Use the CSV of the same split (EPIC_100_train.csv / '
                f'EPIC_100_validation.csv), or set allow_pickle=True for a '
                f'file from a trusted source')
        import pandas as pd
        frame = pd.read_pickle(path)
        if 'narration_id' not in frame.columns:  # the official index
            frame = frame.reset_index()
        self._check_columns(list(frame.columns), path)
        return [(i + 2, {k: str(v) for k, v in rec.items()})
                for i, rec in enumerate(frame.to_dict('records'))]

    @staticmethod
    def _check_columns(columns: Sequence[str], path: str) -> None:
        check_header(columns, REQUIRED_COLUMNS, path,
                     'an EPIC-Kitchens-100 annotation CSV')

    def _parse_row(self, row: Dict, line: int) -> Dict:

        def fail(column, problem):
            raise AnnotationError(f'{self.ann_file}: row {line}, column '
                                  f'{column!r}: {problem}')

        info = {}
        for key in ('narration_id', 'participant_id', 'video_id'):
            info[key] = row[key].strip()
            if not info[key]:
                fail(key, 'empty')
        for key, out in (('start_timestamp', 'segment_start'),
                         ('stop_timestamp', 'segment_stop')):
            try:
                info[out] = parse_timestamp(row[key])
            except ValueError as err:
                fail(key, err)
        if not info['segment_stop'] >= info['segment_start']:
            fail('stop_timestamp',
                 f"{row['stop_timestamp']!r} is before start_timestamp "
                 f"{row['start_timestamp']!r}")
        for key, out in (('verb_class', 'label'), ('noun_class',
                                                    'noun_label')):
            text = row[key].strip()
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value == int(value)
                    and value >= 0):
                fail(key, f'expected a class id (integer >= 0), got '
                     f'{text!r}')
            info[out] = int(value)
        return info

    def _placeholder(self, idx: int, data_info: Dict, err) -> Dict:
        """The mixin's placeholder, with this segment's noun label too."""
        packed = super()._placeholder(idx, data_info, err)
        sample = packed['data_samples']
        if 'noun_label' in sample:
            sample.set_field(
                format_label(data_info['noun_label']), 'noun_label')
        return packed
