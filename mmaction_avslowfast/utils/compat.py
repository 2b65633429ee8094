"""Fixes for known defects of the pinned stack, applied when the plugin is imported.

Each fix names the upstream defect it works around, acts only when the defect is really
present, and never edits site-packages.
"""
import contextlib
import functools
import importlib
import importlib.util
import os
import os.path as osp
import pickle
import re
import sys
import tempfile
import threading
import types

DRN_MODULE = 'mmaction.models.localizers.drn'


def _mmaction_root():
    # find_spec('mmaction') only locates the top-level package; it does not import
    # mmaction.models (which is what fails).
    spec = importlib.util.find_spec('mmaction')
    if spec is None or spec.origin is None:
        return None
    return osp.dirname(spec.origin)


def drn_is_missing(mmaction_root=None):
    """Whether the installed mmaction2 lacks ``models/localizers/drn``."""
    root = mmaction_root or _mmaction_root()
    if root is None:
        return False
    return not osp.exists(osp.join(root, 'models', 'localizers', 'drn', 'drn.py'))


class _MissingDRN:
    """Stands in for ``DRN``, which the mmaction2 1.2.0 wheel does not ship."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'DRN is not available: the mmaction2 1.2.0 wheel does not ship '
            'mmaction/models/localizers/drn (open-mmlab/mmaction2#2714). '
            'Install mmaction2 from source to use DRN.')


def install_drn_shim():
    """Make ``import mmaction.models`` work on the mmaction2 1.2.0 wheel.

    Upstream defect: open-mmlab/mmaction2#2714. The 1.2.0 wheel and sdist lack
    ``mmaction/models/localizers/drn`` (no ``__init__.py``, so ``find_packages``
    skipped it) while ``mmaction/models/localizers/__init__.py`` imports
    ``from .drn.drn import DRN``. We register placeholder modules for the missing
    package only when it is really missing; source installs are left alone.

    Returns:
        bool: True if the shim was installed.
    """
    if DRN_MODULE in sys.modules or not drn_is_missing():
        return False
    package = types.ModuleType(DRN_MODULE)
    package.__path__ = []
    module = types.ModuleType(DRN_MODULE + '.drn')
    module.DRN = _MissingDRN
    package.drn = module
    sys.modules[DRN_MODULE] = package
    sys.modules[DRN_MODULE + '.drn'] = module
    return True


install_drn_shim()


# --------------------------------------------------------------------------
# Safe loading of MMEngine runner checkpoints on torch >= 2.6
# --------------------------------------------------------------------------
# Upstream defect: torch >= 2.6 defaults ``torch.load`` to ``weights_only=True``,
# and mmengine 0.10.7 (open-mmlab/mmengine#1655; fixed only after 0.10.7 by
# commit 151a87a, #1670, unreleased) calls ``torch.load`` without it. Runner
# checkpoints hold message-hub ``HistoryBuffer`` objects, numpy scalars and arrays,
# and ``getattr(HistoryBuffer, 'min')``-style references to its statistics
# methods, so ``--resume`` and ``load_from`` fail with "Unsupported global".
#
# Instead of turning ``weights_only`` off (which would let a checkpoint run any
# callable), every mmengine checkpoint loader runs inside a scoped allowlist of
# exactly those objects. ``getattr`` is replaced by a restricted version that only
# resolves HistoryBuffer's own methods. Anything else is refused with a clear error
# unless the user opts in with ALLOW_UNSAFE_ENV=1 for a checkpoint they trust.
ALLOW_UNSAFE_ENV = 'MMACTION_AVSLOWFAST_ALLOW_UNSAFE_CHECKPOINTS'


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint needs pickle globals outside the safe allowlist."""


def _history_buffer_class():
    from mmengine.logging.history_buffer import HistoryBuffer
    return HistoryBuffer


def _restricted_getattr(obj, name, *default):
    """``getattr`` limited to the statistics methods of ``HistoryBuffer``."""
    history_buffer = _history_buffer_class()
    attribute = getattr(obj, name, None) if obj is history_buffer else None
    if not (isinstance(name, str) and not name.startswith('_')
            and callable(attribute)
            and getattr(attribute, '__qualname__', '').startswith('HistoryBuffer.')):
        raise UnsafeCheckpointError(
            f'checkpoint asks for getattr({obj!r}, {name!r}), which is not a '
            'HistoryBuffer statistics method')
    return attribute


def _numpy_safe_globals():
    import numpy as np
    entries = [np.ndarray, np.dtype]
    entries += [dtype_class for dtype_class in vars(getattr(np, 'dtypes', object)).values()
                if isinstance(dtype_class, type) and issubclass(dtype_class, np.dtype)]
    # numpy 2 pickles through numpy._core, numpy 1 through numpy.core.
    for module_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        entries += [(module._reconstruct, f'{module_name}._reconstruct'),
                    (module.scalar, f'{module_name}.scalar')]
    return entries


def checkpoint_safe_globals():
    """The allowlist of pickle globals an MMEngine runner checkpoint needs."""
    return [_history_buffer_class(), (_restricted_getattr, 'builtins.getattr'),
            *_numpy_safe_globals()]


def unsafe_loading_allowed():
    return os.environ.get(ALLOW_UNSAFE_ENV, '').lower() in ('1', 'true', 'yes')


def _load_local_unsafe(filename, map_location):
    import torch
    return torch.load(osp.expanduser(filename), map_location=map_location,
                      weights_only=False)


def _safe_loader(loader):
    """Wrap an mmengine checkpoint loader so it runs with the allowlist."""
    import torch

    @functools.wraps(loader)  # keeps __name__: mmengine logs it
    def load(filename, *args, **kwargs):
        try:
            with torch.serialization.safe_globals(checkpoint_safe_globals()):
                return loader(filename, *args, **kwargs)
        except (pickle.UnpicklingError, UnsafeCheckpointError) as error:
            if unsafe_loading_allowed() and loader.__name__ == 'load_from_local':
                return _load_local_unsafe(filename, *args, **kwargs)
            raise UnsafeCheckpointError(
                f'Refused to load checkpoint {filename!r}: it contains pickled '
                'objects outside the allowlist of MMEngine checkpoints (a file '
                'that was not written by an MMEngine runner, or a malicious '
                f'one). Reason: {error}. If you trust this file, set '
                f'{ALLOW_UNSAFE_ENV}=1 to load it with weights_only=False.'
            ) from error

    load.__mmaction_avslowfast_safe__ = True
    return load


def install_safe_checkpoint_loading():
    """Run every registered mmengine checkpoint loader with the allowlist.

    Only needed (and only applied) when torch >= 2.6 loads with weights_only by
    default. Idempotent.

    Returns:
        bool: True if loaders were wrapped by this call.
    """
    import torch
    from mmengine.runner.checkpoint import CheckpointLoader
    if not hasattr(torch.serialization, 'safe_globals'):
        return False  # torch < 2.5: mmengine's weights_only=False default applies
    wrapped = False
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if getattr(loader, '__mmaction_avslowfast_safe__', False):
            continue
        CheckpointLoader.register_scheme(prefix, _safe_loader(loader), force=True)
        wrapped = True
    return wrapped


install_safe_checkpoint_loading()


# --------------------------------------------------------------------------
# `--launcher pytorch` on machines without CUDA
# --------------------------------------------------------------------------
# Upstream defect: mmengine 0.10.7 ``mmengine.dist.utils._init_dist_pytorch``
# calls ``torch.cuda.set_device(LOCAL_RANK)`` unconditionally (unless an
# MLU/NPU/MUSA device is present), so ``mim train ... --launcher pytorch`` on a
# CPU-only machine dies with "Found no NVIDIA driver" before any process group
# exists. Without CUDA we skip only that call, and an NCCL request (the GPU
# default of our Kinetics configs) becomes gloo, the one backend that runs on
# CPU. With CUDA the original function runs unchanged.
def install_cpu_distributed_init():
    """Let mmengine's PyTorch launcher start on CPU-only machines. Idempotent.

    Returns:
        bool: True if the fix was installed by this call.
    """
    import torch
    from mmengine.dist import utils as dist_utils

    original = dist_utils._init_dist_pytorch
    if getattr(original, '__mmaction_avslowfast_cpu__', False):
        return False

    @functools.wraps(original)
    def init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            from mmengine.logging import print_log
            print_log('CUDA is not available: using the gloo backend instead of nccl '
                      'for distributed training on CPU.', logger='current')
            backend = 'gloo'
        torch.distributed.init_process_group(backend=backend, **kwargs)

    init_dist_pytorch.__mmaction_avslowfast_cpu__ = True
    dist_utils._init_dist_pytorch = init_dist_pytorch
    return True


install_cpu_distributed_init()


# --------------------------------------------------------------------------
# PyAV's libraries before decord's
# --------------------------------------------------------------------------
# Upstream defect: decord 0.6.0 loads libdecord with ``RTLD_GLOBAL``
# (``decord/_ffi/base.py``: ``ctypes.CDLL(lib, ctypes.RTLD_GLOBAL)``), and
# its wheel's FFmpeg 4.1 exports the libvpx symbols it was built with. A
# PyAV imported *after* decord resolves its own libvpx calls to those, and
# every VP8 / VP9 encoder then fails to open (``avcodec_open2("libvpx",
# {}) returned 22``): writing WebM (``tools/data/resize_videos.py``, the
# synthetic media) breaks in any process that touched decord first, e.g.
# a test run in another order. Loaded first, PyAV keeps its own. The plugin
# is imported (``custom_imports``) before any data set or transform opens
# a file, so importing PyAV here orders every process that uses it.
def load_pyav_before_decord() -> bool:
    """Import PyAV unless decord is loaded already (then nothing can be
    done in this process); whether PyAV's libraries came first."""
    names = list(sys.modules)  # in import order
    if 'decord' in names:
        return 'av' in names and names.index('av') < names.index('decord')
    importlib.import_module('av')
    return True


load_pyav_before_decord()


# --------------------------------------------------------------------------
# decord's own lines on stderr
# --------------------------------------------------------------------------
# Upstream defect: decord 0.6.0 writes to the process's stderr whatever it
# meets (dmlc/decord#272 "Silence Error Messages", #299): FFmpeg's log
# (``[mov,mp4,m4a,3gp,3g2,mj2 @ 0x...] moov atom not found``) and, before
# it raises, its own dmlc log line (``[21:00:58] .../video_reader.cc:83:
# ERROR opening: ...``). ``decord.logging.set_level`` reaches the first
# kind only; the second is written by C++ (``LOG(FATAL)`` logs before it
# throws). Every unreadable file therefore printed two lines per epoch and
# worker, ahead of the one line MediaIssuesHook logs for it, with the same
# reason that the raised error carries. ``decoder_stderr_filtered`` sends
# fd 2 to a per-process temporary file while decord runs and writes back
# what is not one of those lines (so other output of the process in that
# time is kept, only delayed).
_DECODER_NOISE = re.compile(
    rb'^(\[[\w,]+ @ 0x[0-9a-f]+\] '  # FFmpeg's av_log
    rb'|\[\d\d:\d\d:\d\d\] \S+\.(cc|h):\d+: '  # dmlc LOG()
    rb'|\s*\[bt\] \(\d+\) |Stack trace)')  # dmlc stack traces
_stderr_lock = threading.Lock()
_stderr_state = dict(depth=0, saved=None, sink=None, pid=None)


def _reset_stderr_state():  # a forked child starts without redirection
    global _stderr_lock
    if _stderr_state['saved'] is not None:  # forked while redirected
        os.dup2(_stderr_state['saved'], 2)
        os.close(_stderr_state['saved'])
    _stderr_lock = threading.Lock()
    _stderr_state.update(depth=0, saved=None, sink=None, pid=None)


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_reset_stderr_state)


def drop_decoder_noise(data: bytes) -> bytes:
    """``data`` without the lines of FFmpeg's and decord's loggers."""
    return b''.join(line for line in data.splitlines(keepends=True)
                    if not _DECODER_NOISE.match(line))


def _redirect_stderr():
    state = _stderr_state
    if state['pid'] != os.getpid() or state['sink'] is None:
        state.update(sink=tempfile.TemporaryFile(), pid=os.getpid())
    sys.stderr.flush()
    state['saved'] = os.dup(2)
    os.dup2(state['sink'].fileno(), 2)


def _restore_stderr():
    state = _stderr_state
    try:
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stream
        pass
    os.dup2(state['saved'], 2)
    os.close(state['saved'])
    state['saved'] = None
    sink = state['sink']
    sink.seek(0)
    kept = drop_decoder_noise(sink.read())
    sink.seek(0)
    sink.truncate()
    if kept:
        os.write(2, kept)


@contextlib.contextmanager
def decoder_stderr_filtered():
    """Run decord without its stderr lines (see above). Reentrant and
    thread-safe: the first entry redirects fd 2 and the last exit restores
    it; each process (data-loader workers included) has its own file."""
    with _stderr_lock:
        if _stderr_state['depth'] == 0:
            _redirect_stderr()
        _stderr_state['depth'] += 1
    try:
        yield
    finally:
        with _stderr_lock:
            _stderr_state['depth'] -= 1
            if _stderr_state['depth'] == 0:
                _restore_stderr()
