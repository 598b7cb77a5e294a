"""set_plain_attributes leaves a span exactly as the SDK's set_attributes would (values, order, limits)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import SpanLimits, TracerProvider

from otel_llm_cost import _span_attributes
from otel_llm_cost._span_attributes import set_plain_attributes

_keys = st.sampled_from(["a", "b", "gen_ai.usage.input_tokens", "llm_cost.cost.usd", "", "x" * 12])
_values = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.text(max_size=6), max_size=3),
    st.tuples(st.text(max_size=10), st.text(max_size=3)),
    st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=3),
    st.tuples(st.integers()),
    st.none(),
    st.builds(object),
)


def _spans(limits: SpanLimits) -> tuple[Any, Any]:
    tracer = TracerProvider(span_limits=limits).get_tracer("test")
    start = {"server.address": "api.example", "a": "start"}
    return tracer.start_span("x", attributes=start), tracer.start_span("x", attributes=start)


def _state(span: Any) -> tuple[list[tuple[str, Any]], int]:
    return list(span.attributes.items()), span.dropped_attributes


@settings(max_examples=200, deadline=None)
@given(
    attributes=st.dictionaries(_keys, _values, max_size=6),
    max_attributes=st.one_of(st.none(), st.integers(0, 5)),
    max_length=st.one_of(st.none(), st.integers(0, 8)),
)
def test_same_as_set_attributes(
    attributes: dict[str, Any], max_attributes: int | None, max_length: int | None
):
    limits = SpanLimits(max_span_attributes=max_attributes, max_span_attribute_length=max_length)
    expected, actual = _spans(limits)
    expected.set_attributes(attributes)
    set_plain_attributes(actual, attributes)
    assert _state(actual) == _state(expected)
    expected.end()
    actual.end()
    assert _state(actual) == _state(expected)


def test_ended_span_is_left_alone(caplog: pytest.LogCaptureFixture):
    span, _ = _spans(SpanLimits())
    span.end()
    set_plain_attributes(span, {"late": 1})
    assert "late" not in span.attributes
    assert "ended span" in caplog.text


def test_without_the_sdk_internals_it_calls_set_attributes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(_span_attributes, "_SUPPORTED", False)
    expected, actual = _spans(SpanLimits(max_span_attribute_length=3))
    expected.set_attributes({"k": "long value", "n": 1})
    set_plain_attributes(actual, {"k": "long value", "n": 1})
    assert _state(actual) == _state(expected)
