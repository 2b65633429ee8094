"""Let ``--launcher pytorch`` start on machines without CUDA.

Upstream defect: mmengine 0.10.7 ``mmengine.dist.utils._init_dist_pytorch``
calls ``torch.cuda.set_device(LOCAL_RANK)`` unconditionally (unless an
MLU/NPU/MUSA device is present), so ``mim train ... --launcher pytorch`` on a
CPU-only machine dies with "Found no NVIDIA driver" before the gloo process
group is created. When CUDA is unavailable we skip only that call; with CUDA
the original function runs unchanged.

Belongs with the other stack fixes in ``mmaction_avslowfast/utils/compat.py``.
"""
import functools

import torch


def install_cpu_distributed_init() -> bool:
    """Patch ``_init_dist_pytorch`` for CPU-only machines. Idempotent.

    Returns:
        bool: True if the patch was installed by this call.
    """
    from mmengine.dist import utils as dist_utils

    original = dist_utils._init_dist_pytorch
    if getattr(original, '__mmaction_avslowfast_cpu__', False):
        return False

    @functools.wraps(original)
    def init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            raise RuntimeError(
                'env_cfg.dist_cfg.backend="nccl" needs CUDA, which is not '
                'available; use --cfg-options env_cfg.dist_cfg.backend=gloo')
        torch.distributed.init_process_group(backend=backend, **kwargs)

    init_dist_pytorch.__mmaction_avslowfast_cpu__ = True
    dist_utils._init_dist_pytorch = init_dist_pytorch
    return True


install_cpu_distributed_init()
