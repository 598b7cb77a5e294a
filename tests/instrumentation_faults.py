"""The fault check the SDK-facing suites run around every test: our own faults, and SDK misuse, fail it.

Our code logs its faults as "otel-llm-cost could not ..." (``log_once``); the SDK logs a span ended twice
or written after its end. Either means a promise broke even when the test's own assertions pass.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from otel_llm_cost._log import logger as package_logger

_SDK_MISUSE = ("Calling end() on an ended span", "Setting attribute on ended span", "on ended span")


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def checked() -> Iterator[Collector]:
    """Body of an autouse fixture: yields the collector, then asserts no fault was logged."""
    collector = Collector()
    sdk_logger = logging.getLogger("opentelemetry.sdk.trace")
    old_level = package_logger.level
    package_logger.setLevel(logging.DEBUG)  # log_once sends repeats to debug: see them all
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
