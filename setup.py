import os
import os.path as osp
import shutil
import sys
from importlib import metadata

from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open(osp.join('mmaction_avslowfast', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(name):
    with open(osp.join('requirements', name)) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def runtime_requirements():
    """Loose runtime requirements.

    mmcv-lite and a full mmcv both provide the ``mmcv`` module; a user who already has a
    full (compiled) mmcv keeps it instead of getting mmcv-lite on top of it.
    """
    requirements = read_requirements('runtime.txt')
    try:
        metadata.version('mmcv')
    except metadata.PackageNotFoundError:
        return requirements
    return [('mmcv' + r[len('mmcv-lite'):]) if r.startswith('mmcv-lite') else r
            for r in requirements]


def add_mim_extension():
    """Ship ``model-index.yml``, ``configs/`` and ``tools/`` in the package
    as ``mmaction_avslowfast/.mim/`` (MMAction2's layout), so that
    ``mim search mmaction-avslowfast`` lists the models of an installed
    wheel. Only for wheel and sdist builds: an editable install has no
    package folder in site-packages for mim to look in."""
    if not {'bdist_wheel', 'sdist'} & set(sys.argv):
        return
    mim_dir = osp.join('mmaction_avslowfast', '.mim')
    shutil.rmtree(mim_dir, ignore_errors=True)
    os.makedirs(mim_dir)
    shutil.copyfile('model-index.yml', osp.join(mim_dir, 'model-index.yml'))
    for folder in ('configs', 'tools'):
        shutil.copytree(folder, osp.join(mim_dir, folder),
                        ignore=shutil.ignore_patterns('__pycache__'))


add_mim_extension()
setup(
    name='mmaction-avslowfast',
    version=read_version(),
    description='Audiovisual SlowFast Networks (AVSlowFast) for MMAction2',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmaction_avslowfast', 'mmaction_avslowfast.*']),
    # label maps shipped with the package (apis.BUILTIN_LABEL_MAPS)
    package_data={
        'mmaction_avslowfast': ['data/*.txt', '.mim/*.yml', '.mim/**/*']
    },
    python_requires='>=3.8',
    install_requires=runtime_requirements(),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'deploy': read_requirements('deploy.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
