"""Fixtures for the budget and detector tests: in-memory providers, instrumentors with a guard.

Nothing here sets a global provider: the instrumentors get ``tracer_provider`` as an argument and the
guard gets a meter from an in-memory ``MeterProvider``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost._log import logger as package_logger
from otel_llm_cost._log import reset_log_once
from otel_llm_cost.budget import BudgetGuard
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor

ANTHROPIC_MODEL = "claude-3-5-haiku-20241022"


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def no_instrumentation_faults() -> Iterator[None]:
    """Fails a test in which our code logged one of its own faults (they must never happen)."""
    reset_log_once()
    collector = _Collector()
    old_level = package_logger.level
    package_logger.setLevel(logging.DEBUG)
    package_logger.addHandler(collector)
    yield
    package_logger.removeHandler(collector)
    package_logger.setLevel(old_level)
    faults = [
        m for m in collector.messages if m.startswith("otel-llm-cost could not") or "listener failed" in m
    ]
    assert not faults, faults


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter(metric_reader: InMemoryMetricReader) -> Any:
    return MeterProvider(metric_readers=[metric_reader]).get_meter("budget-tests")


@pytest.fixture
def guarded(tracer_provider: TracerProvider) -> Iterator[Callable[[BudgetGuard], None]]:
    """``guarded(guard)`` instruments openai and anthropic with ``guard``; undone at teardown."""
    instrumentors: list[Any] = []

    def install(guard: BudgetGuard) -> None:
        for instrumentor in (OpenAIInstrumentor(), AnthropicInstrumentor()):
            instrumentor.instrument(tracer_provider=tracer_provider, budget_guard=guard)
            instrumentors.append(instrumentor)

    yield install
    for instrumentor in instrumentors:
        instrumentor.uninstrument()


@pytest.fixture
def anthropic_message() -> Callable[..., dict[str, Any]]:
    """``anthropic_message(input_tokens, output_tokens)``: a Messages API response body (wire JSON)."""
    return _anthropic_message


@pytest.fixture
def metric_points(metric_reader: InMemoryMetricReader) -> Callable[[str], list[Any]]:
    """``metric_points(name)``: the data points of one metric, collected now."""
    return lambda name: _metric_points(metric_reader, name)


def _anthropic_message(input_tokens: int = 12, output_tokens: int = 5, model: str = ANTHROPIC_MODEL) -> dict:
    return {
        "id": "msg_scripted",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "hello"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def _metric_points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    if data is None:
        return []
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]
