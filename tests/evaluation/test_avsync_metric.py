"""AVSyncMetric on hand-made distances with known answers."""
import pytest
import torch

from mmaction_avslowfast.evaluation import AVSyncMetric

STAGES = ['res3', 'res4', 'res5']
KEYS = {f'avs/{k}' for k in ('sync_acc', 'sync_acc_hard', 'sync_acc_easy',
                             'sync_acc_res3', 'sync_acc_res4',
                             'sync_acc_res5', 'num_samples',
                             'num_unreadable', 'num_no_audio')}


def sample(rows, unreadable=False, **meta):
    """``rows``: per stage (d_aligned, d_hard, d_easy)."""
    return dict(avs_distances=torch.tensor(rows, dtype=torch.float32),
                avs_stages=STAGES, unreadable=unreadable,
                filename='x.mp4', **meta)


def evaluate(samples, batch_size=2):
    metric = AVSyncMetric()
    for i in range(0, len(samples), batch_size):
        metric.process({}, samples[i:i + batch_size])
    return metric.evaluate(len(samples))


def test_perfect_scorer_is_one():
    rng = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(5):
        d = torch.rand(3, 3, generator=rng) * 0.5 + 0.5
        d[:, 0] = 0.1  # aligned always closest
        samples.append(sample(d.tolist()))
    out = evaluate(samples)
    assert set(out) == KEYS
    for key in KEYS - {'avs/num_samples', 'avs/num_unreadable',
                       'avs/num_no_audio'}:
        assert out[key] == 1.0, key
    assert out['avs/num_no_audio'] == 0
    assert out['avs/num_samples'] == 5 and out['avs/num_unreadable'] == 0


def test_chance_level_scorer_is_half_and_stages_are_separate():
    # 4 samples. Hard pairs right in samples 0, 1; easy pairs right in 0, 2;
    # so each pair type is right half the time, at every stage.
    right = dict(h=[1, 1, 0, 0], e=[1, 0, 1, 0])
    samples = []
    for i in range(4):
        row = [0.5, 0.9 if right['h'][i] else 0.2,
               0.9 if right['e'][i] else 0.2]
        samples.append(sample([row] * 3))
    out = evaluate(samples)
    assert out['avs/sync_acc_hard'] == 0.5
    assert out['avs/sync_acc_easy'] == 0.5
    assert out['avs/sync_acc'] == 0.5
    assert all(out[f'avs/sync_acc_{s}'] == 0.5 for s in STAGES)

    # per stage: res3 perfect, res4 all wrong, res5 hard right / easy wrong
    rows = [[0.1, 0.9, 0.9], [0.9, 0.1, 0.1], [0.5, 0.9, 0.2]]
    out = evaluate([sample(rows), sample(rows)])
    assert out['avs/sync_acc_res3'] == 1.0
    assert out['avs/sync_acc_res4'] == 0.0
    assert out['avs/sync_acc_res5'] == 0.5
    assert out['avs/sync_acc_hard'] == pytest.approx(2 / 3)
    assert out['avs/sync_acc_easy'] == pytest.approx(1 / 3)
    assert out['avs/sync_acc'] == pytest.approx(0.5)


def test_ties_and_unreadable_samples_count_as_wrong():
    perfect = [[0.1, 0.9, 0.9]] * 3
    tie = [[0.5, 0.5, 0.5]] * 3
    out = evaluate([sample(perfect), sample(tie), sample(perfect),
                    sample(perfect, unreadable=True)], batch_size=3)
    assert out['avs/sync_acc'] == 0.5
    assert out['avs/sync_acc_res4'] == 0.5
    assert out['avs/num_samples'] == 4 and out['avs/num_unreadable'] == 1


def test_samples_with_unreadable_audio_count_as_wrong():
    """A sample whose own or partner audio could not be read (silence
    stood in for it) is wrong in every pair, counted and named."""
    perfect = [[0.1, 0.9, 0.9]] * 3
    issue = "partner audio 'b.mp4': cannot open"
    out = evaluate([sample(perfect), sample(perfect),
                    sample(perfect, audio_valid=False, audio_issue=issue),
                    sample(perfect, audio_valid=True)])
    assert out['avs/sync_acc_hard'] == out['avs/sync_acc_easy'] == 0.75
    assert all(out[f'avs/sync_acc_{s}'] == 0.75 for s in STAGES)
    assert out['avs/num_no_audio'] == 1 and out['avs/num_unreadable'] == 0
    # an unreadable placeholder (audio_valid False too) counts once, there
    out = evaluate([sample(perfect),
                    sample(perfect, unreadable=True, audio_valid=False)])
    assert out['avs/num_unreadable'] == 1 and out['avs/num_no_audio'] == 0
    assert out['avs/sync_acc'] == 0.5


def test_bad_samples_are_refused():
    with pytest.raises(KeyError, match='avs_distances'):
        AVSyncMetric().process({}, [dict(filename='a.mp4')])
    with pytest.raises(ValueError, match=r'\[num_stages, 3\]'):
        AVSyncMetric().process({}, [dict(sample([[0.1, 0.2]]))])
