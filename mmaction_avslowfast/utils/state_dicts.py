"""A checkpoint's tensors against a model's, by key and shape.

One place builds the ``'key: checkpoint [..], model [..]'`` lines that the
pretrained-weight loader of the backbone and the test-time
:class:`~mmaction_avslowfast.engine.CheckpointMatchHook` print.
"""
from typing import Any, Dict, Mapping


def mismatched_shapes(own: Mapping[str, Any],
                      state_dict: Mapping[str, Any]) -> Dict[str, str]:
    """Every key of ``state_dict`` that ``own`` also has, with another shape.

    Args:
        own: The model's state dict (key -> tensor).
        state_dict: The checkpoint's (key -> tensor); values without a
            ``shape`` are skipped.

    Returns:
        dict: key -> ``'key: checkpoint [..], model [..]'``, in key order.
    """
    found = {}
    for key in sorted(state_dict):
        value = state_dict[key]
        if key in own and hasattr(value, 'shape') and \
                tuple(own[key].shape) != tuple(value.shape):
            found[key] = (f'{key}: checkpoint {list(value.shape)}, model '
                          f'{list(own[key].shape)}')
    return found


__all__ = ['mismatched_shapes']
