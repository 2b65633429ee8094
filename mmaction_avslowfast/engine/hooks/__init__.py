from . import cpu_distributed  # noqa: F401  (patches mmengine's dist init)
from .drop_pathway_hook import DropPathwayHook

__all__ = ['DropPathwayHook']
