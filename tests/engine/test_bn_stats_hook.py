"""RecomputeBNStatsHook: the recomputed running statistics are the exact
averages of the per-batch statistics, computed by hand here; modes,
momentum, frozen parameters and the other BN layers are left as they were.
"""
import mmaction_avslowfast  # noqa: F401, isort: skip

import logging
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.logging import MMLogger
from mmengine.model import BaseDataPreprocessor, BaseModel
from mmengine.registry import init_default_scope
from torch import nn

from mmaction.registry import HOOKS
from mmaction_avslowfast.engine.hooks.bn_stats_hook import recompute_bn_stats

EPS = 1e-5


class ToyPreprocessor(BaseDataPreprocessor):
    """``inputs * 2 + 1``: checks that batches go through it."""

    def forward(self, data, training=False):
        data = self.cast_data(data)
        return dict(inputs=data['inputs'] * 2 + 1,
                    data_samples=data.get('data_samples'))


class ToyBackbone(nn.Module):
    """conv -> BN -> ReLU -> dropout -> conv -> BN, plus a BN that the
    forward never reaches. ``frozen`` mimics AVSlowFast(frozen=True)."""

    def __init__(self, frozen=False):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 3, 1)
        self.bn1 = nn.BatchNorm1d(3, momentum=0.3)
        self.drop = nn.Dropout(0.5)
        self.conv2 = nn.Conv1d(3, 4, 1)
        self.bn2 = nn.BatchNorm1d(4)
        self.unused_bn = nn.BatchNorm1d(4)
        self.frozen = frozen
        if frozen:
            for p in self.parameters():
                p.requires_grad = False
        self.train()

    def forward(self, x):  # [N, 2, L] -> [N, 4, L]
        x = torch.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(self.drop(x)))

    def train(self, mode=True):
        return super().train(mode and not self.frozen)


class ToyModel(BaseModel):

    def __init__(self, frozen=False):
        super().__init__(data_preprocessor=ToyPreprocessor())
        self.backbone = ToyBackbone(frozen)
        self.head_bn = nn.BatchNorm1d(4)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.head_bn(self.backbone(inputs))


def make_batches(n=5, batch=4, length=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        dict(inputs=torch.randn(batch, 2, length, generator=gen) * 3 - 1)
        for _ in range(n)
    ]


def stats(x):
    """Per-channel mean and unbiased variance of ``[N, C, L]``."""
    flat = x.transpose(0, 1).flatten(1)
    return flat.mean(1), flat.var(1, unbiased=True)


def hand_statistics(model, batches):
    """The exact averages of the per-batch BN statistics, by hand."""
    bb = model.backbone
    sums = {name: [0, 0] for name in ('bn1', 'bn2')}
    with torch.no_grad():
        for batch in batches:
            x = batch['inputs'] * 2 + 1
            h1 = bb.conv1(x)
            m1, v1 = stats(h1)
            flat = h1.transpose(0, 1).flatten(1)
            biased = flat.var(1, unbiased=False)
            y1 = (h1 - m1[:, None]) / torch.sqrt(biased[:, None] + EPS)
            y1 = torch.relu(y1 * bb.bn1.weight[:, None] + bb.bn1.bias[:, None])
            m2, v2 = stats(bb.conv2(y1))  # dropout is off
            for name, (m, v) in (('bn1', (m1, v1)), ('bn2', (m2, v2))):
                sums[name][0] = sums[name][0] + m / len(batches)
                sums[name][1] = sums[name][1] + v / len(batches)
    return sums


def make_runner(model, batches, epoch=0):
    return SimpleNamespace(model=model, train_dataloader=batches,
                           epoch=epoch)


def build_hook(**kwargs):
    init_default_scope('mmaction')
    return HOOKS.build(dict(type='RecomputeBNStatsHook', **kwargs))


def perturb_bn(model):
    """Non-default affine and statistics everywhere."""
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + .5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen))
            m.running_mean.fill_(7.0)
            m.running_var.fill_(9.0)


@pytest.mark.parametrize('frozen', [False, True])
def test_recomputed_stats_equal_hand_computed_averages(frozen):
    torch.manual_seed(0)
    model = ToyModel(frozen=frozen)
    perturb_bn(model)
    model.train()
    batches = make_batches(n=5)
    params = {k: v.clone() for k, v in model.named_parameters()}
    modes = {name: m.training for name, m in model.named_modules()}
    grads = {k: v.requires_grad for k, v in model.named_parameters()}

    hook = build_hook(num_batches=3)
    logger = MMLogger.get_instance(f'bn_hook_{frozen}')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        hook.before_train(make_runner(model, batches))
    finally:
        logger.removeHandler(handler)

    expected = hand_statistics(model, batches[:3])  # num_batches=3
    bb = model.backbone
    for name in ('bn1', 'bn2'):
        bn = getattr(bb, name)
        torch.testing.assert_close(bn.running_mean, expected[name][0])
        torch.testing.assert_close(bn.running_var, expected[name][1])
        assert int(bn.num_batches_tracked) == 3
    # Momentum, modes, parameters, requires_grad restored / untouched.
    assert bb.bn1.momentum == 0.3 and bb.bn2.momentum == 0.1
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert bb.training is (not frozen) and model.training
    for k, v in model.named_parameters():
        assert torch.equal(v, params[k]), k
        assert v.requires_grad == grads[k], k
    # Unreached BN in the backbone and the BN outside it keep theirs.
    for bn in (bb.unused_bn, model.head_bn):
        assert torch.all(bn.running_mean == 7.0)
        assert torch.all(bn.running_var == 9.0)
    message = ' '.join(r.getMessage() for r in records)
    assert '2 BN layers of model.backbone from 3 batches (12 samples)' in \
        message
    assert '1 BN layers not reached' in message


def test_frozen_model_stays_frozen_after_a_train_call():
    model = ToyModel(frozen=True)
    build_hook(num_batches=2).before_train(
        make_runner(model, make_batches(n=2)))
    model.train()  # as the train loop does
    assert not model.backbone.training
    assert not any(m.training for m in model.backbone.modules())
    assert not any(p.requires_grad for p in model.backbone.parameters())


def test_fewer_batches_than_asked_uses_all():
    model = ToyModel()
    perturb_bn(model)
    batches = make_batches(n=2)
    stats_ = build_hook(num_batches=200).recompute(
        make_runner(model, batches))
    assert stats_ == dict(batches=2, samples=8, layers=2, unreached=1)
    expected = hand_statistics(model, batches)
    torch.testing.assert_close(model.backbone.bn2.running_var,
                               expected['bn2'][1])


def test_interval_recomputes_after_every_nth_epoch_only():
    model = ToyModel()
    perturb_bn(model)
    hook = build_hook(num_batches=2, before_train=False, interval=2)
    batches = make_batches(n=2)
    hook.before_train(make_runner(model, batches))
    hook.after_train_epoch(make_runner(model, batches, epoch=0))
    assert torch.all(model.backbone.bn1.running_mean == 7.0)
    hook.after_train_epoch(make_runner(model, batches, epoch=1))
    torch.testing.assert_close(model.backbone.bn1.running_mean,
                               hand_statistics(model, batches)['bn1'][0])


def test_failing_dataloader_restores_everything():
    model = ToyModel()
    perturb_bn(model)
    model.train()

    def loader():
        yield make_batches(n=1)[0]
        raise OSError('broken.mp4: cannot decode')

    with pytest.raises(OSError, match='broken.mp4'):
        build_hook(num_batches=5).recompute(make_runner(model, loader()))
    bb = model.backbone
    assert torch.all(bb.bn1.running_mean == 7.0)
    assert bb.bn1.momentum == 0.3
    assert all(m.training for m in model.modules())


def test_empty_dataloader_is_an_error():
    with pytest.raises(RuntimeError, match='no batch'):
        build_hook().recompute(make_runner(ToyModel(), []))


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_batches'):
        build_hook(num_batches=0)
    with pytest.raises(ValueError, match='interval'):
        build_hook(interval=-1)
    with pytest.raises(AttributeError, match='model.neck|"neck"'):
        build_hook(module='neck').recompute(
            make_runner(ToyModel(), make_batches(n=1)))


def _ddp_worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=world)
    try:
        torch.manual_seed(0)  # same weights on both ranks
        model = ToyModel()
        perturb_bn(model)
        stats_ = recompute_bn_stats(model, model.backbone,
                                    make_batches(n=2, seed=10 + rank), 2)
        torch.save(dict(state=model.backbone.state_dict(), stats=stats_),
                   osp.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def test_ddp_statistics_are_averaged_over_ranks(tmp_path):
    """Two gloo processes with different batches end with the same
    statistics: the average of the two ranks' averages."""
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)),
             nprocs=2)
    torch.manual_seed(0)
    model = ToyModel()
    perturb_bn(model)
    per_rank = [hand_statistics(model, make_batches(n=2, seed=10 + r))
                for r in range(2)]
    for rank in range(2):
        saved = torch.load(tmp_path / f'rank{rank}.pth')
        assert saved['stats']['batches'] == 2
        for name in ('bn1', 'bn2'):
            for i, buf in enumerate(('running_mean', 'running_var')):
                expected = (per_rank[0][name][i] + per_rank[1][name][i]) / 2
                torch.testing.assert_close(
                    saved['state'][f'{name}.{buf}'], expected)
        assert torch.all(saved['state']['unused_bn.running_mean'] == 7.0)
