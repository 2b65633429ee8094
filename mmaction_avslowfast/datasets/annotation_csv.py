"""Official annotation CSVs (EPIC-Kitchens, Charades, Kinetics), read by
header name: what a malformed one raises."""
from typing import Optional, Sequence


class AnnotationError(ValueError):
    """A malformed annotation file; the message names the file (and the
    row and column where there is one)."""


def check_header(fieldnames: Optional[Sequence[str]],
                 required: Sequence[str], path: str, what: str) -> None:
    """Raise :class:`AnnotationError` naming the ``required`` columns the
    header ``fieldnames`` lacks; ``what`` names the official file (e.g.
    ``'an EPIC-Kitchens-100 annotation CSV'``)."""
    columns = list(fieldnames or ())
    missing = [c for c in required if c not in columns]
    if missing:
        raise AnnotationError(
            f'{path}: no column {missing} in the header {columns}; {what} '
            f'has {list(required)}')


__all__ = ['AnnotationError', 'check_header']
