"""configs/metafile.yml (MMAction2's model-index format): every top-level
config listed once with metadata that agrees with the config and the
measured model cost, and ``mim search`` listing the models of a wheel."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml
from config_helpers import resolved_config
from tool_helpers import REPO

MIM = osp.join(osp.dirname(sys.executable), 'mim')


def load_yaml(*parts):
    with open(osp.join(REPO, *parts)) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope='module')
def models():
    index = load_yaml('model-index.yml')
    assert index == {'Import': ['configs/metafile.yml']}
    meta = load_yaml('configs', 'metafile.yml')
    assert [c['Name'] for c in meta['Collections']] == ['AVSlowFast']
    return meta['Models']


def test_every_config_is_listed_once(models):
    configs = sorted(
        osp.relpath(path, REPO)
        for path in glob.glob(osp.join(REPO, 'configs', '*.py')))
    listed = [model['Config'] for model in models]
    assert sorted(listed) == configs
    for model in models:
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
        assert model['In Collection'] == 'AVSlowFast'
        # nothing trained or published here yet
        assert 'Weights' not in model and 'Results' not in model


def test_metadata_agrees_with_the_configs(models):
    for model in models:
        cfg = resolved_config(model['Config'])
        meta = model['Metadata']
        assert meta['Batch Size'] == cfg['train_dataloader']['batch_size'], \
            model['Name']
        assert meta['Epochs'] == cfg['train_cfg']['max_epochs'], model['Name']


def test_flops_and_parameters_are_the_measured_ones(models):
    """FLOPs / parameters of benchmarks/model_cost.py's reference rows."""
    with open(osp.join(REPO, 'benchmarks', 'results',
                       'model_cost.json')) as f:
        rows = {row['model']: row for row in json.load(f)['rows']}
    measured = {
        'avslowfast_r50_kinetics': rows['AVSlowFast R50 4x16'],
        'avslowfast_r50_8x8_kinetics': rows['AVSlowFast R50 8x8'],
        'avslowfast_r101_8x8_kinetics': rows['AVSlowFast R101 8x8'],
    }
    by_name = {model['Name']: model['Metadata'] for model in models}
    for name, row in measured.items():
        assert by_name[name]['FLOPs'] == f'{row["gflops"]:.2f}G'
        assert by_name[name]['Parameters'] == f'{row["params_M"]:.2f}M'
    # a figure is given only where it was measured for that config
    unmeasured = [name for name, meta in by_name.items()
                  if name not in measured and ('FLOPs' in meta
                                               or 'Parameters' in meta)]
    assert not unmeasured


def test_mim_search_lists_the_models_of_a_wheel(models, tmp_path):
    """A wheel carries model-index.yml and the configs under .mim/, where
    ``mim search`` looks (an editable install has no package folder in
    site-packages, so there the metafile is documentation)."""
    # build from a copy of the checkout: no stale build/ folder, and the
    # checkout is left as it was
    source = tmp_path / 'source'
    files = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard'], cwd=REPO,
        check=True, capture_output=True, text=True).stdout.split()
    for name in files:
        if osp.isfile(osp.join(REPO, name)):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(osp.join(REPO, name), source / name)
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', str(source), '--no-deps',
        '--no-build-isolation', '-q', '-w', str(tmp_path / 'wheel')
    ], check=True, capture_output=True)
    wheel, = (tmp_path / 'wheel').glob('*.whl')
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / 'site')
    env = dict(os.environ, PYTHONPATH=str(tmp_path / 'site'))
    out = subprocess.run(
        [MIM, 'search', 'mmaction-avslowfast', '--valid-config'],
        env=env, cwd=str(tmp_path), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    for model in models:
        assert f"'{model['Name']}'" in out.stdout
        assert (tmp_path / 'site' / 'mmaction_avslowfast' / '.mim' /
                model['Config']).exists()
