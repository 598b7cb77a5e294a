"""Issue #15 (3, 4): providers that are neither hashable nor weak-referenceable, and step helpers that
follow the provider ``configure()`` was given."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import otel_llm_cost
from otel_llm_cost import agent_step, llm_call, tool_call
from otel_llm_cost import attributes as attr
from otel_llm_cost._configured import Configured, get_configured, set_configured
from otel_llm_cost._provider_cache import ProviderCache


class UnhashableProvider:
    """A delegating provider like logfire's ``ProxyTracerProvider``: a value type, so not hashable,
    and slotted, so not weak-referenceable either."""

    __slots__ = ("_delegate",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, delegate: TracerProvider) -> None:
        self._delegate = delegate

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnhashableProvider) and other._delegate is self._delegate

    def get_tracer(self, *args: object, **kwargs: object) -> object:
        return self._delegate.get_tracer(*args, **kwargs)

    def add_span_processor(self, processor: object) -> None:
        self._delegate.add_span_processor(processor)  # type: ignore[arg-type]


@pytest.fixture
def restore_configuration() -> Iterator[None]:
    previous = get_configured()
    yield
    set_configured(previous)
    from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
    from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor

    for instrumentor in (OpenAIInstrumentor(), AnthropicInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def test_issue_15_configure_accepts_an_unhashable_provider(restore_configuration, exporter):
    delegate = TracerProvider()
    delegate.add_span_processor(SimpleSpanProcessor(exporter))
    provider = UnhashableProvider(delegate)

    otel_llm_cost.configure(tracer_provider=provider)
    otel_llm_cost.configure(tracer_provider=provider)  # the processor is added once

    with agent_step("plan"), tool_call("search"), llm_call("openai", "gpt-4o-mini") as call:
        call.set_usage(otel_llm_cost.Usage.of(100, 10))
    names = sorted(span.name for span in exporter.get_finished_spans())
    assert names == ["chat gpt-4o-mini", "execute_tool search", "invoke_agent plan"]
    processors = [type(p).__name__ for p in delegate._active_span_processor._span_processors]
    assert processors.count("LLMCostSpanProcessor") == 1


def test_issue_15_step_helpers_use_the_configured_provider(restore_configuration, tracer_provider, exporter):
    set_configured(Configured())
    otel_llm_cost.configure(tracer_provider=tracer_provider)  # no global provider set

    with agent_step("answer"), tool_call("lookup"), llm_call("openai", "gpt-4o-mini") as call:
        call.set_usage(otel_llm_cost.Usage.of(1000, 100))
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"invoke_agent answer", "execute_tool lookup", "chat gpt-4o-mini"}
    step = spans["invoke_agent answer"]
    assert step.attributes[attr.LLM_COST_TOTAL_LLM_CALLS] == 1
    assert step.attributes[attr.LLM_COST_TOTAL_COST] > 0


def test_provider_cache_forgets_a_provider_that_is_gone_and_keeps_one_it_cannot_weakly_hold():
    cache: ProviderCache[str] = ProviderCache()
    weakly = TracerProvider(shutdown_on_exit=False)  # (else atexit holds it)
    strongly = UnhashableProvider(TracerProvider())
    assert cache.get_or_make(weakly, lambda: "a") == "a"
    assert cache.get_or_make(weakly, lambda: "other") == "a"
    assert cache.get_or_make(strongly, lambda: "b") == "b"
    assert cache.get(UnhashableProvider(strongly._delegate)) is None  # equal is not the same provider
    del weakly
    gc.collect()
    assert cache.values() == ["b"]
