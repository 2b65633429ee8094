"""Audio-visual synchronisation accuracy of a self-supervised AVS model."""
import logging
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmaction.registry import METRICS

#: Columns of ``avs_distances``: aligned, hard negative, easy negative.
ALIGNED, HARD, EASY = 0, 1, 2


@METRICS.register_module()
class AVSyncMetric(BaseMetric):
    """Share of (clip, negative) pairs whose aligned audio is closer to the
    clip's visual code than the negative is (chance = 0.5).

    Each data sample carries ``avs_distances`` ``[num_stages, 3]`` (the
    distances between the visual code of every AVS stage and the codes of
    the aligned audio, the hard negative and the easy negative, averaged
    over the views, from ``AVSPretrainer.predict``) and the stage names in
    its metainfo (``avs_stages``). Per sample and stage there is one hard
    pair (aligned vs same video shifted, see ``AVSyncEvalAudio``) and one
    easy pair (aligned vs another video's audio); a pair is right when
    ``d_aligned < d_negative`` strictly (ties are wrong).

    Keys (with the default prefix ``avs``):

    - ``avs/sync_acc_hard``, ``avs/sync_acc_easy``: accuracy of the hard
      (easy) pairs, pooled over samples and stages;
    - ``avs/sync_acc``: their mean (equal numbers of hard and easy pairs);
    - ``avs/sync_acc_<stage>`` (e.g. ``res3``, ``res4``, ``res5``): hard and
      easy pairs of one stage pooled;
    - ``avs/num_samples``, ``avs/num_unreadable``, ``avs/num_no_audio``.

    Placeholders of unreadable videos (``unreadable=True`` in the metainfo,
    ``on_unreadable='miss'``, see :mod:`...datasets.unreadable`) count as
    wrong in every pair; they stay in the denominator and are counted in
    ``avs/num_unreadable`` (and logged). So do samples whose own or partner
    audio could not be read (``audio_valid=False``, ``AVSyncEvalAudio``
    then used silence, which would make a pair trivially right or
    meaningless): counted in ``avs/num_no_audio`` and logged with their
    ``audio_issue``.

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``. Default: ``'cpu'``.
        prefix (str, optional): Key prefix. Default: ``'avs'``.
    """

    default_prefix: Optional[str] = 'avs'

    def process(self, data_batch: Any, data_samples: Sequence[Dict]) -> None:
        """Keep each sample's ``[num_stages, 3]`` distances, stage names and
        unreadable flag."""
        for sample in data_samples:
            if 'avs_distances' not in sample:
                raise KeyError(
                    'AVSyncMetric needs "avs_distances" on every data sample '
                    '(AVSPretrainer predict mode); got keys '
                    f'{sorted(sample)} for {sample.get("filename")!r}')
            dist = sample['avs_distances']
            dist = dist.detach().cpu().numpy() if hasattr(
                dist, 'detach') else np.asarray(dist)
            stages = tuple(sample.get('avs_stages', ()))
            if dist.ndim != 2 or dist.shape[1] != 3 or \
                    len(stages) != dist.shape[0]:
                raise ValueError(
                    f'AVSyncMetric: avs_distances must be [num_stages, 3] '
                    f'with one name per stage in avs_stages; got '
                    f'{list(dist.shape)} and {stages} for '
                    f'{sample.get("filename")!r}')
            self.results.append(
                dict(distances=dist.astype(np.float64), stages=stages,
                     unreadable=bool(sample.get('unreadable', False)),
                     audio_valid=bool(sample.get('audio_valid', True)),
                     audio_issue=sample.get('audio_issue'),
                     filename=sample.get('filename')))

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('AVSyncMetric: no sample was evaluated')
        stages = results[0]['stages']
        if any(r['stages'] != stages for r in results):
            raise ValueError('AVSyncMetric: samples carry different '
                             'avs_stages')
        dist = np.stack([r['distances'] for r in results])  # [N, S, 3]
        hard = dist[..., ALIGNED] < dist[..., HARD]  # [N, S]
        easy = dist[..., ALIGNED] < dist[..., EASY]
        unreadable = np.array([r['unreadable'] for r in results])
        no_audio = np.array([not r['audio_valid'] and not r['unreadable']
                             for r in results])
        hard[unreadable | no_audio] = False
        easy[unreadable | no_audio] = False
        if no_audio.any():
            issues = [r['audio_issue'] or r['filename']
                      for r, bad in zip(results, no_audio) if bad]
            print_log(
                f'AVSyncMetric: {len(issues)} of {len(results)} samples have '
                f'unreadable own or partner audio and count as wrong: '
                f'{issues[:5]}' + (' ...' if len(issues) > 5 else ''),
                logger='current',
                level=logging.WARNING)
        if unreadable.any():
            names = [r['filename'] for r in results if r['unreadable']]
            print_log(
                f'AVSyncMetric: {len(names)} of {len(results)} samples are '
                f'unreadable and count as wrong: {names[:5]}' +
                (' ...' if len(names) > 5 else ''),
                logger='current',
                level=logging.WARNING)
        metrics = dict(
            sync_acc_hard=float(hard.mean()),
            sync_acc_easy=float(easy.mean()))
        metrics['sync_acc'] = (metrics['sync_acc_hard'] +
                               metrics['sync_acc_easy']) / 2
        for s, name in enumerate(stages):
            metrics[f'sync_acc_{name}'] = float(
                (hard[:, s].mean() + easy[:, s].mean()) / 2)
        metrics['num_samples'] = len(results)
        metrics['num_unreadable'] = int(unreadable.sum())
        metrics['num_no_audio'] = int(no_audio.sum())
        return metrics
