from .acc_metric import AVAccMetric, rank_unreadable_last
from .ava_eval import average_precision, ava_eval
from .ava_metric import RobustAVAMetric
from .avsync_metric import AVSyncMetric
from .charades_metric import CharadesMetric
from .epic_metric import EpicKitchensMetric

__all__ = [
    'average_precision', 'ava_eval', 'RobustAVAMetric', 'AVAccMetric',
    'rank_unreadable_last', 'AVSyncMetric', 'CharadesMetric',
    'EpicKitchensMetric'
]
