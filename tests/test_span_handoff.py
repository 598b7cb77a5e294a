"""Our instrumentation hands the cost processor its figures: the same ones the span's attributes give."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import attributes as attr
from otel_llm_cost import processor as processor_module
from otel_llm_cost._span_usage import handed_over, read_span_usage
from otel_llm_cost.instrumentation._invocation import LLMInvocation
from otel_llm_cost.processor import LLMCall, LLMCostSpanProcessor
from otel_llm_cost.usage import Usage

USAGE = Usage.of(1_200, 300, cache_read_tokens=1_000, reasoning_tokens=100)


def _call(provider: TracerProvider, usage: Usage | None = USAGE) -> LLMInvocation:
    invocation = LLMInvocation(
        provider.get_tracer("test"),
        operation="chat",
        provider="openai",
        request_model="gpt-4o",
        attributes={},
    )
    invocation.stop(
        usage,
        response_model="gpt-4o-2024-08-06",
        response_attributes={attr.GEN_AI_RESPONSE_ID: "chatcmpl-1"},
    )
    return invocation


def test_the_handoff_says_what_the_attributes_say(tracer_provider: Any, exporter: Any) -> None:
    invocation = _call(tracer_provider)
    (span,) = exporter.get_finished_spans()
    handed, read = handed_over(invocation.span), read_span_usage(span.attributes)
    assert handed is not None and read is not None
    assert handed._replace(cost_amount=None) == read._replace(cost_amount=None)
    assert handed.cost_amount is not None and read.cost_amount is not None
    assert float(handed.cost_amount) == float(read.cost_amount)
    assert handed.cost_status == attr.COST_PRICED
    assert handed.response_id == "chatcmpl-1"


def test_nothing_is_handed_over_without_usage(tracer_provider: Any) -> None:
    assert handed_over(_call(tracer_provider, usage=None).span) is None


def test_the_processor_counts_our_call_without_reading_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    read_back: list[object] = []

    def reading(attributes: Any) -> Any:
        read_back.append(attributes)
        return read_span_usage(attributes)

    monkeypatch.setattr(processor_module, "read_span_usage", reading)
    calls: list[LLMCall] = []
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(LLMCostSpanProcessor(on_llm_span=lambda span, call: calls.append(call)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("agent"):
        invocation = _call(provider)
    assert read_back == []
    (call,) = calls
    assert call.usage == USAGE
    assert (call.model, call.provider, call.status) == ("gpt-4o-2024-08-06", "openai", attr.COST_PRICED)
    assert call.amount == handed_over(invocation.span).cost_amount  # type: ignore[union-attr]
    agent = exporter.get_finished_spans()[-1].attributes
    assert agent[attr.LLM_COST_TOTAL_LLM_CALLS] == 1
    assert agent[attr.LLM_COST_TOTAL_INPUT_TOKENS] == 1_200
    assert Decimal(str(agent[attr.LLM_COST_TOTAL_COST])) == call.amount
