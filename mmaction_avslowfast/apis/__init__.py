"""Use a trained AVSlowFast recognizer on a video.

- :func:`init_av_recognizer`: config + checkpoint -> model (keeps the
  checkpoint's class names);
- :func:`inference_av`: one video through the config's test pipeline, as
  :func:`mmaction.apis.inference_recognizer`, optionally with the audio
  replaced by digital silence (``blank='audios'``) or the frames by mean
  grey (``blank='imgs'``); :func:`compare_modalities` runs the three
  conditions (:mod:`.conditions`);
- :func:`inference_timeline`: one clip every ``stride`` seconds;
- :func:`av_gradcam`: Grad-CAM of a class over the frames and the log-mel
  of the first test view (:mod:`.gradcam`);

Importing it imports (registers) the plugin first, as any
``mmaction_avslowfast`` submodule does.
"""
from .conditions import (CONDITION_TITLES, CONDITIONS, forward_blanked,
                         pipeline_silence_value)
from .gradcam import AVGradCAM, av_gradcam
from .inference import (ModalityComparison, build_test_pipeline,
                        compare_modalities, inference_av, init_av_recognizer,
                        run_test_pipeline)
from .labels import (BUILTIN_LABEL_MAPS, RankedClass, class_names_of,
                     read_label_map, resolve_label_map, topk_classes)
from .media import (TrackLogMel, VideoSummary, describe_video, frame_strip,
                    track_logmel)
from .timeline import (Timeline, WindowFrames, inference_timeline,
                       save_timeline, timeline_rows, window_offsets)

__all__ = [
    'init_av_recognizer', 'inference_av', 'compare_modalities',
    'build_test_pipeline', 'run_test_pipeline', 'ModalityComparison',
    'CONDITIONS', 'CONDITION_TITLES', 'forward_blanked',
    'pipeline_silence_value', 'inference_timeline', 'Timeline',
    'WindowFrames', 'window_offsets', 'save_timeline', 'timeline_rows',
    'BUILTIN_LABEL_MAPS', 'RankedClass', 'read_label_map',
    'resolve_label_map', 'class_names_of', 'topk_classes', 'VideoSummary',
    'describe_video', 'frame_strip', 'TrackLogMel', 'track_logmel',
    'av_gradcam', 'AVGradCAM'
]
