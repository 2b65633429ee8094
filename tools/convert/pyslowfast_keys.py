"""Map an AVSlowFast checkpoint of the author's PySlowFast fork onto ours.

The author's ``AVSlowFast`` (fanyix/SlowFast, ``video_model_builder.py``)
and this plugin's ``AVRecognizer3D`` hold the same 1023 tensors (R50); only
the names differ, and 60 tensors carry dummy size-1 axes in the reference
(avslowfast.md section 14). Reference module paths and where they land
(``backbone.`` prefix except the classifier)::

    s1.pathway{0,1}_stem.{conv,bn}      {slow,fast}_path.conv1.{conv,bn}
    s1.pathway2_stem.{conv_t,conv_f,bn} audio_path.conv1.{conv_t,conv_f,bn}
    s{k}.pathway{p}_res{i}.branch1[_bn] {path}.layer{k-1}.{i}.downsample.*
    s{k}.pathway{p}_res{i}.branch2.{a,b,c}[_bn]
                                        {path}.layer{k-1}.{i}.conv{1,2,3}.*
    s{k}.pathway2_res{i}.branch2.{t,f,out}[_bn]   (time-frequency blocks)
                                        audio_path.layer{k-1}.{i}.conv_*.*
    s{k}_fuse.{conv,bn}_f2s  (k <= 4)   slow_path.{conv1,layer{k-1}}_lateral
    s5_fuse.{conv,bn}_f2s    (AVS only) avs_fast_lateral_res5.{conv,bn}
    s{k}_fuse.{conv,bn}_a2fs_{j}        audio_laterals.{junction}.convs.{j}
    s{k}_fuse.avs.{ref_fc,query_fc}     avs_heads.{junction}.{visual,audio}_fc
    head.projection                     cls_head.fc_cls

with ``{junction}`` = pool1, res2, ..., res5 for ``s1_fuse`` ... ``s5_fuse``.
Dummy axes: audio-pathway convs are Conv3d ``[O, I, 1, kt, kf]`` there and
Conv2d ``[O, I, kt, kf]`` here (axis 2 dropped); the A->FS convs are Conv3d
``[O, I, 1, k, 1]`` there and Conv1d ``[O, I, k]`` here (axes 2 and 4
dropped). Nothing is ever permuted, and no other shape change is accepted.

Everything here refuses rather than guesses: :class:`ConversionError` names
every key it does not know, every target left unfilled and every shape it
cannot reconcile.
"""
import pickle
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch

MODULE_PREFIX = 'module.'
BN_SUFFIX = '_bn'
JUNCTIONS = ('pool1', 'res2', 'res3', 'res4', 'res5')
PATHWAYS = {'0': 'slow_path', '1': 'fast_path', '2': 'audio_path'}
# Transform layers of a PySlowFast bottleneck -> our ConvModule names.
BOTTLENECK = {'a': 'conv1', 'b': 'conv2', 'c': 'conv3'}
TIME_FREQ = {'t': 'conv_t', 'f': 'conv_f', 'out': 'conv_out'}
AUDIO_AXES = (2, )  # [O, I, 1, kt, kf] -> [O, I, kt, kf]
LATERAL_AXES = (2, 4)  # [O, I, 1, k, 1] -> [O, I, k]
RESAVE_HINT = (
    "re-save its weights only, in a trusted environment: "
    "ckpt = torch.load(IN, weights_only=False); "
    "torch.save({'model_state': ckpt['model_state']}, 'weights_only.pyth')")


class ConversionError(ValueError):
    """The checkpoint cannot be converted without guessing."""


def _layer(name: str) -> Tuple[str, bool]:
    """Split a PySlowFast layer name (``a_bn``) into (``a``, is_bn)."""
    if name.endswith(BN_SUFFIX):
        return name[:-len(BN_SUFFIX)], True
    return name, False


def _conv_or_bn(is_bn: bool) -> str:
    return 'bn' if is_bn else 'conv'


def _map_stem(match) -> Optional[Tuple[str, Tuple[int, ...]]]:
    pathway, layer = match.group(1), match.group(2)
    if pathway == '2':
        if layer not in ('conv_t', 'conv_f', 'bn'):
            return None
        return f'audio_path.conv1.{layer}', (
            () if layer == 'bn' else AUDIO_AXES)
    if layer not in ('conv', 'bn'):
        return None
    return f'{PATHWAYS[pathway]}.conv1.{layer}', ()


def _map_block(match) -> Optional[Tuple[str, Tuple[int, ...]]]:
    stage, pathway, block, rest = match.groups()
    stage = int(stage)
    prefix = f'{PATHWAYS[pathway]}.layer{stage - 1}.{block}'
    axes = AUDIO_AXES if pathway == '2' else ()
    if rest in ('branch1', 'branch1_bn'):
        is_bn = rest.endswith(BN_SUFFIX)
        return f'{prefix}.downsample.{_conv_or_bn(is_bn)}', (
            () if is_bn else axes)
    if not rest.startswith('branch2.'):
        return None
    layer, is_bn = _layer(rest[len('branch2.'):])
    # Audio blocks are time-frequency blocks (t, f, out) or bottlenecks
    # (a, b, c); which stage has which (res2/res3 time-frequency with the
    # released AUDIO_TRANS_NUM: 2) is checked against the model's keys.
    names = {**BOTTLENECK, **TIME_FREQ} if pathway == '2' else BOTTLENECK
    if layer not in names:
        return None
    return f'{prefix}.{names[layer]}.{_conv_or_bn(is_bn)}', (
        () if is_bn else axes)


def _map_fuse(match) -> Optional[Tuple[str, Tuple[int, ...]]]:
    stage, layer = int(match.group(1)), match.group(2)
    junction = JUNCTIONS[stage - 1]
    if layer in ('conv_f2s', 'bn_f2s'):
        kind = layer[:-len('_f2s')]
        if stage == 5:  # only built for the res5 AVS loss
            return f'avs_fast_lateral_res5.{kind}', ()
        lateral = 'conv1' if stage == 1 else f'layer{stage - 1}'
        return f'slow_path.{lateral}_lateral.{kind}', ()
    a2fs = re.fullmatch(r'(conv|bn)_a2fs_(\d+)', layer)
    if a2fs:
        kind, index = a2fs.groups()
        return f'audio_laterals.{junction}.convs.{index}.{kind}', (
            LATERAL_AXES if kind == 'conv' else ())
    avs = {'avs.ref_fc': 'visual_fc', 'avs.query_fc': 'audio_fc'}
    if layer in avs:
        return f'avs_heads.{junction}.{avs[layer]}', ()
    return None


# (module path pattern, mapper); the parameter name (weight, bias,
# running_mean, running_var, num_batches_tracked) is kept as it is.
_RULES = (
    (re.compile(r's1\.pathway([012])_stem\.(\w+)'), _map_stem),
    (re.compile(r's([2-5])\.pathway([012])_res(\d+)\.(branch1(?:_bn)?|'
                r'branch2\.\w+)'), _map_block),
    (re.compile(r's([1-5])_fuse\.(\w+|avs\.\w+)'), _map_fuse),
)
_PARAMS = ('weight', 'bias', 'running_mean', 'running_var',
           'num_batches_tracked')


def map_reference_key(key: str) -> Optional[Tuple[str, Tuple[int, ...]]]:
    """Our key for one reference key, and the size-1 axes to drop.

    Args:
        key (str): a ``model_state`` key of the reference, without the
            ``module.`` prefix, e.g. ``s3_fuse.avs.ref_fc.weight``.

    Returns:
        tuple[str, tuple[int]] | None: e.g.
        ``('backbone.avs_heads.res3.visual_fc.weight', ())``; None for a key
        that belongs to no known family.
    """
    module, _, param = key.rpartition('.')
    if param not in _PARAMS:
        return None
    if module == 'head.projection' and param in ('weight', 'bias'):
        return f'cls_head.fc_cls.{param}', ()
    for pattern, mapper in _RULES:
        match = pattern.fullmatch(module)
        if match:
            mapped = mapper(match)
            if mapped is None:
                return None
            target, axes = mapped
            return f'backbone.{target}.{param}', (
                axes if param == 'weight' else ())
    return None


def strip_module_prefix(state_dict: Dict) -> Tuple[Dict, bool]:
    """Drop the ``module.`` prefix a (Distributed)DataParallel run adds.

    Either every key has it or none; a mix is refused.

    Returns:
        tuple[OrderedDict, bool]: the state dict and whether it was stripped.
    """
    keys = list(state_dict)
    prefixed = [k for k in keys if k.startswith(MODULE_PREFIX)]
    if not prefixed:
        return state_dict, False
    if len(prefixed) != len(keys):
        plain = next(k for k in keys if not k.startswith(MODULE_PREFIX))
        raise ConversionError(
            f'{len(prefixed)} of {len(keys)} keys start with '
            f'{MODULE_PREFIX!r} but e.g. {plain!r} does not; refusing to '
            'guess which naming the checkpoint follows')
    return OrderedDict((k[len(MODULE_PREFIX):], v)
                       for k, v in state_dict.items()), True


def drop_axes(tensor: torch.Tensor, axes: Sequence[int],
              target: Sequence[int]) -> Optional[torch.Tensor]:
    """``tensor`` with the size-1 ``axes`` removed if that gives ``target``.

    Returns None when the shapes cannot be reconciled that way (an axis is
    not size 1, the rank or any remaining size differs). Never permutes.
    """
    shape = list(tensor.shape)
    target = list(target)
    if shape == target and not axes:
        return tensor
    if len(shape) != len(target) + len(axes) or not axes:
        return None
    if any(shape[axis] != 1 for axis in axes):
        return None
    if [d for i, d in enumerate(shape) if i not in axes] != target:
        return None
    for axis in sorted(axes, reverse=True):
        tensor = tensor.squeeze(axis)
    return tensor.contiguous()


def convert_state_dict(reference: Dict, target_shapes: Dict
                       ) -> Tuple['OrderedDict[str, torch.Tensor]', List]:
    """Rename and reshape a reference ``model_state`` into our naming.

    Args:
        reference (dict): reference key -> tensor (``module.`` stripped).
        target_shapes (dict): our key -> shape, from the built model's
            ``state_dict()``; every one of them must be filled.

    Returns:
        tuple: the converted state dict (in the order of ``target_shapes``)
        and one record per tensor, ``(reference key, our key, reference
        shape, our shape)``, in the reference order.

    Raises:
        ConversionError: naming every unknown key, every key mapped to a
            target the model does not have (or mapped twice), every shape
            that differs by more than the documented size-1 axes, and every
            target left unfilled.
    """
    problems, converted, records, sources = [], {}, [], {}
    for key, value in reference.items():
        if not isinstance(value, torch.Tensor):
            problems.append(f'{key}: not a tensor ({type(value).__name__})')
            continue
        mapped = map_reference_key(key)
        if mapped is None:
            problems.append(f'{key}: unknown reference key')
            continue
        target, axes = mapped
        if target not in target_shapes:
            problems.append(f'{key}: maps to {target}, which the model '
                            'does not have')
            continue
        if target in sources:
            problems.append(f'{key}: maps to {target}, already filled by '
                            f'{sources[target]}')
            continue
        shape = list(target_shapes[target])
        tensor = drop_axes(value, axes, shape)
        if tensor is None:
            allowed = (f'only size-1 axes {list(axes)} may be dropped'
                       if axes else 'no shape change is allowed')
            problems.append(
                f'{key}: shape {list(value.shape)} does not match {target} '
                f'{shape} ({allowed})')
            continue
        sources[target] = key
        converted[target] = tensor
        records.append((key, target, list(value.shape), shape))
    unfilled = [k for k in target_shapes if k not in converted]
    unknown = sum(p.endswith(': unknown reference key') for p in problems)
    problems += [f'{k}: not filled by any reference key' for k in unfilled]
    if problems:
        raise ConversionError(
            f'{len(problems)} problem(s) converting the checkpoint '
            f'({unknown} unknown reference key(s), {len(unfilled)} target(s) '
            'not filled, the rest mapped wrongly):\n  ' +
            '\n  '.join(problems))
    return OrderedDict((k, converted[k]) for k in target_shapes), records


def _unpickling_reason(error: Exception) -> str:
    """The gist of torch's weights-only refusal (``Unsupported global:
    GLOBAL yacs.config.CfgNode ...``), without its terminal escapes."""
    text = re.sub(r'\x1b\[[0-9;]*m', '', str(error))
    match = re.search(r'WeightsUnpickler error: ([^\n]*?)(?: Please use|\n|$)',
                      text)
    return match.group(1).strip() if match else ' '.join(text.split())


def load_reference_checkpoint(path: str) -> Dict:
    """Load a PySlowFast checkpoint with ``torch.load(weights_only=True)``.

    PySlowFast's ``save_checkpoint`` writes ``epoch`` (int),
    ``model_state``, ``optimizer_state`` (plain containers of tensors and
    numbers) and ``cfg`` (``cfg.dump()``, a YAML str), all of which load
    this way. Anything that needs other pickled objects (e.g. a yacs
    ``CfgNode`` saved as such) is refused, since unpickling it could run
    arbitrary code.

    Raises:
        ConversionError: the file needs unsafe unpickling, or it is not a
            dict with a ``model_state`` dict.
    """
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        reason = _unpickling_reason(error)
        raise ConversionError(
            f'refused to load {path}: it holds pickled objects beyond '
            f'tensors and plain containers ({reason}). Unpickling them could '
            f'run arbitrary code. If you trust the file, {RESAVE_HINT}, and '
            'convert that file.') from error
    if not isinstance(checkpoint, dict) or \
            not isinstance(checkpoint.get('model_state'), dict):
        found = (sorted(map(str, checkpoint)) if isinstance(checkpoint, dict)
                 else type(checkpoint).__name__)
        raise ConversionError(
            f'{path} is not a PySlowFast checkpoint: expected a dict with a '
            f"'model_state' dict, found {found}. For a bare state dict, "
            "save {'model_state': state_dict} first.")
    return checkpoint


def format_report(records: Sequence) -> List[str]:
    """The conversion table: reference key, our key, shape (change)."""
    width = max([len('reference key')] + [len(r[0]) for r in records])
    width_ours = max([len('our key')] + [len(r[1]) for r in records])
    lines = [f'{"reference key":<{width}}  {"our key":<{width_ours}}  shape']
    for ref_key, our_key, ref_shape, our_shape in records:
        shape = (str(our_shape) if ref_shape == our_shape else
                 f'{ref_shape} -> {our_shape}')
        lines.append(f'{ref_key:<{width}}  {our_key:<{width_ours}}  {shape}')
    return lines
