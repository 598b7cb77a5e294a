"""Fixtures for the OpenAI instrumentation tests: in-memory OTel providers passed to ``instrument()``.

Every test also fails if the instrumentation logged one of its own faults ("otel-llm-cost could not ...")
or if the SDK saw a span ended twice or written after its end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from instrumentation_faults import Collector, checked
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor


@pytest.fixture(autouse=True)
def no_instrumentation_faults() -> Iterator[Collector]:
    yield from checked()


@pytest.fixture
def instrument(tracer_provider: TracerProvider) -> Iterator[OpenAIInstrumentor]:
    """Instrumented without message content."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, capture_message_content=False)
    yield instrumentor
    instrumentor.uninstrument()


@pytest.fixture
def instrument_with_content(tracer_provider: TracerProvider) -> Iterator[OpenAIInstrumentor]:
    """Instrumented with message content capture on."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, capture_message_content=True)
    yield instrumentor
    instrumentor.uninstrument()
