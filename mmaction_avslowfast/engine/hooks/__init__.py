from .drop_pathway_hook import DropPathwayHook

__all__ = ['DropPathwayHook']
