"""Fixtures of the reliability suite: a recording tracer provider and the instrumentors, module-wide.

Hypothesis runs many examples per test function, so the fixtures the fuzz tests use are module-scoped and
cleared per example (:meth:`Recording.clear`); nothing sets a global provider.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The suite's helper modules (reliability_*.py) sit next to this file; pyproject's pythonpath may not
# list this folder yet.
_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from reliability_checks import Recording  # noqa: E402

from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor  # noqa: E402
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor  # noqa: E402


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
