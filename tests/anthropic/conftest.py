"""Fixtures for the Anthropic instrumentation tests: in-memory providers, the instrumentor, expectations.

Nothing here sets a global provider: the instrumentor gets ``tracer_provider`` as an argument.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost._log import reset_log_once
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor


@pytest.fixture
def instrumented(tracer_provider: TracerProvider) -> Iterator[AnthropicInstrumentor]:
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    reset_log_once()
    yield instrumentor
    instrumentor.uninstrument()
