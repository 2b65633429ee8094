"""CheckpointMatchHook and init_av_recognizer refuse a checkpoint whose
tensors do not fit the model (a head trained for another class count)."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import save_checkpoint
from tool_helpers import REPO

import mmaction_avslowfast  # noqa: F401, isort: skip
from mmaction.registry import MODELS
from mmaction_avslowfast.apis import init_av_recognizer
from mmaction_avslowfast.engine.hooks import CheckpointMatchHook

DEMO = osp.join(REPO, 'configs', 'avslowfast_demo.py')


def demo_model(num_classes):
    cfg = Config.fromfile(DEMO)
    cfg.model.cls_head.num_classes = num_classes
    init_default_scope('mmaction')
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def three_class_checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('ckpt') / 'three_classes.pth')
    save_checkpoint({'state_dict': demo_model(3).state_dict(), 'meta': {}},
                    path)
    return path


def test_a_test_of_another_head_stops_naming_it(three_class_checkpoint):
    hook = CheckpointMatchHook()
    runner = SimpleNamespace(_load_from=three_class_checkpoint,
                             model=demo_model(6))
    with pytest.raises(ValueError) as error:
        hook.before_test(runner)
    message = str(error.value)
    assert 'cls_head.fc_cls.weight: checkpoint [3, 224], model [6, 224]' \
        in message
    assert 'cls_head.fc_cls.bias: checkpoint [3], model [6]' in message
    assert '--cfg-options model.cls_head.num_classes=3' in message
    assert three_class_checkpoint in message


def test_a_fitting_checkpoint_or_none_passes(three_class_checkpoint):
    hook = CheckpointMatchHook()
    hook.before_test(SimpleNamespace(_load_from=three_class_checkpoint,
                                     model=demo_model(3)))
    hook.before_test(SimpleNamespace(_load_from=None, model=demo_model(6)))


def test_inference_refuses_another_head(three_class_checkpoint):
    with pytest.raises(ValueError, match='model.cls_head.num_classes=3'):
        init_av_recognizer(DEMO, three_class_checkpoint, device='cpu')
    model = init_av_recognizer(
        DEMO, three_class_checkpoint, device='cpu',
        cfg_options={'model.cls_head.num_classes': 3})
    torch.testing.assert_close(
        model.cls_head.fc_cls.bias,
        torch.load(three_class_checkpoint)['state_dict']
        ['cls_head.fc_cls.bias'])


def test_the_shapes_the_runner_loaded_are_not_read_again(
        three_class_checkpoint, tmp_path):
    """The runner's after_load_checkpoint gives the hook the loaded dict;
    before_test uses its shapes and does not open the file again (here it
    is gone)."""
    moved = tmp_path / 'loaded_then_removed.pth'
    moved.write_bytes(open(three_class_checkpoint, 'rb').read())
    hook = CheckpointMatchHook()
    hook.after_load_checkpoint(None, torch.load(str(moved)))
    moved.unlink()
    with pytest.raises(ValueError, match=r'fc_cls\.weight: checkpoint \[3'):
        hook.before_test(SimpleNamespace(_load_from=str(moved),
                                         model=demo_model(6)))
