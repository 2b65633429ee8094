"""Convert an AVSlowFast checkpoint of the author's PySlowFast fork.

Reads a checkpoint written by PySlowFast's ``save_checkpoint`` in the
author's fork (fanyix/SlowFast): ``{'model_state': ..., 'epoch': ...,
'optimizer_state': ..., 'cfg': <yaml str>}``, with or without the
``module.`` prefix of a multi-GPU run. Writes an MMEngine checkpoint
``{'state_dict': ..., 'meta': {...}}`` for this plugin's ``AVRecognizer3D``
(``--config``, default ``configs/avslowfast_r50_kinetics.py``), usable as
``load_from`` or ``mim test ... --checkpoint OUT``.

Every reference key is mapped by name (see
``pyslowfast_keys.py`` beside this tool); the only shape change
allowed is dropping the reference's dummy size-1 axes of the audio-pathway
and A->FS convs. The tool prints every mapping (reference key, our key,
shape change) and stops with exit code 1, writing nothing, on any unknown
key, any tensor of the model left unfilled, any shape it cannot reconcile,
or a checkpoint that ``torch.load(weights_only=True)`` refuses. The result
is checked with ``load_state_dict(strict=True)`` on the built model before
it is written.

The optimizer state is not carried over: use the output to test, or as
``load_from`` to fine-tune from.

Usage::

    python tools/convert/convert_pyslowfast_checkpoint.py \\
        checkpoints/checkpoint_epoch_00196.pyth avslowfast_r50_4x16.pth
    python tools/convert/convert_pyslowfast_checkpoint.py IN OUT \\
        --config configs/avslowfast_r50_8x8_kinetics.py
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'avslowfast_r50_kinetics.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='PySlowFast checkpoint (IN)')
    parser.add_argument('out', help='MMEngine checkpoint to write (OUT)')
    parser.add_argument(
        '--config', default=DEFAULT_CONFIG,
        help='config whose model receives the weights (default: '
        'configs/avslowfast_r50_kinetics.py, R50 4x16)')
    return parser.parse_args(argv)


def build_model(config):
    """Build the config's model (weights are not initialised)."""
    # The plugin first: its compatibility fixes precede mmaction.models.
    import mmaction_avslowfast  # noqa: F401, isort: skip
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    return MODELS.build(Config.fromfile(config).model)


def _display_path(path):
    """``path`` relative to the repository when it lies inside it."""
    path = osp.abspath(path)
    return osp.relpath(path, ROOT) if path.startswith(ROOT + os.sep) \
        else path


def convert(args):
    """Convert ``args.checkpoint``; returns (checkpoint, report lines)."""
    from pyslowfast_keys import (
        ConversionError, convert_state_dict, format_report,
        load_reference_checkpoint, strip_module_prefix)

    reference = load_reference_checkpoint(args.checkpoint)
    state, stripped = strip_module_prefix(reference['model_state'])
    model = build_model(args.config)
    target_shapes = {k: tuple(v.shape)
                     for k, v in model.state_dict().items()}
    state_dict, records = convert_state_dict(state, target_shapes)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise ConversionError(
            'the converted weights do not load into '
            f'{_display_path(args.config)}: '
            f'{error}') from error

    reshaped = sum(1 for r in records if r[2] != r[3])
    meta = dict(
        converted_from='PySlowFast AVSlowFast (fanyix/SlowFast)',
        source=osp.basename(args.checkpoint),
        config=_display_path(args.config),
        num_tensors=len(records),
        num_reshaped=reshaped,
        module_prefix_stripped=stripped,
        converter='tools/convert/convert_pyslowfast_checkpoint.py')
    if isinstance(reference.get('epoch'), int):
        meta['pyslowfast_epoch'] = reference['epoch']
    if isinstance(reference.get('cfg'), str):
        meta['pyslowfast_cfg'] = reference['cfg']
    lines = format_report(records)
    lines.append(
        f'{len(records)} tensors mapped, {reshaped} with dummy size-1 axes '
        f'dropped; "module." prefix stripped: {"yes" if stripped else "no"}'
        f'; loads into {meta["config"]} with strict=True.')
    return dict(state_dict=state_dict, meta=meta), lines


def main(argv=None):
    """Run the conversion; returns the exit code (0 done, 1 refused)."""
    args = parse_args(argv)
    import torch

    from pyslowfast_keys import ConversionError
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        print('error: OUT must differ from IN', file=sys.stderr)
        return 1
    try:
        checkpoint, lines = convert(args)
    except (ConversionError, OSError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print('\n'.join(lines))
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(checkpoint, args.out)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
