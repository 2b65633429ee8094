import os.path as osp
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmaction.evaluation import AVAMetric, results2csv
from mmaction.registry import METRICS
from .ava_eval import ava_eval


@METRICS.register_module()
class RobustAVAMetric(AVAMetric):
    """MMAction2's ``AVAMetric`` that works on numpy 2 and on small machines.

    Same inputs, outputs and ``mAP/`` keys as ``AVAMetric``. ``process``
    drops the detections of placeholder samples flagged ``unreadable`` (see
    :mod:`mmaction_avslowfast.datasets.unreadable`), so the ground truth of
    an unreadable keyframe counts as missed. ``compute_metrics`` calls this
    plugin's
    :func:`~mmaction_avslowfast.evaluation.ava_eval`:

    * a class with detections but no GT gets AP ``nan`` (skipped in the mean)
      instead of the ``np.NAN`` ``AttributeError`` of numpy 2;
    * per-frame matching runs in ``num_workers`` processes (0: in-process)
      instead of a fixed ``Pool(32)``;
    * the temporary detections CSV goes to a private temporary directory, not
      the current working directory.

    Args:
        ann_file, exclude_file, label_file, options, action_thr, num_classes,
        custom_classes, collect_device, prefix: as ``AVAMetric``.
        num_workers (int): Processes for the evaluation. Default: 0.
        verbose (bool): Print per-class APs. Default: True.
    """

    def __init__(self,
                 ann_file: str,
                 exclude_file: str,
                 label_file: str,
                 options: Tuple[str] = ('mAP', ),
                 action_thr: float = 0.002,
                 num_classes: int = 81,
                 custom_classes: Optional[List[int]] = None,
                 num_workers: int = 0,
                 verbose: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        if tuple(options) != ('mAP', ):
            raise ValueError(f'RobustAVAMetric supports options=("mAP",), '
                             f'got {options}')
        super().__init__(
            ann_file=ann_file,
            exclude_file=exclude_file,
            label_file=label_file,
            options=options,
            action_thr=action_thr,
            num_classes=num_classes,
            custom_classes=custom_classes,
            collect_device=collect_device,
            prefix=prefix)
        self.num_workers = num_workers
        self.verbose = verbose

    def process(self, data_batch: Sequence[Any],
                data_samples: Sequence[Dict]) -> None:
        super().process(
            data_batch,
            [s for s in data_samples if not s.get('unreadable')])

    def compute_metrics(self, results: list) -> dict:
        with tempfile.TemporaryDirectory() as tmpdir:
            result_file = osp.join(tmpdir, 'ava_detections.csv')
            results2csv(results, result_file, self.custom_classes)
            return ava_eval(
                result_file,
                self.label_file,
                self.ann_file,
                self.exclude_file,
                custom_classes=self.custom_classes,
                ignore_empty_frames=True,
                num_workers=self.num_workers,
                verbose=self.verbose)
