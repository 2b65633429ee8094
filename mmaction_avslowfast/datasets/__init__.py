from . import ava_audio_dataset, transforms  # noqa: F401
