"""Everything the plugin registers is reachable through MMAction2's registries."""
import importlib
import inspect
import pkgutil

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmaction_avslowfast
from mmaction import registry

REGISTRIES = dict(MODELS=registry.MODELS, TRANSFORMS=registry.TRANSFORMS,
                  DATASETS=registry.DATASETS, HOOKS=registry.HOOKS,
                  METRICS=registry.METRICS, TASK_UTILS=registry.TASK_UTILS)

# What users put in configs. Keep in sync with docs/design.md's component list.
EXPECTED = dict(
    MODELS=['AVSlowFast', 'AVSlowFastAudioPathway', 'AVSlowFastHead', 'AVRecognizer3D',
            'AVSlowFastDetector', 'AVRoIHead', 'AVRoIExtractor3D', 'AVBBoxHead',
            'EpicKitchensHead', 'AVSPretrainer', 'AudioLogMelPreprocessor'],
    HOOKS=['DropPathwayHook', 'AVSCurriculumHook', 'MediaIssuesHook',
           'RecomputeBNStatsHook'],
    TRANSFORMS=['LoadAudioFromVideo', 'AudioLogMelClips', 'LoadLogMel', 'AlignAudioViews',
                'PackAVInputs', 'AudioGainJitter', 'AudioTimeMask', 'AudioFreqMask',
                'CheckedDecordInit', 'CheckedDecordDecode', 'CheckedRawFrameDecode',
                'SegmentSampleFrames', 'CharadesClipLabel', 'AVSyncEvalAudio', 'BlankAudio'],
    DATASETS=['AVAAudioDataset', 'AVVideoDataset', 'EpicKitchensDataset', 'CharadesDataset',
              'UnlabeledAVDataset'],
    METRICS=['RobustAVAMetric', 'AVAccMetric', 'EpicKitchensMetric', 'CharadesMetric',
             'AVSyncMetric'],
    TASK_UTILS=['AVAMaxIoUAssigner', 'AVARandomSampler'],
)


def plugin_modules():
    for info in pkgutil.walk_packages(mmaction_avslowfast.__path__, 'mmaction_avslowfast.'):
        if info.name.endswith('synthetic_media'):
            continue  # test/demo helper; needs PyAV, registers nothing
        yield importlib.import_module(info.name)


def registered_plugin_classes():
    """(registry name, registered name, class) for every plugin class in any registry."""
    found = []
    for registry_name, reg in REGISTRIES.items():
        for name, cls in reg.module_dict.items():
            if inspect.getmodule(cls).__name__.startswith('mmaction_avslowfast'):
                found.append((registry_name, name, cls))
    return found


@pytest.mark.parametrize('registry_name', sorted(EXPECTED))
def test_expected_names_are_registered(registry_name):
    init_default_scope('mmaction')
    reg = REGISTRIES[registry_name]
    for name in EXPECTED[registry_name]:
        assert reg.get(name) is not None, f'{name} missing from mmaction {registry_name}'


def test_every_plugin_class_resolves_under_mmaction_scope():
    list(plugin_modules())
    found = registered_plugin_classes()
    assert found, 'the plugin registered nothing'
    init_default_scope('mmaction')
    for registry_name, name, cls in found:
        assert REGISTRIES[registry_name].get(name) is cls
        assert REGISTRIES[registry_name].scope == 'mmaction'


def test_package_import_registers_without_walking_modules():
    """`custom_imports=['mmaction_avslowfast']` alone must register everything."""
    import subprocess
    import sys
    code = ('import mmaction_avslowfast, inspect\n'
            'from mmaction import registry as r\n'
            'regs = [r.MODELS, r.TRANSFORMS, r.DATASETS, r.HOOKS, r.METRICS, r.TASK_UTILS]\n'
            'print(sorted(n for reg in regs for n, c in reg.module_dict.items()\n'
            "      if inspect.getmodule(c).__name__.startswith('mmaction_avslowfast')))\n")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    list(plugin_modules())
    expected = sorted(name for _, name, _ in registered_plugin_classes())
    assert result.stdout.strip() == str(expected)


def test_config_with_custom_imports_and_mmaction_base(tmp_path):
    config = tmp_path / 'plugin_cfg.py'
    config.write_text(
        "_base_ = 'mmaction::_base_/default_runtime.py'\n"
        "custom_imports = dict(imports=['mmaction_avslowfast'], allow_failed_imports=False)\n"
        "model = dict(type='AVRecognizer3D')\n")
    cfg = Config.fromfile(str(config))
    assert cfg.default_scope == 'mmaction'
    assert cfg.model.type == 'AVRecognizer3D'
    assert 'checkpoint' in cfg.default_hooks
