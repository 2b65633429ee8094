"""Guard of the config layout: every config resolves
(``Config.fromfile(...).to_dict()``) to what the config of the same name
resolved to before the configs inherited ``configs/_base_/`` (snapshots in
``tests/data/resolved_configs/``, taken at commit 7621eda), except for

- config variables, i.e. top-level keys that the runner does not read
  (``clip_len``, ``num_classes``, ``kinetics_checkpoint`` ...; they only
  compose the config);
- arguments now written out with their default value (backbone, pathway,
  recognizer and data loader arguments; checked against the constructors'
  signatures);
- ``_scope_='mmaction'`` markers of values inherited through ``mmaction::``
  (the default scope anyway);
- the differences listed in :data:`INTENDED`, each with its reason.

After an intended change of a config, write the new snapshots with
``python tests/test_resolved_configs.py --update`` and drop the entries of
:data:`INTENDED` that no longer apply.
"""
import glob
import inspect
import json
import os.path as osp
import sys

import pytest
from config_helpers import resolved_config
from tool_helpers import REPO

SNAPSHOTS = osp.join(REPO, 'tests', 'data', 'resolved_configs')
# Top-level keys that MMEngine's Runner, mim or the plugin read; every other
# top-level key is a config variable.
RUNTIME_KEYS = {
    'model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
    'train_cfg', 'val_cfg', 'test_cfg', 'val_evaluator', 'test_evaluator',
    'optim_wrapper', 'param_scheduler', 'auto_scale_lr', 'default_hooks',
    'custom_hooks', 'env_cfg', 'model_wrapper_cfg', 'sync_bn', 'randomness',
    'default_scope', 'custom_imports', 'log_processor', 'visualizer',
    'log_level', 'load_from', 'resume', 'launcher', 'work_dir'
}
AVA = ('configs/avslowfast_r50_ava22.py', 'configs/avslowfast_r50_ava21.py')
# configs whose hooks are the default runtime's
CURRICULUM = tuple(
    f'configs/avslowfast_{name}.py'
    for name in ('demo', 'demo_avs_pretrain', 'demo_avs_world_pretrain',
                 'r50_kinetics', 'r50_8x8_kinetics', 'r101_8x8_kinetics',
                 'r50_kinetics_from_slowfast', 'r50_avs_pretrain_kinetics',
                 'r50_charades', 'r50_epic100')) + (
                     'tests/configs/charades_small.py',
                     'tests/configs/epic_small.py')
TRANSFER = tuple(
    f'configs/avslowfast_{name}.py'
    for name in ('demo_avs_linear', 'demo_avs_world_linear',
                 'r50_avs_linear_ucf101', 'r50_avs_finetune_ucf101',
                 'r50_avs_linear_hmdb51', 'r50_avs_finetune_hmdb51'))
FROM_SLOWFAST = 'configs/avslowfast_r50_kinetics_from_slowfast.py'


def for_all(configs, paths, reason):
    """Entries of :data:`INTENDED`: ``reason`` for every config and path."""
    return {(name, path): reason for name in configs for path in paths}


# (config, path of the difference) -> reason
INTENDED = {
    **for_all(
        AVA, ['custom_hooks'],
        'AVA schedules DropPathway like every other recipe (DropPathwayHook:'
        ' the same draws on all ranks and on resume) and gets the default '
        "runtime's AVSCurriculumHook (AVS is off there) and "
        'CheckpointMatchHook'),
    **for_all(
        CURRICULUM, ['custom_hooks'],
        'the AVS negative curriculum has its own hook, AVSCurriculumHook '
        "(it was DropPathwayHook's second job); CheckpointMatchHook stops a "
        'test whose checkpoint does not fit the model'),
    **for_all(
        TRANSFER, ['custom_hooks'], 'CheckpointMatchHook stops a test whose '
        'checkpoint does not fit the model'),
    **for_all(
        AVA, ['custom_imports.imports'], 'the plugin registers its AVA '
        'dataset and detector on import; the extra module names were '
        'redundant'),
    **for_all(
        AVA, ['model_wrapper_cfg'], "AVA uses the plugin's DDP wrapper "
        'settings (CPU models too, no unused parameters) like every other '
        'recipe'),
    **for_all(
        TRANSFER, ['model.blank_modalities'], 'the transfer configs state '
        "their audio fill ('mean' = zeros of the normalised input, the fill "
        'they had) in the one blanking mechanism'),
    **for_all(
        [FROM_SLOWFAST],
        ['model.backbone.init_cfg', 'model.backbone.pretrained'],
        'the SlowFast checkpoint is model.backbone.pretrained, as in the '
        'other *_from_slowfast configs (the same load)'),
    **for_all(
        ['configs/avslowfast_r50_avs_pretrain_kinetics.py'], [
            f'{split}_dataloader.dataset.probe_cache'
            for split in ('train', 'val', 'test')
        ], 'the audio-stream probe is cached in the default work dir '
        '(issue 21)'),
    (FROM_SLOWFAST, 'auto_scale_lr'):
    'inherited from the Kinetics recipe; disabled (enable=False)',
    ('tests/configs/epic_small.py',
     'model.backbone.slow_pathway.fusion_kernel'):
    "test configs: the EPIC recipe's 8x8 F->S kernel (7) on the small model",
    **for_all(['tests/configs/charades_small.py'], [
        f'{key}[0].io_backend'
        for key in ('train_pipeline', 'val_pipeline', 'test_pipeline',
                    'train_dataloader.dataset.pipeline',
                    'val_dataloader.dataset.pipeline',
                    'test_dataloader.dataset.pipeline')
    ], "test configs: the recipe's disk backend, the default"),
}


def config_names():
    return sorted(
        osp.relpath(path, REPO)
        for path in glob.glob(osp.join(REPO, 'configs', '*.py')) +
        glob.glob(osp.join(REPO, 'tests', 'configs', '*.py')))


def snapshot_path(name):
    return osp.join(SNAPSHOTS, name[:-3].replace('/', '__') + '.json')


def resolve(name):
    # tuples and lists alike, as in the JSON snapshots
    return resolved_config(name)


def differences(old, new, path=''):
    """``(path, old value, new value)`` of every leaf that differs
    (``...`` marks a missing key)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            sub = f'{path}.{key}' if path else key
            out += differences(old.get(key, ...), new.get(key, ...), sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and \
            len(old) == len(new) and path != 'custom_hooks':
        out = []
        for index, (a, b) in enumerate(zip(old, new)):
            out += differences(a, b, f'{path}[{index}]')
        return out
    return [] if old == new else [(path, old, new)]


def constructor_defaults():
    """Path prefix -> default arguments of the class built there."""
    from torch.utils.data import DataLoader

    from mmaction.models.backbones.resnet3d import ResNet3d
    from mmaction.models.backbones.resnet3d_slowfast import ResNet3dPathway

    from mmaction_avslowfast.models.backbones import AVSlowFast
    from mmaction_avslowfast.models.recognizers import AVRecognizer3D

    def defaults(cls):
        return {
            name: param.default
            for name, param in inspect.signature(cls).parameters.items()
            if param.default is not inspect.Parameter.empty
        }

    # ResNet3dPathway passes the rest on to ResNet3d
    pathway = {**defaults(ResNet3d), **defaults(ResNet3dPathway)}
    loader = defaults(DataLoader)
    return {
        **{f'{split}_dataloader': loader
           for split in ('train', 'val', 'test')},
        'model': defaults(AVRecognizer3D),
        'model.backbone': defaults(AVSlowFast),
        'model.backbone.slow_pathway': pathway,
        'model.backbone.fast_pathway': pathway
    }


def explicit_default(path, old, new, known):
    """A default argument now written out, or no longer written out."""
    if '.' not in path or (old is not ...) == (new is not ...):
        return False
    prefix, key = path.rsplit('.', 1)
    if prefix not in known or key not in known[prefix]:
        return False
    default = json.loads(json.dumps(known[prefix][key]))
    return default == (old if new is ... else new)


def unexplained(name, diffs, known):
    left = []
    for path, old, new in diffs:
        top = path.split('.')[0].split('[')[0]
        if top not in RUNTIME_KEYS:
            continue  # a config variable
        if path.endswith('._scope_') and old == 'mmaction' and new is ...:
            continue
        if explicit_default(path, old, new, known):
            continue
        if (name, path) in INTENDED or (None, path) in INTENDED:
            continue
        left.append((path, old, new))
    return left


@pytest.mark.parametrize('name', config_names())
def test_config_resolves_as_before_but_for_intended_differences(name):
    assert osp.exists(snapshot_path(name)), (
        f'no snapshot of {name}: write it with python '
        'tests/test_resolved_configs.py --update')
    with open(snapshot_path(name)) as f:
        old = json.load(f)
    left = unexplained(name, differences(old, resolve(name)),
                       constructor_defaults())
    assert not left, f'{name} resolves differently:\n' + '\n'.join(
        f'  {path}: {old!r} -> {new!r}' for path, old, new in left)


def test_intended_differences_still_apply():
    """Every entry of INTENDED explains a difference that exists."""
    seen = set()
    for name in config_names():
        if not osp.exists(snapshot_path(name)):
            continue
        with open(snapshot_path(name)) as f:
            old = json.load(f)
        seen |= {(name, path)
                 for path, _, _ in differences(old, resolve(name))}
    stale = [key for key in INTENDED if key not in seen]
    assert not stale, f'INTENDED entries without a difference: {stale}'


def test_guard_fails_on_an_unlisted_difference():
    name = 'configs/avslowfast_r50_kinetics.py'
    with open(snapshot_path(name)) as f:
        old = json.load(f)
    new = resolve(name)
    new['model']['backbone']['drop_pathway'] = 0.5
    new['model']['backbone']['drop_seed'] = 0  # written out, the default
    left = unexplained(name, differences(old, new), constructor_defaults())
    assert [path for path, _, _ in left] == ['model.backbone.drop_pathway']


if __name__ == '__main__' and sys.argv[1:] == ['--update']:
    import mmaction_avslowfast  # noqa: F401  (the custom imports resolve)
    for config in config_names():
        with open(snapshot_path(config), 'w') as f:
            json.dump(resolve(config), f, indent=1, sort_keys=True)
        print('written', snapshot_path(config))
