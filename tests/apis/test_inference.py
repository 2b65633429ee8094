"""mmaction_avslowfast.apis: predictions, blanked senses, class names."""
import numpy as np
import pytest
import torch
from av_fixtures import DEMO_CONFIG, LOW_HZ, TONE_CLASSES

from mmaction_avslowfast.apis import (BUILTIN_LABEL_MAPS, class_names_of,
                                      compare_modalities, inference_av,
                                      init_av_recognizer, read_label_map,
                                      topk_classes)
from mmaction_avslowfast.audio import silence_value
from mmaction_avslowfast.testing.synthetic_media import mel_bin


@pytest.fixture(scope='module')
def demo_model(demo_checkpoint):
    return init_av_recognizer(DEMO_CONFIG, demo_checkpoint, device='cpu')


@pytest.mark.parametrize('name', ['low', 'silent'])
def test_audiovisual_equals_inference_recognizer(demo_model, api_media,
                                                 name):
    """blank=None is mmaction's inference path, bit for bit (demo config,
    random weights), with and without an audio track."""
    from mmaction.apis import inference_recognizer
    ours = inference_av(demo_model, api_media[name])
    theirs = inference_recognizer(demo_model, api_media[name])
    assert torch.equal(ours.pred_score, theirs.pred_score)
    assert ours.metainfo['audio_valid'] == (name != 'silent')


def test_blanked_inputs_are_silence_and_mean_grey(tone_model, api_media):
    """What the backbone receives in each condition: audio -> the log-mel
    of digital silence (not 0), frames -> zeros of the normalised input;
    the other modality untouched."""
    video = api_media['low']
    seen = {}
    results = {}
    for blank in (None, 'audios', 'imgs'):
        results[blank] = inference_av(tone_model, video, blank=blank)
        seen[blank] = tone_model.backbone.seen
    silence = silence_value()
    assert silence == pytest.approx(-2.4444, abs=1e-4)
    assert torch.all(seen['audios']['audios'] == np.float32(silence))
    assert torch.equal(seen['audios']['imgs'], seen[None]['imgs'])
    assert torch.all(seen['imgs']['imgs'] == 0)
    assert torch.equal(seen['imgs']['audios'], seen[None]['audios'])
    assert seen[None]['imgs'].abs().max() > 0.5
    # the tone model: a low tone is low_tone; silence is neither
    assert results[None].pred_score.argmax() == 0
    assert results[None].pred_score[0] > 0.99
    assert torch.allclose(results['audios'].pred_score, torch.tensor(0.5))
    assert torch.equal(results['imgs'].pred_score, results[None].pred_score)


def test_missing_audio_is_the_same_silence(tone_model, api_media):
    """A video without sound is predicted with the same silence as the
    audio_silenced condition (on_missing_audio='zeros')."""
    comparison = compare_modalities(tone_model, api_media['silent'])
    assert comparison.sample['audio_valid'] is False
    assert torch.all(tone_model.backbone.seen['audios'] == np.float32(
        comparison.silence))
    np.testing.assert_array_equal(comparison.scores['audiovisual'],
                                  comparison.scores['audio_silenced'])


def test_conditions_blank_through_blank_inputs(tone_model, api_media,
                                              monkeypatch):
    """compare_modalities and the timeline blank with the package's one
    function (modality_blanking.blank_inputs), after the data
    preprocessor: audio -> 'silence' with the pipeline's value, frames ->
    'mean'. A stand-in filling 7.0 shows its result reaches the model."""
    from mmaction_avslowfast.apis import inference_timeline
    from mmaction_avslowfast.models.recognizers import modality_blanking
    calls = []

    def fake(inputs, fills, data_preprocessor=None, silence=None):
        if fills:  # the model's own call (no blank_modalities) is empty
            calls.append((dict(fills), silence, data_preprocessor))
        return {m: torch.full_like(x, 7.0) if m in fills else x
                for m, x in inputs.items()}

    monkeypatch.setattr(modality_blanking, 'blank_inputs', fake)
    comparison = compare_modalities(tone_model, api_media['low'])
    assert comparison.silence == silence_value()
    assert [c[:2] for c in calls] == [({'audios': 'silence'}, silence_value()),
                                      ({'imgs': 'mean'}, silence_value())]
    assert all(c[2] is tone_model.data_preprocessor for c in calls)
    assert torch.all(tone_model.backbone.seen['imgs'] == 7.0)  # last: imgs
    assert not torch.any(tone_model.backbone.seen['audios'] == 7.0)
    calls.clear()
    inference_timeline(tone_model, api_media['low'], blank='audios')
    assert calls and all(c[:2] == ({'audios': 'silence'}, silence_value())
                         for c in calls)
    assert torch.all(tone_model.backbone.seen['audios'] == 7.0)


def test_compare_modalities(tone_model, api_media):
    comparison = compare_modalities(tone_model, api_media['high'])
    assert list(comparison.scores) == ['audiovisual', 'audio_silenced',
                                       'frames_blanked']
    assert comparison.scores['audiovisual'].argmax() == 1
    assert comparison.num_views == 3
    assert comparison.clip_times.shape == (3, 16)
    assert not comparison.looped
    assert comparison.sample['total_frames'] == 48


def test_short_video_loops_frames_and_audio(tone_model, api_media):
    """16 frames < one 31-frame clip: SampleFrames loops, so does the
    audio (the low tone is heard in every clip)."""
    comparison = compare_modalities(tone_model, api_media['short'])
    assert comparison.looped
    times = comparison.clip_times
    assert times.min() >= 0 and times.max() < 1.0
    assert np.any(np.diff(times, axis=1) < 0)
    assert comparison.scores['audiovisual'].argmax() == 0
    audios = tone_model.backbone.seen['audios']  # frames_blanked: real audio
    assert audios.shape == (3, 1, 64, 80)
    # every log-mel frame of every clip hears the tone: no silent padding
    assert torch.all(audios[:, 0, :, mel_bin(LOW_HZ)] > silence_value() + 1)


def test_class_names(tone_model, tmp_path):
    assert class_names_of(tone_model, 2) == TONE_CLASSES
    label_map = tmp_path / 'names.txt'
    label_map.write_text('a\n\nb\n')
    assert class_names_of(tone_model, 2, str(label_map)) == ['a', 'b']
    with pytest.raises(ValueError, match='names 400 classes'):
        class_names_of(tone_model, 2, 'k400')
    tone_model_without = type('M', (), {'dataset_meta': {}})()
    assert class_names_of(tone_model_without, 2) is None


def test_shipped_kinetics_label_map():
    names = read_label_map('k400')
    assert BUILTIN_LABEL_MAPS['k400'].endswith('label_map_k400.txt')
    assert len(names) == len(set(names)) == 400
    assert names[:2] == ['abseiling', 'air drumming']
    assert names[-1] == 'zumba'
    assert names == sorted(names)


def test_topk_classes():
    ranked = topk_classes(np.array([0.1, 0.5, 0.1, 0.3]), 3, list('abcd'))
    expected = [(1, 'b'), (3, 'd'), (0, 'a')]
    assert [(r.index, r.name) for r in ranked] == expected
    assert topk_classes(np.array([0.2, 0.8]), 5)[0].name == 'class 1'
