from .audio_pathway import (AudioBasicBlock, AudioBottleneck,
                            AudioTimeFreqStem, AVSlowFastAudioPathway,
                            TimeFreqBlock)
from .avs_modules import (AudioToSlowFastLateral, AVSNegativeCurriculum,
                          AVSyncHead, drop_pathway_draw, easy_negative_index,
                          valid_avs_pairs)
from .avslowfast import AVSlowFast

__all__ = [
    'AVSlowFast', 'AVSlowFastAudioPathway', 'AudioTimeFreqStem',
    'TimeFreqBlock', 'AudioBottleneck', 'AudioBasicBlock',
    'AudioToSlowFastLateral', 'AVSNegativeCurriculum', 'AVSyncHead',
    'drop_pathway_draw', 'easy_negative_index', 'valid_avs_pairs'
]
