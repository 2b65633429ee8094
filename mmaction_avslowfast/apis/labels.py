"""Class names for predictions: label maps and top-k lists."""
import os.path as osp
from typing import List, NamedTuple, Optional, Sequence

import numpy as np

_DATA_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data')
# Label maps shipped with the package (MMAction2's one-name-per-line format),
# usable by name wherever a label-map file is accepted.
BUILTIN_LABEL_MAPS = {'k400': osp.join(_DATA_DIR, 'label_map_k400.txt')}


class RankedClass(NamedTuple):
    """One entry of a top-k list."""
    index: int
    name: str
    score: float


def resolve_label_map(name_or_path: str) -> str:
    """Path of a label map given as a file or as the name of a shipped one
    (``'k400'``: the Kinetics-400 names of MMAction2's
    ``tools/data/kinetics/label_map_k400.txt``)."""
    if osp.isfile(name_or_path):
        return name_or_path
    if name_or_path in BUILTIN_LABEL_MAPS:
        return BUILTIN_LABEL_MAPS[name_or_path]
    raise FileNotFoundError(
        f'label map {name_or_path!r} is neither a file nor one of the '
        f'shipped maps {sorted(BUILTIN_LABEL_MAPS)}')


def read_label_map(name_or_path: str) -> List[str]:
    """Class names, one per non-empty line (MMAction2's label-map format).

    Args:
        name_or_path (str): A file, or a shipped map's name (``'k400'``).

    Returns:
        list[str]: ``names[i]`` is the name of class ``i``.
    """
    with open(resolve_label_map(name_or_path), encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def class_names_of(model, num_classes: int,
                   label_map: Optional[str] = None) -> Optional[List[str]]:
    """The class names to print: ``label_map`` if given, else the
    ``classes`` of the checkpoint's ``meta['dataset_meta']`` (kept by
    :func:`init_av_recognizer` in ``model.dataset_meta``), else None
    (callers then print class indices).

    Raises:
        ValueError: the names do not match the model's ``num_classes``.
    """
    if label_map is not None:
        names, source = read_label_map(label_map), label_map
    else:
        meta = getattr(model, 'dataset_meta', None) or {}
        names, source = meta.get('classes'), "the checkpoint's dataset_meta"
        if not names:
            return None
        names = [str(name) for name in names]
    if len(names) != num_classes:
        raise ValueError(f'{source} names {len(names)} classes but the model '
                         f'predicts {num_classes}')
    return names


def topk_classes(scores: np.ndarray, k: int,
                 class_names: Optional[Sequence[str]] = None
                 ) -> List[RankedClass]:
    """The ``k`` best classes of one score vector, best first.

    Args:
        scores (np.ndarray): ``[num_classes]`` scores.
        k (int): How many (at most ``num_classes``).
        class_names (Sequence[str], optional): Names; default ``'class i'``.

    Returns:
        list[RankedClass]: ``(index, name, score)`` by decreasing score (ties
        by increasing index).
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind='stable')[:max(int(k), 0)]
    return [
        RankedClass(int(i), class_label(int(i), class_names),
                    float(scores[i])) for i in order
    ]


def class_label(index: int,
                class_names: Optional[Sequence[str]] = None) -> str:
    """``class_names[index]``, or ``'class <index>'`` without names."""
    return class_names[index] if class_names else f'class {index}'
