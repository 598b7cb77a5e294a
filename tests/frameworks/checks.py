"""What every framework scenario must show, with otel-llm-cost on (and what must not change when off)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import genai_prices
from loopback import RecordingServer, Sent
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from otel_llm_cost import agent_step
from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.processor import LLMCostSpanProcessor

OURS = "otel_llm_cost.instrumentation"
STEP = "scenario"
PHASES = (
    attr.LLM_COST_PHASE_PRE_PROCESSING,
    attr.LLM_COST_PHASE_TIME_TO_FIRST_TOKEN,
    attr.LLM_COST_PHASE_GENERATION,
    attr.LLM_COST_PHASE_TOOL,
    attr.LLM_COST_PHASE_POST_PROCESSING,
)

# A scenario drives a framework against the server, exporting any framework spans to the provider;
# it returns what the framework produced (compared on and off) and the framework's own usage figures.
Scenario = Callable[[RecordingServer, TracerProvider], tuple[Any, Any]]


@dataclass
class Run:
    outputs: Any
    usage: Any
    sent: list[Sent]
    spans: list[ReadableSpan] = field(default_factory=list)

    def ours(self) -> list[ReadableSpan]:
        """Our LLM call spans (a call refused before sending is not one)."""
        return [
            s
            for s in self.spans
            if s.instrumentation_scope is not None
            and s.instrumentation_scope.name.startswith(OURS)
            and s.attributes.get(attr.LLM_COST_REQUEST_SENT) is not False
        ]

    def step(self) -> ReadableSpan:
        (step,) = [s for s in self.spans if s.name == f"invoke_agent {STEP}"]
        return step


def run(scenario: Scenario, *, instrumented: bool) -> Run:
    """Run ``scenario`` once on a fresh server (so ids restart), inside one agent step."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(LLMCostSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentors = [OpenAIInstrumentor(), AnthropicInstrumentor()] if instrumented else []
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider, capture_message_content=False)
    try:
        with RecordingServer() as server, agent_step(STEP, tracer_provider=provider):
            outputs, usage = scenario(server, provider)
        sent = list(server.sent)
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
    provider.force_flush()
    return Run(outputs, usage, sent, list(exporter.get_finished_spans()))


def expected_cost(sent: Sent) -> Decimal:
    usage = genai_prices.Usage(
        input_tokens=sent.input_tokens,
        output_tokens=sent.output_tokens,
        cache_read_tokens=sent.cache_read or None,
        cache_write_tokens=sent.cache_write or None,
    )
    return genai_prices.calc_price(usage, sent.model, provider_id=sent.provider).total_price


def check_calls(run_on: Run) -> None:
    """Exactly one LLM span of ours per answer sent, with the server's tokens and genai-prices' cost."""
    spans = run_on.ours()
    assert run_on.sent, "the scenario sent nothing"
    assert len(spans) == len(run_on.sent), ([s.name for s in spans], run_on.sent)
    by_id = {s.attributes[attr.GEN_AI_RESPONSE_ID]: s for s in spans}
    assert sorted(by_id) == sorted(sent.response_id for sent in run_on.sent)  # ids are unique per call
    for sent in run_on.sent:
        span = by_id[sent.response_id]
        attributes = span.attributes
        assert span.status.status_code is not StatusCode.ERROR, span.status
        if sent.input_tokens is None:  # a stream sent without usage (none asked for): estimated
            assert attributes[attr.LLM_COST_USAGE_SOURCE] == "estimated"
            continue
        assert attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == sent.input_tokens, sent
        assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == sent.output_tokens, sent
        assert attributes[attr.LLM_COST_USAGE_SOURCE] == "provider"
        assert Decimal(str(attributes[attr.GEN_AI_USAGE_COST_AMOUNT])) == expected_cost(sent), sent
        if sent.streamed:
            assert attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


def check_step(run_on: Run) -> None:
    """The step's totals are the sum of its calls, and its phases add up to its duration."""
    step = run_on.step().attributes
    calls = run_on.ours()
    assert step[attr.LLM_COST_TOTAL_LLM_CALLS] == len(calls)
    assert step[attr.LLM_COST_TOTAL_INPUT_TOKENS] == sum(
        c.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] for c in calls
    )
    assert step[attr.LLM_COST_TOTAL_OUTPUT_TOKENS] == sum(
        c.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] for c in calls
    )
    total = sum(Decimal(str(c.attributes.get(attr.GEN_AI_USAGE_COST_AMOUNT, 0))) for c in calls)
    assert abs(Decimal(str(step[attr.LLM_COST_TOTAL_COST])) - total) < Decimal("1e-9")
    span = run_on.step()
    duration = (span.end_time - span.start_time) / 1e9
    phases = sum(step.get(name, 0.0) for name in PHASES)
    assert abs(phases - duration) <= max(0.002, duration * 0.01), (phases, duration)


def check_same(run_on: Run, run_off: Run) -> None:
    """The framework saw the same answers and reports the same usage with otel-llm-cost on and off."""
    assert run_on.outputs == run_off.outputs
    assert run_on.usage == run_off.usage
    # The same requests (ids restart with each server); the wire may differ where we asked for usage.
    assert [s.response_id for s in run_on.sent] == [s.response_id for s in run_off.sent]


def check_scenario(scenario: Scenario) -> tuple[Run, Run]:
    on = run(scenario, instrumented=True)
    off = run(scenario, instrumented=False)
    assert off.ours() == []
    check_same(on, off)  # first: it needs no capture of ours (see test_litellm.py)
    check_calls(on)
    check_step(on)
    return on, off


def texts(items: Sequence[Any]) -> list[str]:
    return [str(item) for item in items]
