"""Fixtures of the reliability suite: a recording tracer provider and the instrumentors, module-wide.

Hypothesis runs many examples per test function, so the fixtures the fuzz tests use are module-scoped and
cleared per example (:meth:`Recording.clear`); nothing sets a global provider.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reliability_checks import Recording

from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor


@pytest.fixture(scope="module")
def recording() -> Recording:
    return Recording()


@pytest.fixture(scope="module")
def instrumented(recording: Recording) -> Iterator[Recording]:
    """Both instrumentors on, recording into ``recording``, for the whole module."""
    openai_instrumentor, anthropic_instrumentor = OpenAIInstrumentor(), AnthropicInstrumentor()
    openai_instrumentor.instrument(tracer_provider=recording.provider)
    anthropic_instrumentor.instrument(tracer_provider=recording.provider)
    yield recording
    anthropic_instrumentor.uninstrument()
    openai_instrumentor.uninstrument()
