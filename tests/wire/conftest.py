"""Fixtures for the wire capture tests: the instrumentor on an in-memory provider, and fault checks.

Every test also fails if the instrumentation logged one of its own faults ("otel-llm-cost could not ...")
or if the SDK saw a span ended twice or written after its end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from instrumentation_faults import Collector, checked
from otel_llm_cost.instrumentation.wire import WireInstrumentor


@pytest.fixture(autouse=True)
def no_instrumentation_faults() -> Iterator[Collector]:
    yield from checked()


@pytest.fixture
def wire(tracer_provider: TracerProvider) -> Iterator[WireInstrumentor]:
    """The wire capture on the test's provider, with no configured gateway hosts."""
    instrumentor = WireInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, hosts="")
    yield instrumentor
    instrumentor.uninstrument()
