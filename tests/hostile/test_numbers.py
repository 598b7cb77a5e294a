"""Absurd numbers (#16): costs, prices and token counts we did not compute are finite, bounded, and flagged
when absurd; never Infinity or NaN in a span, a roll-up or a metric."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import attributes as attr
from otel_llm_cost._numbers import MAX_CALL_COST, read_cost
from otel_llm_cost.errors import PriceFileError
from otel_llm_cost.pricing import Pricer, load_overrides
from otel_llm_cost.processor import LLMCostSpanProcessor
from otel_llm_cost.usage import Usage

_costs = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from(["1e999999", "-1e999999", "NaN", "Infinity", "1e-999999", "0.0012", "sNaN", "１２"]),
    st.text(max_size=12),
)
_tokens = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(LLMCostSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def _finite_numbers(span_attributes: dict) -> None:
    """Every number we added (the producer's own attributes are its business) is finite."""
    for key, value in span_attributes.items():
        if key.startswith("llm_cost.") and isinstance(value, float):
            assert math.isfinite(value), (key, value)


@settings(max_examples=300)
@given(costs=st.lists(st.tuples(_costs, _tokens, _tokens, st.booleans()), min_size=1, max_size=5))
def test_other_producers_costs_never_make_an_infinite_roll_up(costs) -> None:
    provider, memory = _provider()
    tracer = provider.get_tracer("someone-else")
    with tracer.start_as_current_span("invoke_agent run"):
        for cost, input_tokens, output_tokens, priced in costs:
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                span.set_attribute(attr.GEN_AI_PROVIDER_NAME, "openai")
                span.set_attribute(attr.GEN_AI_REQUEST_MODEL, "gpt-4o-mini")
                span.set_attribute(attr.GEN_AI_USAGE_INPUT_TOKENS, input_tokens)
                span.set_attribute(attr.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens)
                if priced:
                    span.set_attribute(attr.LLM_COST_COST_STATUS, "priced")
                span.set_attribute(attr.GEN_AI_USAGE_COST_AMOUNT, cost)
    root = next(span for span in memory.get_finished_spans() if span.name == "invoke_agent run")
    total = root.attributes[attr.LLM_COST_TOTAL_COST]
    assert math.isfinite(total) and 0 <= total <= float(MAX_CALL_COST) * len(costs)
    for span in memory.get_finished_spans():
        _finite_numbers(dict(span.attributes or {}))


@given(_costs)
def test_read_cost_is_finite_and_bounded(value) -> None:
    found = read_cost(value)
    assert found is None or (found.is_finite() and 0 <= found <= MAX_CALL_COST)


@given(
    st.one_of(st.floats(), st.integers(), st.text(max_size=12), st.sampled_from(["1e999999", "1e7", "0.3"]))
)
def test_a_price_file_price_is_bounded_or_refused(tmp_path_factory, price) -> None:
    path = tmp_path_factory.mktemp("prices") / "prices.toml"
    value = (
        repr(price) if isinstance(price, str) else (str(price).lower() if isinstance(price, float) else price)
    )
    path.write_text(f'[models."my-model"]\ninput = {value}\noutput = {value}\n', encoding="utf-8")
    try:
        pricer = Pricer(load_overrides(path))
    except PriceFileError as error:
        assert str(path) in str(error)
        return
    cost = pricer.price(Usage.of(1000, 1000), "my-model", "openai")
    assert cost.amount is None or (cost.amount.is_finite() and cost.amount <= MAX_CALL_COST)


def test_an_infinite_price_file_price_is_refused(tmp_path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text('[models."my-model"]\ninput = "1e999999"\noutput = 1\n', encoding="utf-8")
    with pytest.raises(PriceFileError, match="not a price"):
        load_overrides(path)


def test_two_to_the_53_tokens_are_flagged_not_priced(caplog) -> None:
    from otel_llm_cost._log import reset_log_once

    reset_log_once()
    cost = Pricer().price(Usage.of(2**53, 2**53), "gpt-4o-mini", "openai")
    assert cost.status == attr.COST_IMPLAUSIBLE and cost.amount is None
    assert sum("implausible" in record.getMessage() for record in caplog.records) == 1


@settings(max_examples=300)
@given(_tokens, _tokens, _tokens, _tokens, st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5"]))
def test_any_token_counts_price_finite_or_flagged(
    input_tokens, output_tokens, cached, reasoning, model
) -> None:
    usage = Usage.of(input_tokens, output_tokens, cache_read_tokens=cached, reasoning_tokens=reasoning)
    cost = Pricer().price(usage, model, None)
    if cost.amount is not None:
        assert cost.amount.is_finite() and Decimal(0) <= cost.amount <= MAX_CALL_COST
    else:
        assert cost.status in {attr.COST_UNPRICED, attr.COST_IMPLAUSIBLE}


_parameter_values = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**2000), max_value=2**2000),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.lists(st.floats(), max_size=2),
)


@given(_parameter_values)
def test_sampling_parameters_read_as_the_conventions_type_or_not_at_all(value) -> None:
    from otel_llm_cost._values import read_double, read_whole

    double, whole = read_double(value), read_whole(value)  # never raises, whatever the caller passed
    assert double is None or type(double) is float
    assert whole is None or type(whole) is int
    if type(value) is int and abs(value) < 2**1000:
        assert double == float(value) and whole == value
    if type(value) is bool:
        assert double is None and whole is None


def test_every_rooms_parameter_table_reads_each_attribute_as_its_snapshot_type() -> None:
    import json
    from pathlib import Path

    from otel_llm_cost._values import read_double, read_number
    from otel_llm_cost.apis import _anthropic_fields, _openai_fields, cohere, gemini, ollama

    snapshot = json.loads((Path(__file__).parents[1] / "semconv_snapshot" / "genai.json").read_text())
    types: dict[str, str] = {}

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict) and isinstance(value.get("type"), str):
                    types.setdefault(key, value["type"])
                collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(snapshot)
    tables = (
        _anthropic_fields._PARAMETERS, _openai_fields._CHAT_PARAMETERS, cohere._PARAMETERS,
        gemini._PARAMETERS, ollama._OPTIONS,
    )  # fmt: skip
    checked = 0
    for table in tables:
        for *_, key, reader in table:
            if types.get(key) == "double":  # an int given for it must still make a double attribute
                assert reader is read_double, key
            elif types.get(key) == "int":  # and a float given for an int one must not make a double
                assert reader not in (read_double, read_number), key
            checked += 1
    assert checked >= 20
