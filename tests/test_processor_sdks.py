"""LLMCostSpanProcessor on spans made by real producers, driven through the real SDKs over loopback replay.

Producers: OpenTelemetry's official ``opentelemetry-instrumentation-genai-openai`` / ``-genai-anthropic``,
OpenLLMetry's ``opentelemetry-instrumentation-openai`` / ``-anthropic``, and anthropic's own native spans.
Each test is skipped when its producer is not installed. Expected amounts are worked out by hand from
the published prices (per million tokens) and the recorded usage.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import attributes as attr
from otel_llm_cost.pricing import Pricer
from otel_llm_cost.processor import LLMCall, LLMCostSpanProcessor
from sdk_methods import sdk_methods_restored

OPENAI_CACHED = (
    "traceloop+openllmetry/packages/opentelemetry-instrumentation-langchain/tests/cassettes/test_llms/"
    "test_openai.yaml"
)
ANTHROPIC_CACHED = (
    "Arize-ai+openinference/python/instrumentation/openinference-instrumentation-litellm/tests/cassettes/"
    "TestTokenCounts.test_anthropic.yaml"
)
ANTHROPIC_CACHING_STREAMS = (
    "traceloop+openllmetry/packages/opentelemetry-instrumentation-anthropic/tests/cassettes/test_prompt_caching/"
    "test_anthropic_prompt_caching_stream_legacy.yaml"
)
# gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output. 1497 input of which 1408 cached, 1037 output.
GPT_4O_MINI_COST = 89 * 0.15e-6 + 1408 * 0.075e-6 + 1037 * 0.6e-6
# claude-3-5-haiku: $0.80 input, $1 cache write, $0.08 cache read, $4 output.
# 100 uncached + 5 written + 2 read input tokens, 21 output.
HAIKU_COST = 100 * 0.8e-6 + 5 * 1e-6 + 2 * 0.08e-6 + 21 * 4e-6

pytestmark = [
    pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:Support for class-based `config` is deprecated"
    ),  # OpenLLMetry's models
]


class Traced:
    """An in-memory provider with the processor under test, and what it exported."""

    def __init__(self) -> None:
        self.calls: list[LLMCall] = []
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(LLMCostSpanProcessor(Pricer(), on_llm_span=self._seen))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("app")

    def _seen(self, span: ReadableSpan, call: LLMCall) -> None:
        self.calls.append(call)

    def spans(self, scope: str) -> list[ReadableSpan]:
        found = self.exporter.get_finished_spans()
        return [
            s for s in found if s.instrumentation_scope and s.instrumentation_scope.name.startswith(scope)
        ]

    def attributes(self, name: str) -> dict[str, Any]:
        (span,) = [s for s in self.exporter.get_finished_spans() if s.name == name]
        return dict(span.attributes)


@pytest.fixture
def traced() -> Traced:
    return Traced()


@contextmanager
def instrumented(module: str, traced: Traced) -> Iterator[None]:
    """Instrument with ``module``'s instrumentor on the test's provider only, and undo it afterwards."""
    instrumentor_module = importlib.import_module(module)  # pinned in requirements/test.txt
    name = "OpenAIInstrumentor" if "openai" in module else "AnthropicInstrumentor"
    instrumentor = getattr(instrumentor_module, name)()
    with sdk_methods_restored("openai", "anthropic"):
        instrumentor.instrument(tracer_provider=traced.provider)
        try:
            yield
        finally:
            instrumentor.uninstrument()


def openai_chat(replay_server, traced: Traced) -> None:
    with replay_server(OPENAI_CACHED) as srv, traced.tracer.start_as_current_span("agent"):
        client = openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


def anthropic_client(srv: Any, traced: Traced, **telemetry: Any) -> Any:
    options = {"tracer_provider": traced.provider, **telemetry}
    return anthropic.Anthropic(base_url=srv.base_url, api_key="test", max_retries=0, open_telemetry=options)


def anthropic_message(replay_server, traced: Traced, **telemetry: Any) -> None:
    with replay_server(ANTHROPIC_CACHED, prefix="") as srv, traced.tracer.start_as_current_span("agent"):
        client = anthropic_client(srv, traced, **telemetry)
        client.messages.create(
            model="claude-3-5-haiku-20241022", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )


def assert_one_call(traced: Traced, amount: float) -> None:
    totals = traced.attributes("agent")
    assert totals[attr.LLM_COST_TOTAL_LLM_CALLS] == 1
    assert totals[attr.LLM_COST_TOTAL_COST] == pytest.approx(amount, rel=1e-9)
    assert [float(call.amount or 0) for call in traced.calls] == [pytest.approx(amount, rel=1e-9)]


@pytest.mark.parametrize(
    "module",
    ["opentelemetry.instrumentation.genai.openai", "opentelemetry.instrumentation.openai"],
    ids=["official", "openllmetry"],
)
def test_openai_instrumentation_spans_are_priced(replay_server, traced, module):
    with instrumented(module, traced):
        openai_chat(replay_server, traced)
    (span,) = traced.spans(module)
    assert span.attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(GPT_4O_MINI_COST, rel=1e-9)
    assert span.attributes[attr.LLM_COST_PRICING_MODEL] == "gpt-4o-mini"
    totals = traced.attributes("agent")
    assert (totals[attr.LLM_COST_TOTAL_INPUT_TOKENS], totals[attr.LLM_COST_TOTAL_CACHE_READ_TOKENS]) == (
        1497,
        1408,
    )
    assert_one_call(traced, GPT_4O_MINI_COST)


def test_anthropic_native_spans_are_priced(replay_server, traced):
    anthropic_message(replay_server, traced)
    (span,) = traced.spans("com.anthropic")
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 107  # inclusive: 100 + 5 written + 2 read
    assert span.attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(HAIKU_COST, rel=1e-9)
    assert traced.attributes("agent")[attr.LLM_COST_TOTAL_CACHE_WRITE_TOKENS] == 5
    assert_one_call(traced, HAIKU_COST)


def test_anthropic_native_streams_roll_up_to_their_step(replay_server, traced):
    with (
        replay_server(ANTHROPIC_CACHING_STREAMS, prefix="") as srv,
        traced.tracer.start_as_current_span("agent"),
    ):
        client = anthropic_client(srv, traced)
        for _ in range(2):
            stream = client.messages.create(
                model="claude-3-5-sonnet-20240620",
                max_tokens=500,
                stream=True,
                messages=[{"role": "user", "content": "hi"}],
            )
            for _event in stream:
                pass
    # claude-3-5-sonnet: $3 input, $3.75 cache write, $0.30 cache read, $15 output.
    first = 4 * 3e-6 + 1165 * 3.75e-6 + 201 * 15e-6
    second = 4 * 3e-6 + 1165 * 0.3e-6 + 221 * 15e-6
    totals = traced.attributes("agent")
    assert totals[attr.LLM_COST_TOTAL_COST] == pytest.approx(first + second, rel=1e-9)
    assert totals[attr.LLM_COST_TOTAL_LLM_CALLS] == 2
    assert totals[attr.LLM_COST_TOTAL_INPUT_TOKENS] == 2 * (4 + 1165)
    assert (
        totals[attr.LLM_COST_TOTAL_CACHE_WRITE_TOKENS],
        totals[attr.LLM_COST_TOTAL_CACHE_READ_TOKENS],
    ) == (1165, 1165)
    assert totals[attr.LLM_COST_TOTAL_OUTPUT_TOKENS] == 201 + 221


def test_official_anthropic_span_wrapping_the_native_one_counts_once(replay_server, traced):
    with instrumented("opentelemetry.instrumentation.genai.anthropic", traced):
        anthropic_message(replay_server, traced)
    (wrapper,) = traced.spans("opentelemetry.instrumentation.genai.anthropic")
    (native,) = traced.spans("com.anthropic")
    assert native.parent is not None and native.parent.span_id == wrapper.context.span_id
    assert attr.LLM_COST_COST_STATUS not in wrapper.attributes  # a wrapper: its child is the call
    assert wrapper.attributes[attr.LLM_COST_TOTAL_LLM_CALLS] == 1
    assert_one_call(traced, HAIKU_COST)


def test_official_anthropic_root_span_wrapping_the_native_one_counts_once(replay_server, traced):
    # No span of the application around the call: the official span is a root, tracked once the
    # native span starts below it (the processor leaves lone roots untracked).
    with (
        instrumented("opentelemetry.instrumentation.genai.anthropic", traced),
        replay_server(ANTHROPIC_CACHED, prefix="") as srv,
    ):
        anthropic_client(srv, traced).messages.create(
            model="claude-3-5-haiku-20241022", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
    (wrapper,) = traced.spans("opentelemetry.instrumentation.genai.anthropic")
    (native,) = traced.spans("com.anthropic")
    assert wrapper.parent is None and native.parent.span_id == wrapper.context.span_id
    assert attr.LLM_COST_COST_STATUS not in wrapper.attributes
    assert wrapper.attributes[attr.LLM_COST_TOTAL_COST] == pytest.approx(HAIKU_COST, rel=1e-9)
    assert [float(call.amount or 0) for call in traced.calls] == [pytest.approx(HAIKU_COST, rel=1e-9)]


def test_openllmetry_and_native_sibling_spans_count_once(replay_server, traced):
    with instrumented("opentelemetry.instrumentation.anthropic", traced):
        anthropic_message(replay_server, traced)
    (openllmetry,) = traced.spans("opentelemetry.instrumentation.anthropic")
    (native,) = traced.spans("com.anthropic")
    assert openllmetry.parent == native.parent  # siblings: the tree alone cannot tell they are one call
    for span in (openllmetry, native):
        assert span.attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(HAIKU_COST, rel=1e-9)
    assert_one_call(traced, HAIKU_COST)


def test_anthropic_without_native_spans_gives_nothing_to_price(replay_server, traced):
    anthropic_message(replay_server, traced, traces=False)
    assert [span.name for span in traced.exporter.get_finished_spans()] == ["agent"]
    assert attr.LLM_COST_TOTAL_COST not in traced.attributes("agent")
    assert traced.calls == []
