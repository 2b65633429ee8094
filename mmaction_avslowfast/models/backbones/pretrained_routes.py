"""Where pretrained AVSlowFast weights come from, for the message a user
gets when a fine-tuning config names a checkpoint that is not there.

No AVSlowFast weights are published (the author's fork released none), so a
Kinetics-400 AVSlowFast checkpoint is made here in one of three ways: train
it with this plugin's Kinetics config, convert an author checkpoint with
``tools/convert/convert_pyslowfast_checkpoint.py``, or start the Slow and
Fast pathways from MMAction2's public SlowFast Kinetics-400 checkpoint of the
same geometry (the audio pathway from scratch) with the ``*_from_slowfast``
variant of the config, which uses MMAction2's Fast->Slow layout.
"""
from typing import NamedTuple, Optional, Sequence, Tuple

ZOO = 'https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/'


class Geometry(NamedTuple):
    """A released AVSlowFast geometry and the files that make its weights."""
    name: str  # e.g. 'R50 8x8'
    kinetics_config: str  # this plugin's Kinetics-400 recipe
    slowfast_checkpoint: str  # MMAction2's SlowFast Kinetics-400 weights
    # this plugin's configs that start Slow/Fast from that checkpoint
    from_slowfast: Tuple[str, ...] = ()


# (depth, resample_rate, speed_ratio) -> geometry
GEOMETRIES = {
    (50, 8, 8): Geometry(
        'R50 4x16', 'configs/avslowfast_r50_kinetics.py',
        ZOO + 'slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb/'
        'slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb_20220901-701b0f6f.pth',
        ('configs/avslowfast_r50_kinetics_from_slowfast.py',
         'configs/avslowfast_r50_charades_from_slowfast.py',
         'configs/avslowfast_r50_ava22_from_slowfast.py')),
    (50, 4, 4): Geometry(
        'R50 8x8', 'configs/avslowfast_r50_8x8_kinetics.py',
        ZOO + 'slowfast_r50_8xb8-8x8x1-256e_kinetics400-rgb/'
        'slowfast_r50_8xb8-8x8x1-256e_kinetics400-rgb_20220818-1cb6dfc8.pth',
        ('configs/avslowfast_r50_epic100_from_slowfast.py', )),
    (101, 4, 4): Geometry(
        'R101 8x8', 'configs/avslowfast_r101_8x8_kinetics.py',
        ZOO + 'slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb/'
        'slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb_20220901-9c0e09bd.pth'),
}


def missing_checkpoint_message(path: str, key: str, depth: int,
                               resample_rate: int, speed_ratio: int,
                               fs_fusion: Sequence[bool]) -> str:
    """The routes to the checkpoint ``path`` named by the config key ``key``
    (e.g. ``model.backbone.pretrained``), each as ready commands."""
    geometry: Optional[Geometry] = GEOMETRIES.get(
        (depth, resample_rate, speed_ratio))
    head = (f'AVSlowFast: the pretrained checkpoint {path} ({key}) does not '
            'exist. No AVSlowFast weights are published;')
    if geometry is None:
        return (f'{head} train a model of this geometry (depth {depth}, '
                f'tau {resample_rate}, alpha {speed_ratio}) first and point '
                f'to it with --cfg-options {key}=<checkpoint>, or train from '
                f'scratch with --cfg-options {key}=None.')
    if all(fs_fusion):  # the zoo layout: this is a *_from_slowfast config
        return (f'{head} this config starts Slow and Fast from MMAction2\'s '
                f'SlowFast {geometry.name} Kinetics-400 checkpoint:\n'
                f'  mkdir -p checkpoints && wget -O {path} '
                f'{geometry.slowfast_checkpoint}\n'
                f'or give another copy: --cfg-options {key}=<checkpoint>')
    stem = geometry.kinetics_config.split('/')[-1][:-3]
    variants = ', '.join(geometry.from_slowfast) or 'none yet'
    return (
        f'{head} make a Kinetics-400 AVSlowFast {geometry.name} checkpoint '
        'one of three ways:\n'
        f'  1. train it:\n'
        f'       mim train mmaction {geometry.kinetics_config} --gpus 8 '
        '--launcher pytorch\n'
        f'     then --cfg-options {key}=work_dirs/{stem}/<best>.pth\n'
        '  2. convert a checkpoint of the author\'s PySlowFast fork:\n'
        '       python tools/convert/convert_pyslowfast_checkpoint.py '
        f'<checkpoint>.pyth {path} --config {geometry.kinetics_config}\n'
        f'  3. start Slow and Fast from MMAction2\'s SlowFast '
        f'{geometry.name} Kinetics-400 checkpoint, the audio pathway from '
        'scratch, with the *_from_slowfast.py variant of the config '
        f'({variants}: MMAction2\'s Fast->Slow layout at all four '
        'junctions, not the paper\'s network); it reads\n'
        f'       {geometry.slowfast_checkpoint}\n'
        f'Or train from scratch: --cfg-options {key}=None')


__all__ = ['GEOMETRIES', 'Geometry', 'missing_checkpoint_message']
