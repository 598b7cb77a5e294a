"""Fuzzing the pure extractors with arbitrary JSON-like input: they never raise, and what they produce
(usage, span attributes, cost) holds no negative, non-finite or int64-overflowing number.

The SDK-level twins (real SDKs over loopback) are test_fuzz_openai.py and test_fuzz_anthropic.py.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_checks import INT64_MAX, assert_sane_numbers
from reliability_strategies import (
    ANTHROPIC_MODELS,
    ANTHROPIC_USAGE,
    JSON,
    OPENAI_CHAT_USAGE,
    OPENAI_EMBEDDINGS_USAGE,
    OPENAI_MODELS,
    OPENAI_RESPONSES_USAGE,
    TEXT,
    TOKEN,
    maybe,
)

from otel_llm_cost._span_usage import read_span_usage
from otel_llm_cost.apis import _anthropic_fields as anthropic_extract
from otel_llm_cost.apis import _openai_chunks as _chunks
from otel_llm_cost.apis import _openai_fields as openai_extract
from otel_llm_cost.instrumentation._invocation import usage_attributes
from otel_llm_cost.pricing import cost_attributes, get_pricer
from otel_llm_cost.usage import Usage

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def check_usage(usage: Usage | None) -> None:
    """A usage record is non-negative ints within int64 that keep the inclusive invariants."""
    if usage is None:
        return
    counts = [usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens]
    counts.append(usage.reasoning_tokens)
    splits = [v for v in (usage.cache_write_5m_tokens, usage.cache_write_1h_tokens) if v is not None]
    for value in counts + splits:
        assert type(value) is int, usage
        assert 0 <= value <= INT64_MAX, usage
    assert usage.cache_read_tokens + usage.cache_write_tokens <= usage.input_tokens, usage
    assert usage.reasoning_tokens <= usage.output_tokens, usage
    assert sum(splits) <= usage.cache_write_tokens, usage
    assert_sane_numbers(usage_attributes(usage))


def check_priced(usage: Usage | None, model: Any, provider: str, provider_cost: object = None) -> None:
    check_usage(usage)
    if usage is None:
        return
    cost = get_pricer().price(usage, model, provider, provider_cost=provider_cost)  # type: ignore[arg-type]
    assert_sane_numbers(cost_attributes(cost, mirror=True))


# --- usage -------------------------------------------------------------------------------------------------


@FUZZ
@given(TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, TOKEN)
def test_usage_of_repairs_anything(inp: Any, out: Any, read: Any, write: Any, reason: Any, w5: Any, w1: Any):
    usage = Usage.of(
        inp,
        out,
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=reason,
        cache_write_5m_tokens=w5,
        cache_write_1h_tokens=w1,
    )
    check_priced(usage, "gpt-4o", "openai")


# --- openai ------------------------------------------------------------------------------------------------


@FUZZ
@given(OPENAI_CHAT_USAGE, OPENAI_MODELS, maybe(st.lists(JSON, max_size=3)), JSON)
def test_openai_chat_completion(usage: Any, model: str, choices: Any, messages: Any) -> None:
    completion = {"id": "c", "model": model, "choices": choices, "usage": usage, "service_tier": TEXT}
    fields = openai_extract.chat_completion_fields(completion, messages)
    assert_sane_numbers(fields.attributes)
    check_priced(fields.usage, fields.model or model, "openai", fields.provider_cost)
    check_usage(openai_extract.get_chat_usage(usage))


@FUZZ
@given(
    st.lists(st.fixed_dictionaries({}, optional={"choices": JSON, "usage": OPENAI_CHAT_USAGE}), max_size=6)
)
def test_openai_chat_stream_chunks(chunks: list[dict[str, Any]]) -> None:
    for chunk in chunks:
        _chunks.chat_chunk_has_content(chunk)
    kwargs = {"messages": [{"role": "user", "content": "hi"}], "n": 1}
    fields = _chunks.chat_stream_fields(chunks, kwargs)
    assert_sane_numbers(fields.attributes)
    check_priced(fields.usage, "gpt-4o-mini", "openai", fields.provider_cost)


@FUZZ
@given(OPENAI_RESPONSES_USAGE, OPENAI_MODELS, maybe(st.lists(JSON, max_size=3)), JSON, JSON)
def test_openai_responses(usage: Any, model: str, output: Any, status: Any, kwargs_input: Any) -> None:
    response = {"id": "r", "model": model, "output": output, "usage": usage, "status": status}
    fields = openai_extract.responses_fields(response, {"input": kwargs_input, "instructions": kwargs_input})
    assert_sane_numbers(fields.attributes)
    check_priced(fields.usage, model, "openai", fields.provider_cost)
    events = [{"type": "response.output_text.delta", "delta": kwargs_input}, {"response": response}]
    stream_fields = _chunks.responses_stream_fields(events, {"input": kwargs_input})
    check_priced(stream_fields.usage, model, "openai", stream_fields.provider_cost)


@FUZZ
@given(OPENAI_EMBEDDINGS_USAGE, JSON)
def test_openai_embeddings(usage: Any, inputs: Any) -> None:
    fields = openai_extract.embeddings_fields(
        {"model": "text-embedding-3-small", "usage": usage}, {"input": inputs}
    )
    check_priced(fields.usage, "text-embedding-3-small", "openai")


@FUZZ
@given(st.dictionaries(st.sampled_from(["model", "max_tokens", "temperature", "stop", "n", "seed"]), JSON))
def test_openai_request_attributes(kwargs: dict[str, Any]) -> None:
    server = openai_extract.Server("openai", "api.openai.com", 443)
    openai_extract.chat_request_attributes(kwargs, server)
    openai_extract.responses_request_attributes(kwargs, server)
    openai_extract.with_usage_requested({**kwargs, "stream": True})


# --- anthropic ---------------------------------------------------------------------------------------------


@FUZZ
@given(ANTHROPIC_USAGE, ANTHROPIC_MODELS)
def test_anthropic_usage(usage: Any, model: str) -> None:
    check_priced(anthropic_extract.extract_usage(usage), model, "anthropic")


EVENT = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("message_start")},
        optional={"message": st.fixed_dictionaries({}, optional={"usage": ANTHROPIC_USAGE, "model": TEXT})},
    ),
    st.fixed_dictionaries(
        {"type": st.just("message_delta")},
        optional={"usage": ANTHROPIC_USAGE, "delta": JSON},
    ),
    st.fixed_dictionaries(
        {"type": st.just("content_block_delta")},
        optional={"delta": st.fixed_dictionaries({"type": st.just("text_delta")}, optional={"text": JSON})},
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["message_stop", "ping", "content_block_stop"])}),
    JSON,
)


@FUZZ
@given(st.lists(EVENT, max_size=6), ANTHROPIC_MODELS)
def test_anthropic_stream_events(events: list[Any], model: str) -> None:
    summary = anthropic_extract.summarise_stream(events)
    check_priced(summary.usage, summary.response_model or model, "anthropic")


# --- spans of any producer ---------------------------------------------------------------------------------

SPAN_KEYS = st.sampled_from(
    [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "gen_ai.usage.reasoning_tokens",
        "llm_cost.usage.cache_write.5m",
        "gen_ai.usage.cost.amount",
        "gen_ai.usage.cost",
        "gen_ai.response.model",
        "gen_ai.provider.name",
        "llm_cost.cost.status",
    ]
)


@FUZZ
@given(st.dictionaries(SPAN_KEYS, st.one_of(TOKEN, st.text(max_size=4)), min_size=1))
def test_read_span_usage(attributes: dict[str, Any]) -> None:
    attributes.setdefault("gen_ai.usage.input_tokens", 1)
    read = read_span_usage(attributes)
    assert read is not None
    check_usage(read.usage)
    for amount in (read.provider_cost, read.cost_amount):
        if amount is not None:
            assert amount.is_finite() and amount >= 0
            assert_sane_numbers({"amount": float(amount)})
    check_priced(read.usage, read.model or "gpt-4o", read.provider or "openai", read.provider_cost)
