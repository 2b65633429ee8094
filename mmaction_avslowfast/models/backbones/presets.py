"""Backbone settings of the author's released AVSlowFast models, as config dicts.

Configs spell these out in full (MMAction2 style); the benchmark and the tests
build from these functions so that both measure exactly the released setting.
"""
import copy


def reference_avslowfast(depth: int = 50, variant: str = '4x16', **overrides) -> dict:
    """``AVSlowFast`` backbone config of the author's released model.

    F->S and A->FS laterals only after res3 and res4, AVS after res3, res4 and
    res5, 32-frame clips and 128 log-mel frames.

    Args:
        depth (int): 50 or 101 (the audio pathway follows). Default: 50.
        variant (str): ``'4x16'`` (Slow 4 frames, F->S kernel 5) or ``'8x8'``
            (Slow 8 frames, F->S kernel 7). Default: ``'4x16'``.
        **overrides: Top-level backbone arguments to replace.
    """
    if variant not in ('4x16', '8x8'):
        raise ValueError(f"variant must be '4x16' or '8x8', got {variant!r}")
    tau = 8 if variant == '4x16' else 4
    # PySlowFast's NUM_BLOCK_TEMP_KERNEL [[3,3],[4,4],[6,6],[3,3]]: only the
    # first 6 res4 blocks get a temporal kernel (matters for R101).
    res4 = (1, ) * 6 + (0, ) * ((23 if depth == 101 else 6) - 6)
    cfg = dict(
        type='AVSlowFast',
        resample_rate=tau,
        speed_ratio=tau,
        channel_ratio=8,
        slow_pathway=dict(
            type='resnet3d',
            depth=depth,
            pretrained=None,
            lateral=True,
            lateral_norm=True,
            fusion_kernel=5 if variant == '4x16' else 7,
            conv1_kernel=(1, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=(0, 0, res4, 1)),
        fast_pathway=dict(
            type='resnet3d',
            depth=depth,
            pretrained=None,
            lateral=False,
            base_channels=8,
            conv1_kernel=(5, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=(1, 1, res4, 1)),
        fs_fusion=(False, False, True, True),
        afs_fusion=(False, False, True, True),
        avs_stages=(False, False, True, True, True),
        clip_len=32,
        audio_frames=128)
    cfg.update(copy.deepcopy(overrides))
    return cfg
