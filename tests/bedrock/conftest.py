"""Fixtures of the Bedrock tests: the botocore instrumentor on an in-memory provider (never global)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost._log import reset_log_once
from otel_llm_cost.instrumentation.botocore import BotocoreInstrumentor


@pytest.fixture
def instrumented(tracer_provider: TracerProvider) -> Iterator[BotocoreInstrumentor]:
    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    reset_log_once()
    yield instrumentor
    instrumentor.uninstrument()
