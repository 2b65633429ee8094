"""AVSlowFast for MMAction2.

Importing this package (directly or through a config's
``custom_imports = dict(imports=['mmaction_avslowfast'])``) first applies the
compatibility fixes for the pinned stack, then registers every module of the
plugin into MMAction2's registries under the ``mmaction`` scope.
"""
# The compatibility layer must run before anything imports mmaction.models.
from .utils import compat  # noqa: F401, isort: skip

from . import datasets, engine, evaluation, models  # noqa: F401, E402
from .version import __version__  # noqa: E402

__all__ = ['__version__']
