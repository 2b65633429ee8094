"""EpicKitchensMetric on hand-made segments with known answers."""
import mmaction_avslowfast  # noqa: F401, isort: skip

import numpy as np
import pytest
import torch

from mmaction.registry import METRICS
from mmaction_avslowfast.evaluation.epic_metric import action_candidates

# The same scores for every segment: verbs rank 0 > 1 > 2 > 3 > 4 > 5 and
# nouns 0 > 1 > ... > 7. Pairs rank by the sum of the two logits (softmax
# over each task, then product): (0,0) 6.0, (1,0) 5.0, (2,0) 4.5,
# (0,1) 3.7, (0,2) 3.6 | (0,3) 3.5, ... (2,2) only 2.1.
VERB = [3.0, 2.0, 1.5, 0.0, -1.0, -2.0]
NOUN = [3.0, 0.7, 0.6, 0.5, 0.4, 0.3, 0.0, -1.0]

# (verb, noun, unreadable)
SEGMENTS = [
    (0, 0, False),  # all right
    (2, 2, False),  # verb and noun in their top-5, the pair not in top-5
    (1, 0, False),  # verb 2nd, noun 1st: action 2nd -> top-5 only
    (5, 7, False),  # all wrong
    (0, 0, True),  # would be all right, but the file was unreadable
]

EXPECTED = {
    'epic/verb_top1': 1 / 5,
    'epic/verb_top5': 3 / 5,
    'epic/noun_top1': 2 / 5,
    'epic/noun_top5': 3 / 5,
    'epic/action_top1': 1 / 5,
    'epic/action_top5': 2 / 5,
    # top-1 is verb 0 / noun 0 / action (0,0) for every readable segment.
    # verb classes 0 (1 of 2 right), 1, 2, 5 (0 right)
    'epic/verb_mean_class_acc': (1 / 2 + 0 + 0 + 0) / 4,
    # noun classes 0 (2 of 3 right), 2, 7
    'epic/noun_mean_class_acc': (2 / 3 + 0 + 0) / 3,
    # action classes 0 (1 of 2), 2002, 1000, 5007
    'epic/action_mean_class_acc': (1 / 2 + 0 + 0 + 0) / 4,
}


def packed(verb, noun, unreadable=False, verb_score=VERB, noun_score=NOUN,
           dtype=torch.float32):
    """A data sample as the evaluator hands it over (``to_dict()``)."""
    return dict(
        gt_label=torch.LongTensor([verb]),
        noun_label=torch.LongTensor([noun]),
        pred_score=torch.tensor(verb_score, dtype=dtype),
        pred_verb_score=torch.tensor(verb_score, dtype=dtype),
        pred_noun_score=torch.tensor(noun_score, dtype=dtype),
        unreadable=unreadable,
        filename=f'P01/videos/P01_{verb}{noun}.MP4')


def evaluate(segments, **kwargs):
    metric = METRICS.build(dict(type='EpicKitchensMetric', **kwargs))
    data = [packed(*segment) for segment in segments]
    metric.process({}, data[:2])  # two batches
    metric.process({}, data[2:])
    return metric.evaluate(len(data))


def test_every_key_on_a_hand_made_case():
    metrics = evaluate(SEGMENTS)
    assert set(metrics) == set(EXPECTED)
    for key, value in EXPECTED.items():
        assert metrics[key] == pytest.approx(value), key


def test_right_verb_and_right_noun_do_not_make_a_right_action():
    metrics = evaluate([(2, 2, False)])
    assert metrics['epic/verb_top5'] == 1.0
    assert metrics['epic/noun_top5'] == 1.0
    assert metrics['epic/action_top5'] == 0.0


def test_unreadable_segments_count_as_misses():
    readable = evaluate([(0, 0, False)])
    unreadable = evaluate([(0, 0, True)])
    assert all(value == 1.0 for value in readable.values())
    assert all(value == 0.0 for value in unreadable.values())


def test_unreadable_segments_are_misses_at_k_beyond_the_classes():
    """Regression: k = 8 > 6 verbs puts every verb in the top k, yet an
    unreadable segment stays wrong (it ranks nothing)."""
    metrics = evaluate([(0, 0, False), (5, 7, True)], topk=(1, 8))
    for task in ('verb', 'noun', 'action'):
        assert metrics[f'epic/{task}_top8'] == 0.5, task
        assert metrics[f'epic/{task}_mean_class_acc'] == 0.5, task


def test_bf16_scores_and_other_topk():
    metric = METRICS.build(dict(type='EpicKitchensMetric', topk=(1, 3)))
    metric.process({}, [packed(1, 0, dtype=torch.bfloat16)])
    metrics = metric.evaluate(1)
    assert metrics['epic/verb_top1'] == 0.0
    assert metrics['epic/verb_top3'] == 1.0
    assert metrics['epic/action_top3'] == 1.0  # (1,0) is the 2nd pair
    assert 'epic/verb_top5' not in metrics


def official_action_ranking(verb, noun, top_n=100):
    """Brute force of the official C1 scoring for one segment: softmax over
    the top-n scores of each task, outer product, all pairs sorted."""
    top_v = np.argsort(-verb, kind='stable')[:top_n]
    top_n_ = np.argsort(-noun, kind='stable')[:top_n]
    pv = np.exp(verb[top_v]) / np.exp(verb[top_v]).sum()
    pn = np.exp(noun[top_n_]) / np.exp(noun[top_n_]).sum()
    pairs = sorted(((pv[i] * pn[j], top_v[i] * 1000 + top_n_[j])
                    for i in range(len(top_v)) for j in range(len(top_n_))),
                   reverse=True)
    return [action for _, action in pairs]


def test_action_candidates_match_the_official_scoring_on_epic_sizes():
    rng = np.random.default_rng(0)
    for _ in range(3):
        verb = rng.normal(size=97) * 3
        noun = rng.normal(size=300) * 3
        verbs, nouns = action_candidates(
            torch.from_numpy(verb), torch.from_numpy(noun), k=20)
        ours = (verbs * 1000 + nouns).tolist()
        assert ours == official_action_ranking(verb, noun)[:20]


def test_action_softmax_false_multiplies_the_given_probabilities():
    verb = torch.tensor([0.5, 0.45, 0.05])
    noun = torch.tensor([0.9, 0.1])
    # Official (softmax of the scores): (0,0) (1,0) (2,0); plain product of
    # these probabilities: (0,0) (1,0) (0,1).
    verbs, nouns = action_candidates(verb, noun, k=3)
    assert list(zip(verbs.tolist(), nouns.tolist())) == [(0, 0), (1, 0),
                                                         (2, 0)]
    verbs, nouns = action_candidates(verb, noun, k=3, softmax=False)
    assert list(zip(verbs.tolist(), nouns.tolist())) == [(0, 0), (1, 0),
                                                         (0, 1)]


@pytest.mark.parametrize('key,match', [
    ('noun_label', 'noun_label.*P01_00.MP4'),  # names the sample's file
    ('pred_noun_score', 'EpicKitchensHead'),  # names the head to use
])
def test_missing_noun_key_is_named(key, match):
    metric = METRICS.build(dict(type='EpicKitchensMetric'))
    sample = packed(0, 0)
    del sample[key]
    with pytest.raises(KeyError, match=match):
        metric.process({}, [sample])


def test_only_the_top_n_verbs_and_nouns_become_action_candidates():
    verb = torch.tensor([1.0])
    noun = torch.arange(150, 0, -1).float()  # noun i ranks i-th
    verbs, nouns = action_candidates(verb, noun, k=150)  # top_n 100
    assert nouns.tolist() == list(range(100))
    verbs, nouns = action_candidates(
        torch.tensor([3.0, 2.0, 1.0]), torch.tensor([0.0, 3.0, 2.0, 1.0]),
        k=10, top_n=2)
    assert sorted(zip(verbs.tolist(), nouns.tolist())) == [(0, 1), (0, 2),
                                                           (1, 1), (1, 2)]
