"""LLMCostSpanProcessor: pricing spans that other instrumentations made, under each one's conventions."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import reset_log_once
from otel_llm_cost.pricing import Cost, Pricer
from otel_llm_cost.processor import LLMCall, LLMCostSpanProcessor
from otel_llm_cost.usage import Usage

_Z = Decimal(0)


@dataclass
class StubPricer:
    """Prices every call at ``amount`` and remembers what it was asked."""

    amount: Decimal | None = Decimal("0.01")
    calls: list[dict[str, Any]] = field(default_factory=list)

    def price(self, usage, model, provider, *, at=None, service_tier=None, provider_cost=None):
        self.calls.append(
            {
                "usage": usage,
                "model": model,
                "provider": provider,
                "at": at,
                "tier": service_tier,
                "provider_cost": provider_cost,
            }
        )
        if self.amount is None:
            return Cost("unpriced", None, _Z, _Z, _Z, _Z, _Z)
        return Cost("priced", self.amount, self.amount, _Z, _Z, _Z, _Z, pricing_version="stub 1")


class Harness:
    def __init__(self, pricer=None, limits: SpanLimits | None = None, **options: Any) -> None:
        self.pricer = pricer if pricer is not None else StubPricer()
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(span_limits=limits) if limits else TracerProvider()
        self.processor = LLMCostSpanProcessor(self.pricer, **options)
        self.provider.add_span_processor(self.processor)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("test")

    def span(self, attributes: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Emit one span with ``attributes`` and return what the exporter saw."""
        with self.tracer.start_as_current_span("chat", **kwargs) as span:
            span.set_attributes(attributes)
        return dict(self.exporter.get_finished_spans()[-1].attributes)


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture(autouse=True)
def _fresh_log_once():
    reset_log_once()


# One span per producer, with the attributes it writes for the same Anthropic call:
# 40 uncached + 500 cache read + 60 cache written input tokens, 70 output of which 20 thinking.
ANTHROPIC_CALL = Usage.of(600, 70, cache_read_tokens=500, cache_write_tokens=60, reasoning_tokens=20)
PRODUCERS = {
    "genai-semconv (official instrumentations, ours)": {
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 600,
        "gen_ai.usage.output_tokens": 70,
        "gen_ai.usage.cache_read.input_tokens": 500,
        "gen_ai.usage.cache_write.input_tokens": 60,
        "gen_ai.usage.reasoning.output_tokens": 20,
    },
    "anthropic native tracing": {
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 600,
        "gen_ai.usage.output_tokens": 70,
        "gen_ai.usage.cache_read.input_tokens": 500,
        "gen_ai.usage.cache_write.input_tokens": 60,
        "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 60,
        "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 20,
    },
    "openllmetry 0.62": {
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 600,
        "gen_ai.usage.output_tokens": 70,
        "gen_ai.usage.total_tokens": 670,
        "gen_ai.usage.cache_read.input_tokens": 500,
        "gen_ai.usage.cache_creation.input_tokens": 60,
        "gen_ai.usage.reasoning_tokens": 20,
    },
    "openllmetry before semconv-ai 0.5": {
        "gen_ai.system": "Anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.prompt_tokens": 600,
        "gen_ai.usage.completion_tokens": 70,
        "gen_ai.usage.cache_read_input_tokens": 500,
        "gen_ai.usage.cache_creation_input_tokens": 60,
        "gen_ai.usage.reasoning_tokens": 20,
    },
    "additive producer (cache counts beyond input)": {
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 40,
        "gen_ai.usage.output_tokens": 70,
        "gen_ai.usage.cache_read.input_tokens": 500,
        "gen_ai.usage.cache_write.input_tokens": 60,
        "gen_ai.usage.reasoning.output_tokens": 20,
    },
}


@pytest.mark.parametrize("producer", PRODUCERS)
def test_each_producer_convention_reads_as_the_same_usage(harness, producer):
    harness.span(PRODUCERS[producer])
    (call,) = harness.pricer.calls
    usage = call["usage"]
    assert (usage.input_tokens, usage.output_tokens) == (600, 70)
    assert (usage.cache_read_tokens, usage.cache_write_tokens, usage.reasoning_tokens) == (500, 60, 20)
    assert usage.uncached_input_tokens == 40
    assert (call["model"], call["provider"]) == ("claude-sonnet-4-5", "anthropic")


def test_anthropic_cache_ttl_split_and_service_tier_reach_the_pricer(harness):
    harness.span(
        PRODUCERS["anthropic native tracing"]
        | {
            "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 20,
            "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 40,
            "anthropic.request.service_tier": "auto",
            "anthropic.response.service_tier": "standard",
        }
    )
    (call,) = harness.pricer.calls
    assert (call["usage"].cache_write_5m_tokens, call["usage"].cache_write_1h_tokens) == (20, 40)
    assert call["tier"] == "standard"


def test_openai_request_tier_is_used_when_the_response_has_none(harness):
    harness.span(
        {
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 5,
            "openai.request.service_tier": "flex",
        }
    )
    assert harness.pricer.calls[0]["tier"] == "flex"


def test_response_model_wins_over_request_model(harness):
    harness.span(
        {
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 5,
        }
    )
    assert harness.pricer.calls[0]["model"] == "gpt-4o-2024-08-06"


def test_calls_are_priced_at_their_start_time(harness):
    started = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    harness.span(
        {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 5},
        start_time=int(started.timestamp() * 1e9),
    )
    assert harness.pricer.calls[0]["at"] == started


def test_provider_reported_cost_is_passed_to_the_pricer(harness):
    harness.span(
        {"gen_ai.request.model": "x", "gen_ai.usage.input_tokens": 5, "gen_ai.usage.cost.amount": 0.0123}
    )
    assert harness.pricer.calls[0]["provider_cost"] == Decimal("0.0123")


def test_provider_cost_in_another_currency_is_ignored(harness):
    harness.span(
        {
            "gen_ai.request.model": "x",
            "gen_ai.usage.input_tokens": 5,
            "gen_ai.usage.cost.amount": 1.5,
            "gen_ai.usage.cost.currency": "EUR",
        }
    )
    assert harness.pricer.calls[0]["provider_cost"] is None


def test_cost_attributes_are_added_to_the_exported_span(harness):
    exported = harness.span({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 5})
    assert exported[attr.LLM_COST_COST_STATUS] == "priced"
    assert exported[attr.GEN_AI_USAGE_COST_AMOUNT] == 0.01
    assert exported[attr.GEN_AI_USAGE_COST_CURRENCY] == "USD"
    assert exported[attr.LLM_COST_PRICING_VERSION] == "stub 1"
    assert exported[attr.GEN_AI_USAGE_INPUT_TOKENS] == 5  # the producer's own attributes stay


def test_spans_priced_by_our_instrumentation_are_not_priced_again(harness):
    ours = {
        attr.GEN_AI_REQUEST_MODEL: "gpt-4o",
        attr.GEN_AI_USAGE_INPUT_TOKENS: 5,
        attr.LLM_COST_COST_STATUS: "priced",
        attr.GEN_AI_USAGE_COST_AMOUNT: 0.5,
        attr.LLM_COST_PHASE_GENERATION: 0.25,  # set by our instrumentation before the end, too
    }
    exported = harness.span(ours)
    assert harness.pricer.calls == []
    assert exported == ours


def test_spans_without_usage_are_left_alone(harness):
    exported = harness.span({"http.route": "/chat", "gen_ai.request.model": "gpt-4o"})
    assert harness.pricer.calls == []
    assert exported == {"http.route": "/chat", "gen_ai.request.model": "gpt-4o"}


def test_real_engine_prices_gpt_4o():
    h = Harness(Pricer())
    exported = h.span(
        {
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 1200,
            "gen_ai.usage.output_tokens": 300,
            "gen_ai.usage.cache_read.input_tokens": 1000,
        },
        start_time=int(datetime(2025, 6, 1, tzinfo=UTC).timestamp() * 1e9),
    )
    # gpt-4o: $2.50 / 1M input, $1.25 / 1M cached input, $10 / 1M output.
    assert exported[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(0.0005 + 0.00125 + 0.003, abs=1e-12)
    assert exported[attr.LLM_COST_COST_STATUS] == "priced"
    assert exported[attr.LLM_COST_PRICING_MODEL] == "gpt-4o"


def test_real_engine_marks_an_unknown_model_unpriced():
    h = Harness(Pricer())
    exported = h.span({"gen_ai.request.model": "no-such-model-xyz", "gen_ai.usage.input_tokens": 5})
    assert exported[attr.LLM_COST_COST_STATUS] == "unpriced"
    assert attr.GEN_AI_USAGE_COST_AMOUNT not in exported


def test_on_llm_span_gets_each_call_once():
    seen: list[tuple[str, LLMCall]] = []
    h = Harness(on_llm_span=lambda span, call: seen.append((span.name, call)))
    with h.tracer.start_as_current_span("agent"):
        h.span(
            {"gen_ai.request.model": "m", "gen_ai.provider.name": "OpenAI", "gen_ai.usage.input_tokens": 7}
        )
        h.span(
            {
                "gen_ai.request.model": "m",
                "gen_ai.usage.input_tokens": 3,
                "llm_cost.cost.status": "priced",
                "gen_ai.usage.cost.amount": 0.5,
            }
        )
    (name1, first), (_, second) = seen
    assert name1 == "chat"
    assert (first.usage.input_tokens, first.provider) == (7, "openai")
    assert (first.status, first.amount) == ("priced", Decimal("0.01"))
    assert first.cost is not None and first.cost.pricing_version == "stub 1"
    assert (second.amount, second.cost) == (Decimal("0.5"), None)


def test_failing_pricer_and_callback_never_reach_the_application(caplog):
    class Broken:
        def price(self, *args, **kwargs):
            raise RuntimeError("boom")

    def bad_callback(span, call):
        raise ValueError("callback bug")

    h = Harness(Broken(), on_llm_span=bad_callback)
    with caplog.at_level(logging.WARNING), h.tracer.start_as_current_span("root"):
        exported = h.span({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 1})
    root = dict(h.exporter.get_finished_spans()[-1].attributes)
    assert attr.LLM_COST_COST_STATUS not in exported
    assert root[attr.LLM_COST_TOTAL_UNPRICED_CALLS] == 1
    assert "pricing an LLM span failed" in caplog.text
    assert "callback raised" in caplog.text


def test_attribute_count_limit_keeps_the_producers_attributes():
    h = Harness(limits=SpanLimits(max_span_attributes=6))
    producer = {"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 5, "a": 1, "b": 2}
    exported = h.span(producer)
    span = h.exporter.get_finished_spans()[-1]
    assert len(exported) == 6
    assert producer.items() <= exported.items()
    # The stub's 6 cost attributes (its zero parts are left out) and the generation time (no output
    # tokens: no rate); 2 fitted.
    assert span.dropped_attributes == 5


def test_value_length_limit_applies_to_added_attributes():
    h = Harness(limits=SpanLimits(max_span_attribute_length=3))
    exported = h.span({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 5})
    assert exported[attr.LLM_COST_PRICING_VERSION] == "stu"


def test_after_shutdown_spans_are_dropped_silently(harness):
    assert harness.processor.force_flush() is True
    harness.processor.shutdown()
    exported = harness.span({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 5})
    assert harness.pricer.calls == []
    assert attr.LLM_COST_COST_STATUS not in exported
    assert harness.processor.tracked_spans == 0


class OnlyPublicHooks(SpanProcessor):
    """A wrapping processor that forwards the public hooks but not ``_on_ending``."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span, parent_context=None) -> None:
        self.inner.on_start(span, parent_context)

    def on_end(self, span) -> None:
        self.inner.on_end(span)


def test_without_on_ending_roll_ups_and_callbacks_still_work(caplog):
    seen: list[LLMCall] = []
    pricer = StubPricer()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(
        OnlyPublicHooks(LLMCostSpanProcessor(pricer, on_llm_span=lambda s, c: seen.append(c)))
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with (
        caplog.at_level(logging.WARNING),
        tracer.start_as_current_span("root"),
        tracer.start_as_current_span("chat") as span,
    ):
        span.set_attributes({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 5})
    assert [call.amount for call in seen] == [Decimal("0.01")]
    assert attr.LLM_COST_COST_STATUS not in exporter.get_finished_spans()[0].attributes
    assert "not receiving _on_ending" in caplog.text
