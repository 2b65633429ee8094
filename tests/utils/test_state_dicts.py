"""The one comparison of a checkpoint's tensor shapes with a model's, used
by the backbone's pretrained loader and CheckpointMatchHook."""
import pytest
import torch

from mmaction_avslowfast.engine.hooks.checkpoint_match_hook import \
    shape_mismatches
from mmaction_avslowfast.utils.state_dicts import mismatched_shapes


def test_names_each_key_of_another_shape_in_key_order():
    own = {'b.weight': torch.zeros(6, 4), 'a.weight': torch.zeros(3),
           'c.bias': torch.zeros(2)}
    checkpoint = {'c.bias': torch.zeros(2), 'b.weight': torch.zeros(3, 4),
                  'a.weight': torch.zeros(5), 'extra': torch.zeros(1),
                  'step': 7}
    found = mismatched_shapes(own, checkpoint)
    assert found == {
        'a.weight': 'a.weight: checkpoint [5], model [3]',
        'b.weight': 'b.weight: checkpoint [3, 4], model [6, 4]',
    }
    assert list(found) == ['a.weight', 'b.weight']


def test_hook_ignores_the_module_prefix():
    model = torch.nn.Linear(4, 6)
    checkpoint = {'module.weight': torch.zeros(3, 4),
                  'module.bias': torch.zeros(6)}
    assert shape_mismatches(model, checkpoint) == [
        'weight: checkpoint [3, 4], model [6, 4]']


@pytest.mark.parametrize('equal', [True, False])
def test_equal_shapes_are_not_named(equal):
    own = {'w': torch.zeros(2, 2)}
    checkpoint = {'w': torch.zeros(2, 2) if equal else torch.zeros(2, 3)}
    assert bool(mismatched_shapes(own, checkpoint)) is not equal
