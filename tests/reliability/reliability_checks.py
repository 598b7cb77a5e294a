"""What every reliability test checks about the spans it produced, and the fixtures' building blocks.

- :class:`EndCounter`: a span processor counting starts and ends per span, so "every span ended exactly
  once" is checked by the SDK's own callbacks rather than inferred from an exporter.
- :func:`assert_sane_numbers`: no numeric attribute is negative, non-finite or too large for OTLP's int64.
- :class:`FaultLog`: collects our package's "could not" faults and the SDK's ended-span misuse warnings.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost._log import logger as package_logger

INT64_MAX = 2**63 - 1
_SDK_MISUSE = ("Calling end() on an ended span", "Setting attribute on ended span", "on ended span")


class EndCounter(SpanProcessor):
    """Counts ``on_start`` / ``on_end`` per span id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started: Counter[int] = Counter()
        self.ended: Counter[int] = Counter()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        with self._lock:
            self.started[span.context.span_id] += 1

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.ended[span.context.span_id] += 1

    def clear(self) -> None:
        with self._lock:
            self.started.clear()
            self.ended.clear()

    def assert_each_ended_once(self) -> None:
        with self._lock:
            open_spans = set(self.started) - set(self.ended)
            twice = {k: n for k, n in self.ended.items() if n != 1}
            unknown = set(self.ended) - set(self.started)
        assert not open_spans, f"{len(open_spans)} span(s) never ended"
        assert not twice, f"spans ended more than once: {twice}"
        assert not unknown, "spans ended that never started"


class Recording:
    """A tracer provider with an in-memory exporter and an :class:`EndCounter`."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.counter = EndCounter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.counter)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def clear(self) -> None:
        self.exporter.clear()
        self.counter.clear()

    def llm_spans(self) -> list[ReadableSpan]:
        return [
            s for s in self.exporter.get_finished_spans() if "gen_ai.operation.name" in (s.attributes or {})
        ]

    def check(self) -> list[ReadableSpan]:
        """Every span ended once, every number sane; returns the LLM spans."""
        self.counter.assert_each_ended_once()
        spans = self.llm_spans()
        for span in spans:
            assert_sane_numbers(span.attributes or {})
        return spans


def _numbers(value: object) -> Iterable[int | float]:
    if isinstance(value, bool):
        return ()
    if isinstance(value, int | float):
        return (value,)
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
    return ()


# The names we write. Others on our spans are the SDK's own (anthropic's native tracing, folded into our
# span, copies e.g. ``anthropic.message.stop_reason`` as the provider sent it) and are not ours to repair.
OWN_PREFIXES = ("gen_ai.", "llm_cost.")


def assert_sane_numbers(attributes: Mapping[str, object]) -> None:
    """No numeric attribute of ours (tokens, cost parts, durations) negative, non-finite or over int64."""
    for key, value in attributes.items():
        if not key.startswith(OWN_PREFIXES):
            continue
        for number in _numbers(value):
            assert math.isfinite(number), f"{key} = {number!r} is not finite"
            assert number >= 0, f"{key} = {number!r} is negative"
            if isinstance(number, int):
                assert number <= INT64_MAX, f"{key} = {number!r} does not fit OTLP's int64"


class FaultLog(logging.Handler):
    """Collects the package's own fault reports and the SDK's span-misuse warnings while attached."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.faults: list[str] = []
        self._old_level = package_logger.level

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("otel-llm-cost could not") or any(m in message for m in _SDK_MISUSE):
            self.faults.append(logging.Formatter("%(message)s").format(record))  # with its traceback

    def __enter__(self) -> FaultLog:
        package_logger.setLevel(logging.DEBUG)  # log_once sends repeats to debug: see them all
        package_logger.addHandler(self)
        logging.getLogger("opentelemetry.sdk.trace").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        package_logger.removeHandler(self)
        logging.getLogger("opentelemetry.sdk.trace").removeHandler(self)
        package_logger.setLevel(self._old_level)
