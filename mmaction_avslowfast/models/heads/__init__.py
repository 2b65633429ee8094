from .avslowfast_head import AVSlowFastHead
from .epic_head import EpicKitchensHead

__all__ = ['AVSlowFastHead', 'EpicKitchensHead']
