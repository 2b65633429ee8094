"""End to end on the synthetic EPIC-Kitchens-100 fixture (two untrimmed
videos with 48 kHz audio, official CSVs): ``mim train`` of
tests/configs/epic_small.py (the EPIC config with the small CPU model), 20
one-iteration epochs then validation, and ``mim test --dump`` with 2 views
per segment. Every ``epic/*`` key is reported, the dump carries both tasks'
scores, and each reported value is recomputed from the dump (~45 s on 2 CPU
cores).

``mim test`` runs on the TRAINING segments (plus one segment of a missing
video, with ``on_unreadable='miss'``): the fixture's validation segments
have colours and sounds never seen in training, so their scores would be
all zero; the 5 training segments are partly learnt after 20 iterations,
which makes the numbers informative."""
import os.path as osp
import pickle
import re

import numpy as np
import pytest
from mim_helpers import REPO, call_mim_ok, find_mim

from mmaction_avslowfast.testing.synthetic_epic import write_epic_fixture

CONFIG = osp.join(REPO, 'tests', 'configs', 'epic_small.py')
MIM = find_mim()
EPIC_KEYS = [
    f'epic/{task}_{kind}' for task in ('verb', 'noun', 'action')
    for kind in ('top1', 'top5', 'mean_class_acc')
]


def _metrics(log, tag):
    """The ``epic/*`` values of the last ``Epoch(<tag>)`` line with them."""
    lines = [ln for ln in log.splitlines()
             if f'Epoch({tag})' in ln and 'epic/' in ln]
    assert lines, f'no Epoch({tag}) line with epic/ keys:\n{log[-4000:]}'
    print('\n' + lines[-1])  # visible with pytest -s
    return {k: float(v)
            for k, v in re.findall(r'(epic/\w+): ([0-9.]+)', lines[-1])}


def official_top_actions(verb, noun, k=5, top_n=100):
    """The k best actions (verb * 1000 + noun) of one segment as EPIC's C1
    evaluation ranks them: softmax over the top-n scores of each task,
    outer product."""
    top_v = np.argsort(-verb, kind='stable')[:top_n]
    top_n_ = np.argsort(-noun, kind='stable')[:top_n]
    pv = np.exp(verb[top_v]) / np.exp(verb[top_v]).sum()
    pn = np.exp(noun[top_n_]) / np.exp(noun[top_n_]).sum()
    pairs = np.outer(pv, pn)
    best = np.argsort(-pairs, axis=None, kind='stable')[:k]
    i, j = np.unravel_index(best, pairs.shape)
    return top_v[i] * 1000 + top_n_[j]


def expected_metrics(verbs, nouns, labels, unreadable):
    """All ``epic/*`` values from the dumped scores ``[N, 97]``,
    ``[N, 300]``, ``(verb, noun)`` labels and unreadable flags (misses)."""
    truth = dict(verb=np.array([v for v, _ in labels]),
                 noun=np.array([n for _, n in labels]))
    truth['action'] = truth['verb'] * 1000 + truth['noun']
    ranked = dict(
        verb=np.argsort(-verbs, axis=1, kind='stable')[:, :5],
        noun=np.argsort(-nouns, axis=1, kind='stable')[:, :5],
        action=np.stack([official_top_actions(v, n)
                         for v, n in zip(verbs, nouns)]))
    out = {}
    for task in ('verb', 'noun', 'action'):
        hits = (ranked[task] == truth[task][:, None]) & ~unreadable[:, None]
        out[f'epic/{task}_top1'] = hits[:, :1].any(axis=1).mean()
        out[f'epic/{task}_top5'] = hits.any(axis=1).mean()
        out[f'epic/{task}_mean_class_acc'] = np.mean([
            hits[truth[task] == c, 0].mean() for c in np.unique(truth[task])
        ])
    return out


@pytest.mark.skipif(MIM is None, reason='openmim is not installed')
def test_mim_train_and_test_report_every_epic_metric(tmp_path):
    fixture = write_epic_fixture(str(tmp_path / 'epic'), sample_rate=48000)
    videos = fixture['video_root']
    work_dir = str(tmp_path / 'work')
    train_log = call_mim_ok([
        'train', 'mmaction', CONFIG, '--gpus', '0', '--work-dir', work_dir,
        '--cfg-options',
        f'train_dataloader.dataset.ann_file={fixture["train_csv"]}',
        f'train_dataloader.dataset.data_prefix.video={videos}',
        f'val_dataloader.dataset.ann_file={fixture["val_csv"]}',
        f'val_dataloader.dataset.data_prefix.video={videos}',
        'train_cfg.max_epochs=20', 'train_cfg.val_interval=20',
        'default_hooks.checkpoint.interval=20'
    ], cwd=str(tmp_path))
    for key in ('loss_verb', 'loss_noun', 'verb_top1_acc', 'noun_top1_acc'):
        assert f'{key}: ' in train_log, key
    assert sorted(_metrics(train_log, 'val')) == sorted(EPIC_KEYS)
    checkpoint = osp.join(work_dir, 'epoch_20.pth')
    assert osp.isfile(checkpoint)

    # The training segments plus one of a missing video, scored as a miss
    # (on_unreadable='miss'): the placeholder keeps its own labels.
    test_csv = str(tmp_path / 'test.csv')
    with open(fixture['train_csv']) as f:
        rows = f.read().splitlines()
    rows.append('P01_99_0,P01,P01_99,00:00:01.000,00:00:01.00,00:00:02.00,'
                '30,60,cut onion,cut,7,onion,299,[\'onion\'],[299]')
    with open(test_csv, 'w') as f:
        f.write('\n'.join(rows) + '\n')
    dump = str(tmp_path / 'test.pkl')
    test_log = call_mim_ok([
        'test', 'mmaction', CONFIG, '--gpus', '0', '--checkpoint',
        checkpoint, '--work-dir', work_dir, '--dump', dump, '--cfg-options',
        f'test_dataloader.dataset.ann_file={test_csv}',
        f'test_dataloader.dataset.data_prefix.video={videos}',
        'test_dataloader.dataset.on_unreadable=miss'
    ], cwd=str(tmp_path))
    metrics = _metrics(test_log, 'test')
    assert sorted(metrics) == sorted(EPIC_KEYS)
    assert all(0.0 <= v <= 1.0 for v in metrics.values())

    with open(dump, 'rb') as f:
        results = pickle.load(f)
    train = [s for s in fixture['segments'] if s['split'] == 'train']
    assert sorted(r['narration_id'] for r in results) == sorted(
        [s['narration_id'] for s in train] + ['P01_99_0'])
    assert [r['narration_id'] for r in results if r['unreadable']] == [
        'P01_99_0'
    ]
    verbs, nouns, labels = [], [], []
    for result in results:
        verb = np.asarray(result['pred_verb_score'])
        noun = np.asarray(result['pred_noun_score'])
        assert verb.shape == (97, ) and noun.shape == (300, )
        # Mean of the 2 views' softmax: probabilities.
        assert verb.sum() == pytest.approx(1, abs=1e-4)
        assert noun.sum() == pytest.approx(1, abs=1e-4)
        np.testing.assert_array_equal(np.asarray(result['pred_score']), verb)
        verbs.append(verb)
        nouns.append(noun)
        labels.append((int(result['gt_label'][0]),
                       int(result['noun_label'][0])))
    by_id = {s['narration_id']: (s['verb_class'], s['noun_class'])
             for s in train}
    by_id['P01_99_0'] = (7, 299)
    assert labels == [by_id[r['narration_id']] for r in results]
    # Every reported value, recomputed from the dump.
    unreadable = np.array([r['unreadable'] for r in results])
    expected = expected_metrics(np.stack(verbs), np.stack(nouns), labels,
                                unreadable)
    for key in EPIC_KEYS:
        assert metrics[key] == pytest.approx(expected[key], abs=1e-4), key
    assert max(metrics.values()) > 0, 'nothing learnt: a vacuous check'
