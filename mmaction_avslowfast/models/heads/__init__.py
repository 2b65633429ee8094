from .avslowfast_head import AVSlowFastHead

__all__ = ['AVSlowFastHead']
