"""Fixtures for the wire capture tests: the instrumentor on an in-memory provider, and fault checks.

Every test also fails if the instrumentation logged one of its own faults ("otel-llm-cost could not ...")
or if the SDK saw a span ended twice or written after its end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost._log import logger as package_logger
from otel_llm_cost.instrumentation.wire import WireInstrumentor

_SDK_MISUSE = ("Calling end() on an ended span", "Setting attribute on ended span", "on ended span")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_instrumentation_faults() -> Iterator[_Collector]:
    collector = _Collector()
    sdk_logger = logging.getLogger("opentelemetry.sdk.trace")
    old_level = package_logger.level
    package_logger.setLevel(logging.DEBUG)
    package_logger.addHandler(collector)
    sdk_logger.addHandler(collector)
    yield collector
    package_logger.removeHandler(collector)
    sdk_logger.removeHandler(collector)
    package_logger.setLevel(old_level)
    faults = [
        r.getMessage()
        for r in collector.records
        if r.getMessage().startswith("otel-llm-cost could not")
        or any(m in r.getMessage() for m in _SDK_MISUSE)
    ]
    assert not faults, faults


@pytest.fixture
def wire(tracer_provider: TracerProvider) -> Iterator[WireInstrumentor]:
    """The wire capture on the test's provider, with no configured gateway hosts."""
    instrumentor = WireInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, hosts="")
    yield instrumentor
    instrumentor.uninstrument()
