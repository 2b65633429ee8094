from .avs_curriculum_hook import AVSCurriculumHook
from .bn_stats_hook import RecomputeBNStatsHook
from .checkpoint_match_hook import CheckpointMatchHook
from .drop_pathway_hook import DropPathwayHook
from .media_issues_hook import MediaIssuesHook

__all__ = [
    'AVSCurriculumHook', 'CheckpointMatchHook', 'DropPathwayHook',
    'MediaIssuesHook', 'RecomputeBNStatsHook'
]
