"""``mim train`` (a few iterations) then ``mim test`` of the demo AVS
pre-training config on a tiny synthetic demo data set; the test prints every
``avs/*`` key of AVSyncMetric."""
import os
import os.path as osp
import re

import pytest
from mim_helpers import (REPO, find_mim, make_data, mim_on_demo_data,
                         train_on_demo_data)

CONFIG = 'configs/avslowfast_demo_avs_pretrain.py'
KEYS = ('avs/sync_acc', 'avs/sync_acc_hard', 'avs/sync_acc_easy',
        'avs/sync_acc_res3', 'avs/sync_acc_res4', 'avs/sync_acc_res5')


def run_mim(verb, data, work_dir, *options, extra=()):
    return mim_on_demo_data(CONFIG, verb, data, work_dir, *options,
                            extra=extra, eval_batch_size=4)


@pytest.mark.skipif(find_mim() is None, reason='openmim is not installed')
def test_mim_train_then_test_prints_avs_keys(tmp_path):
    data = tmp_path / 'data'
    make_data(data)  # 12 train, 6 val demo clips
    work = tmp_path / 'work'
    rc, log = run_mim('train', data, work, *train_on_demo_data(data),
                      'train_cfg.max_epochs=1',
                      'default_hooks.logger.interval=1')
    assert rc == 0, log[-4000:]
    assert 'A->FS fusion off' in log
    train_lines = [ln for ln in log.splitlines() if 'Epoch(train)' in ln]
    assert train_lines, log[-3000:]
    for stage in ('res3', 'res4', 'res5'):
        assert f'loss_avs_{stage}' in train_lines[-1]
        assert f'avs_pair_acc_{stage}' in train_lines[-1]
    # the negative curriculum's epoch is set (and logged) every epoch
    assert 'avs_easy_neg_share: 1.0000' in train_lines[-1]
    assert 'AVSCurriculumHook: epoch 1: 100% easy' in log
    assert 'curriculum epoch was never set' not in log
    assert 'loss_cls' not in log
    val = [ln for ln in log.splitlines() if 'Epoch(val)' in ln and
           'avs/sync_acc' in ln]
    assert val, log[-3000:]
    best = [f for f in os.listdir(work) if f.startswith('best_avs_sync_acc')]
    assert best, os.listdir(work)

    rc, log = run_mim('test', data, tmp_path / 'test',
                      extra=['--checkpoint', str(work / best[0])])
    assert rc == 0, log[-4000:]
    line = [ln for ln in log.splitlines() if 'Epoch(test)' in ln][-1]
    values = {}
    for key in KEYS:
        found = re.search(rf'{re.escape(key)}: ([0-9.]+)', line)
        assert found, (key, line)
        values[key] = float(found.group(1))
        assert 0.0 <= values[key] <= 1.0
    assert values['avs/sync_acc'] == pytest.approx(
        (values['avs/sync_acc_hard'] + values['avs/sync_acc_easy']) / 2,
        abs=2e-4)
    assert 'avs/num_samples: 6' in line


def test_config_loads_and_builds(tmp_path):
    """Model, data sets (with their pipelines) and evaluator of the config
    build; train audio has the negative, eval audio the 3 channels."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmaction_avslowfast  # noqa: F401
    from mmaction.registry import DATASETS, METRICS, MODELS
    from mmaction_avslowfast.testing.synthetic_media import write_av_video

    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    for name in ('a.mp4', 'b.mp4'):
        write_av_video(str(tmp_path / name), duration=2.0, fps=16,
                       size=(64, 48))
    (tmp_path / 'list.txt').write_text('a.mp4 0\nb.mp4 3\n')
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'AVSPretrainer'
    assert model.backbone.drop_pathway == 1.0
    assert not hasattr(model, 'cls_head')
    channels = {}
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        # a CPU demo: workers persist, no pinned memory (needs a GPU)
        assert loader.persistent_workers and not loader.pin_memory
        dataset = DATASETS.build(
            dict(loader.dataset, ann_file=str(tmp_path / 'list.txt'),
                 data_prefix=dict(video=str(tmp_path))))
        packed = dataset[0]
        assert 'gt_label' not in packed['data_samples']  # labels ignored
        channels[split] = tuple(packed['inputs']['audios'].shape)
    assert channels['train'] == (1, 2, 64, 80)
    assert channels['val'] == (1, 3, 64, 80)
    assert channels['test'] == (2, 3, 64, 80)
    assert METRICS.build(cfg.test_evaluator).prefix == 'avs'
    assert cfg.default_hooks.checkpoint.save_best == 'avs/sync_acc'
    assert [h['type'] for h in cfg.custom_hooks] == [
        'DropPathwayHook', 'AVSCurriculumHook', 'MediaIssuesHook',
        'CheckpointMatchHook']
