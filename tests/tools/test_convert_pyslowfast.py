"""tools/convert/convert_pyslowfast_checkpoint.py on synthesized reference weights.

The reference checkpoints are written here in the naming of the author's
PySlowFast fork (avslowfast.md section 14), independently of the converter:
:func:`reference_key` inverts the section-14 table for every tensor of our
built model and :func:`reference_tensor` adds the reference's dummy size-1
axes; ``LITERAL`` pins a handful of reference names and shapes written out
by hand (from the fork's module names), so the test does not merely
round-trip a mapping the converter made up. Every tensor holds distinct
values (``arange`` minus its index), so any swap, permutation or misplaced
tensor changes what lands in the model.
"""
import os.path as osp
import re

import pytest
import torch
from tool_helpers import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
R50 = osp.join(ROOT, 'configs', 'avslowfast_r50_kinetics.py')
R101_8X8 = osp.join(ROOT, 'configs', 'avslowfast_r101_8x8_kinetics.py')
CFG_YAML = 'MODEL:\n  ARCH: avslowfast\nRESNET:\n  DEPTH: 50\n'

# (reference key, reference shape, our key) for R50 4x16, written by hand.
LITERAL = [
    ('s1.pathway0_stem.conv.weight', [64, 3, 1, 7, 7],
     'backbone.slow_path.conv1.conv.weight'),
    ('s1.pathway1_stem.bn.running_mean', [8],
     'backbone.fast_path.conv1.bn.running_mean'),
    ('s1.pathway2_stem.conv_t.weight', [32, 1, 1, 9, 1],
     'backbone.audio_path.conv1.conv_t.weight'),
    ('s1.pathway2_stem.conv_f.weight', [32, 1, 1, 1, 9],
     'backbone.audio_path.conv1.conv_f.weight'),
    ('s2.pathway2_res0.branch2.t.weight', [32, 32, 1, 3, 1],
     'backbone.audio_path.layer1.0.conv_t.conv.weight'),
    ('s2.pathway2_res0.branch2.f.weight', [32, 32, 1, 1, 3],
     'backbone.audio_path.layer1.0.conv_f.conv.weight'),
    ('s3.pathway2_res0.branch2.out_bn.running_var', [256],
     'backbone.audio_path.layer2.0.conv_out.bn.running_var'),
    ('s3.pathway2_res0.branch1.weight', [256, 128, 1, 1, 1],
     'backbone.audio_path.layer2.0.downsample.conv.weight'),
    ('s4.pathway2_res5.branch2.b.weight', [128, 128, 1, 3, 3],
     'backbone.audio_path.layer3.5.conv2.conv.weight'),
    ('s4.pathway0_res0.branch2.a.weight', [256, 640, 3, 1, 1],
     'backbone.slow_path.layer3.0.conv1.conv.weight'),
    ('s5.pathway1_res0.branch1_bn.num_batches_tracked', [],
     'backbone.fast_path.layer4.0.downsample.bn.num_batches_tracked'),
    ('s3_fuse.conv_f2s.weight', [128, 64, 5, 1, 1],
     'backbone.slow_path.layer2_lateral.conv.weight'),
    ('s4_fuse.bn_f2s.running_mean', [256],
     'backbone.slow_path.layer3_lateral.bn.running_mean'),
    ('s5_fuse.conv_f2s.weight', [512, 256, 5, 1, 1],
     'backbone.avs_fast_lateral_res5.conv.weight'),
    ('s3_fuse.conv_a2fs_0.weight', [64, 256, 1, 5, 1],
     'backbone.audio_laterals.res3.convs.0.conv.weight'),
    ('s4_fuse.conv_a2fs_1.weight', [1280, 64, 1, 5, 1],
     'backbone.audio_laterals.res4.convs.1.conv.weight'),
    ('s5_fuse.bn_a2fs_1.bias', [2560],
     'backbone.audio_laterals.res5.convs.1.bn.bias'),
    ('s3_fuse.avs.ref_fc.weight', [64, 640],
     'backbone.avs_heads.res3.visual_fc.weight'),
    ('s3_fuse.avs.query_fc.weight', [64, 640],
     'backbone.avs_heads.res3.audio_fc.weight'),
    ('s4_fuse.avs.ref_fc.bias', [64],
     'backbone.avs_heads.res4.visual_fc.bias'),
    ('s4_fuse.avs.query_fc.bias', [64],
     'backbone.avs_heads.res4.audio_fc.bias'),
    ('head.projection.weight', [400, 3328], 'cls_head.fc_cls.weight'),
]

PATHWAY = {'slow': 0, 'fast': 1, 'audio': 2}
ABC = {'1': 'a', '2': 'b', '3': 'c'}


def _layer(name, kind):
    return name + ('_bn' if kind == 'bn' else '')


def reference_key(ours):
    """The section-14 table read from right to left: our key -> reference.
    """
    m = re.fullmatch(r'cls_head\.fc_cls\.(\w+)', ours)
    if m:
        return f'head.projection.{m[1]}'
    ours = ours[len('backbone.'):]
    m = re.fullmatch(r'(slow|fast|audio)_path\.conv1\.(\w+)\.(\w+)', ours)
    if m:
        return f's1.pathway{PATHWAY[m[1]]}_stem.{m[2]}.{m[3]}'
    m = re.fullmatch(r'(slow|fast|audio)_path\.layer(\d)\.(\d+)\.'
                     r'(downsample|conv[123]|conv_t|conv_f|conv_out)\.'
                     r'(conv|bn)\.(\w+)', ours)
    if m:
        path, layer, block, module, kind, param = m.groups()
        if module == 'downsample':
            name = 'branch1'
        elif module.startswith('conv_'):
            name = 'branch2.' + module[len('conv_'):]
        else:
            name = 'branch2.' + ABC[module[-1]]
        return (f's{int(layer) + 1}.pathway{PATHWAY[path]}_res{block}.'
                f'{_layer(name, kind)}.{param}')
    m = re.fullmatch(r'slow_path\.layer(\d)_lateral\.(conv|bn)\.(\w+)', ours)
    if m:
        return f's{int(m[1]) + 1}_fuse.{m[2]}_f2s.{m[3]}'
    m = re.fullmatch(r'avs_fast_lateral_res5\.(conv|bn)\.(\w+)', ours)
    if m:
        return f's5_fuse.{m[1]}_f2s.{m[2]}'
    m = re.fullmatch(r'audio_laterals\.res(\d)\.convs\.(\d)\.(conv|bn)\.'
                     r'(\w+)', ours)
    if m:
        return f's{m[1]}_fuse.{m[3]}_a2fs_{m[2]}.{m[4]}'
    m = re.fullmatch(r'avs_heads\.res(\d)\.(visual|audio)_fc\.(\w+)', ours)
    if m:
        fc = dict(visual='ref_fc', audio='query_fc')[m[2]]
        return f's{m[1]}_fuse.avs.{fc}.{m[3]}'
    raise AssertionError(f'section 14 has no family for {ours}')


def reference_tensor(ours, tensor):
    """Add the reference's dummy size-1 axes: Conv2d [O, I, kt, kf] ->
    Conv3d [O, I, 1, kt, kf] in the audio pathway, Conv1d [O, I, k] ->
    Conv3d [O, I, 1, k, 1] in the A->FS laterals."""
    if ours.startswith('backbone.audio_path.') and tensor.dim() == 4:
        return tensor.unsqueeze(2)
    if ours.startswith('backbone.audio_laterals.') and tensor.dim() == 3:
        return tensor.unsqueeze(2).unsqueeze(4)
    return tensor


def build(config):
    import mmaction_avslowfast  # noqa: F401, isort: skip
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    return MODELS.build(Config.fromfile(config).model)


def synthesize(model):
    """(expected: our key -> tensor, reference model_state, reshaped keys).
    Tensor i holds arange(numel) - i: distinct within a tensor and between
    tensors of one shape; exact in float32."""
    expected, reference, reshaped = {}, {}, []
    for i, (key, value) in enumerate(model.state_dict().items()):
        if value.dtype == torch.int64:
            tensor = torch.tensor(i, dtype=torch.int64)
        else:
            tensor = (torch.arange(value.numel(), dtype=torch.float32) -
                      i).reshape(value.shape)
        expected[key] = tensor
        ref = reference_tensor(key, tensor)
        if ref.shape != tensor.shape:
            reshaped.append(key)
        ref_key = reference_key(key)
        assert ref_key not in reference
        reference[ref_key] = ref
    return expected, reference, reshaped


@pytest.fixture(scope='module')
def tool():
    return load_tool('convert/convert_pyslowfast_checkpoint.py')


@pytest.fixture(scope='module')
def r50():
    model = build(R50)
    expected, reference, reshaped = synthesize(model)
    return dict(model=model, expected=expected, reference=reference,
                reshaped=reshaped)


def save_reference(path, model_state, prefix='', **extra):
    """Write what PySlowFast's save_checkpoint writes: epoch, model_state,
    optimizer_state (a real SGD state dict) and cfg (``cfg.dump()``)."""
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    param.sum().backward()
    optimizer.step()
    checkpoint = dict(
        epoch=3, cfg=CFG_YAML,
        model_state={prefix + k: v for k, v in model_state.items()},
        optimizer_state=optimizer.state_dict())
    checkpoint.update(extra)
    torch.save(checkpoint, str(path))
    return str(path)


def check_loaded(model, out, expected):
    """Load OUT strictly as MMEngine does and compare every tensor."""
    from mmengine.runner import load_checkpoint
    checkpoint = load_checkpoint(model, out, map_location='cpu', strict=True)
    assert list(checkpoint['state_dict']) == list(expected)
    loaded = model.state_dict()
    wrong = [k for k, v in expected.items() if not torch.equal(loaded[k], v)]
    assert not wrong, f'{len(wrong)} tensors misplaced, e.g. {wrong[:5]}'
    return checkpoint


def test_reference_naming_matches_section_14(r50):
    reference = r50['reference']
    assert len(reference) == 1023
    assert len(r50['reshaped']) == 60
    for ref_key, shape, _ in LITERAL:
        assert list(reference[ref_key].shape) == shape, ref_key


@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_convert_r50(tool, r50, tmp_path, capsys, prefix):
    src = save_reference(tmp_path / 'checkpoint_epoch_00004.pyth',
                         r50['reference'], prefix)
    out = str(tmp_path / 'converted.pth')
    assert tool.main([src, out]) == 0
    report = capsys.readouterr().out.splitlines()

    checkpoint = check_loaded(r50['model'], out, r50['expected'])
    state = checkpoint['state_dict']
    for ref_key, _, ours in LITERAL:
        ref = r50['reference'][ref_key]
        assert torch.equal(state[ours], ref.reshape(state[ours].shape)), \
            f'{ref_key} did not land at {ours}'
    meta = checkpoint['meta']
    assert meta['num_tensors'] == 1023 and meta['num_reshaped'] == 60
    assert meta['module_prefix_stripped'] == bool(prefix)
    assert meta['pyslowfast_epoch'] == 3 and meta['pyslowfast_cfg'] == \
        CFG_YAML

    # The table: one row per tensor, the shape change where there is one.
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in report
            if line.split() and line.split()[0] in r50['reference']}
    assert len(rows) == 1023
    assert rows['s3_fuse.avs.ref_fc.weight'] == [
        'backbone.avs_heads.res3.visual_fc.weight', '[64, 640]']
    assert rows['s1.pathway2_stem.conv_t.weight'] == [
        'backbone.audio_path.conv1.conv_t.weight',
        '[32, 1, 1, 9, 1] -> [32, 1, 9, 1]']
    assert rows['s4_fuse.conv_a2fs_1.weight'] == [
        'backbone.audio_laterals.res4.convs.1.conv.weight',
        '[1280, 64, 1, 5, 1] -> [1280, 64, 5]']
    assert sum('->' in row[1] for row in rows.values()) == 60
    assert any(line.startswith('1023 tensors mapped, 60 with dummy size-1 '
                               'axes dropped; "module." prefix stripped: ' +
                               ('yes' if prefix else 'no'))
               for line in report)


def test_convert_r101_8x8(tool, tmp_path, capsys):
    model = build(R101_8X8)
    expected, reference, reshaped = synthesize(model)
    assert len(reference) == 1941 and len(reshaped) == 60 + 3 * 17
    # F->S kernel 7 in the 8x8 models
    assert list(reference['s3_fuse.conv_f2s.weight'].shape) == \
        [128, 64, 7, 1, 1]
    src = save_reference(tmp_path / 'r101.pyth', reference, 'module.')
    out = str(tmp_path / 'r101.pth')
    assert tool.main([src, out, '--config', R101_8X8]) == 0
    capsys.readouterr()
    check_loaded(model, out, expected)


def test_unknown_key_is_refused(tool, r50, tmp_path, capsys):
    """A key of no known family (here a non-local block, which the released
    models do not have) in an otherwise complete checkpoint: exit code 1,
    the key named, nothing written."""
    state = dict(r50['reference'])
    state['s4.pathway0_nonlocal0.conv_g.weight'] = torch.zeros(4, 4, 1, 1, 1)
    src = save_reference(tmp_path / 'unknown.pyth', state)
    out = tmp_path / 'out.pth'
    assert tool.main([src, str(out)]) == 1
    err = capsys.readouterr().err
    assert ('s4.pathway0_nonlocal0.conv_g.weight: unknown reference key'
            in err)
    assert '1 problem(s)' in err
    assert not out.exists()


def test_unreconciled_shape_and_unfilled_target(tool, r50, tmp_path,
                                                capsys):
    """Only the documented size-1 axes may go: a kernel whose size-1 axis
    sits elsewhere ([O, I, 3, 1, 3], which squeezing every size-1 axis
    would accept) is refused, and so is a missing tensor."""
    state = dict(r50['reference'])
    key = 's4.pathway2_res0.branch2.b.weight'
    state[key] = state[key].permute(0, 1, 3, 2, 4)
    del state['s5_fuse.avs.query_fc.bias']
    src = save_reference(tmp_path / 'bad.pyth', state)
    out = tmp_path / 'out.pth'
    assert tool.main([src, str(out)]) == 1
    err = capsys.readouterr().err
    assert (f'{key}: shape [128, 128, 3, 1, 3] does not match '
            'backbone.audio_path.layer3.0.conv2.conv.weight [128, 128, 3, 3]'
            in err)
    assert ('backbone.avs_heads.res5.audio_fc.bias: not filled by any '
            'reference key' in err)
    assert not out.exists()


class CfgNode(dict):
    """Stands for a yacs config saved as an object (not ``cfg.dump()``)."""


class OpensAFile:
    """Unpickling this creates a file: what an unsafe load would run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, 'w')


@pytest.mark.parametrize('kind', ['cfg_object', 'code'])
def test_unsafe_checkpoint_is_refused(tool, tmp_path, capsys, kind):
    marker = tmp_path / 'ran'
    extra = (dict(cfg=CfgNode(MODEL='avslowfast')) if kind == 'cfg_object'
             else dict(payload=OpensAFile(str(marker))))
    src = save_reference(tmp_path / 'unsafe.pyth',
                         {'head.projection.bias': torch.zeros(400)}, **extra)
    out = tmp_path / 'out.pth'
    assert tool.main([src, str(out)]) == 1
    err = capsys.readouterr().err
    assert 'refused to load' in err and 'weights_only' in err
    # the offending global is named
    assert ('CfgNode' if kind == 'cfg_object' else 'io.open') in err
    assert "torch.save({'model_state': ckpt['model_state']}" in err
    assert not marker.exists() and not out.exists()


def test_mixed_module_prefix_is_refused():
    keys = load_tool('convert/pyslowfast_keys.py')
    ConversionError, strip_module_prefix = (keys.ConversionError,
                                            keys.strip_module_prefix)
    with pytest.raises(ConversionError, match='head.projection.bias'):
        strip_module_prefix({'module.head.projection.weight': 0,
                             'head.projection.bias': 1})
