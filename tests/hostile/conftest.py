"""Fixtures of the hostile-input suite (helpers in ``hostile_support``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_support import Recorded

from otel_llm_cost._log import reset_log_once


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[Recorded]:
    recording = Recorded(tmp_path / "spans.jsonl")
    yield recording
    recording.provider.shutdown()


@pytest.fixture(autouse=True)
def _fresh_log_once() -> Iterator[None]:
    reset_log_once()
    yield
    reset_log_once()


@pytest.fixture
def package_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of the package's loggers, debug included."""
    caplog.set_level(logging.DEBUG, logger="otel_llm_cost")
    return caplog
