"""Fixtures of the hook tests."""
import logging
from itertools import count

import pytest
from mmengine.logging import MMLogger

_logger_ids = count()


class LogRecords(list):
    """The records a logger emitted, with their messages by level."""

    def messages(self, level):
        return [r.getMessage() for r in self if r.levelno == level]


@pytest.fixture
def log_records():
    """Records of a fresh ``MMLogger``, the 'current' one while in use."""
    logger = MMLogger.get_instance(f'hook_test_log_{next(_logger_ids)}')
    records = LogRecords()
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
