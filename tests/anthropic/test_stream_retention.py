"""A long event stream holds a bounded number of events, and its usage is still the provider's.

The recorded stream's content deltas are repeated to make it long; its opening ``message_start`` and
closing ``message_delta`` (where the usage is) are the recorded ones.
"""

from __future__ import annotations

import gc
from itertools import cycle, islice
from typing import Any

import pytest
from claude_replay import CACHED_STREAM, expected_token_attributes, only_span, recorded, request
from claude_replay import token_attributes as span_tokens

from otel_llm_cost import attributes as attr
from otel_llm_cost._estimate import estimate_tokens
from otel_llm_cost.apis import _anthropic_fields as _extract
from replay import ReplayServer, sse_response
from sdk_calls import anthropic_client, kwargs_for

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

RECORDING = recorded(CACHED_STREAM, 0)
EVENTS = RECORDING.sse_data()
WIRE = RECORDING.sse_events()
DELTAS = 1_500


def _kind(index: int) -> str:
    return str(EVENTS[index]["type"])


def _long_stream(*, closed: bool = True) -> list[bytes]:
    first = next(i for i in range(len(EVENTS)) if _kind(i) == "content_block_delta")
    last = max(i for i in range(len(EVENTS)) if _kind(i) == "content_block_delta")
    deltas = list(islice(cycle(WIRE[first : last + 1]), DELTAS))
    closing = list(WIRE[last + 1 :]) if closed else []
    return [*WIRE[:first], *deltas, *closing]


def _text(wire_events: list[bytes]) -> str:
    recording = RECORDING.with_(events=tuple(wire_events))
    return _extract.streamed_text(recording.sse_data())


def _stream(server: ReplayServer) -> Any:
    client = anthropic_client(server)
    return client.messages.create(**kwargs_for(client.messages.create, request(RECORDING)))


def test_a_long_stream_holds_a_bounded_number_of_events(instrumented: Any, exporter: Any) -> None:
    counts = {}
    with ReplayServer([sse_response(_long_stream())], prefix="") as server:
        for index, _ in enumerate(_stream(server)):
            if index in (300, DELTAS - 100):
                gc.collect()
                counts[index] = len(gc.get_objects())
    assert counts[DELTAS - 100] - counts[300] < 200
    span = only_span(exporter)
    usage = {
        **EVENTS[0]["message"]["usage"],
        **next(e for e in EVENTS if e["type"] == "message_delta")["usage"],
    }
    assert span_tokens(span) == expected_token_attributes(usage)
    assert span.attributes[attr.LLM_COST_USAGE_SOURCE] == "provider"
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == attr.STREAM_COMPLETED
    assert span.attributes[attr.GEN_AI_RESPONSE_ID] == EVENTS[0]["message"]["id"]


def test_a_long_stream_cut_short_extrapolates_its_output(instrumented: Any, exporter: Any) -> None:
    wire = _long_stream(closed=False)
    with ReplayServer([sse_response(wire)], prefix="") as server:
        list(_stream(server))
    span = only_span(exporter)
    assert span.attributes[attr.LLM_COST_USAGE_SOURCE] == "estimated"
    every_event = estimate_tokens(_text(wire))
    assert abs(span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] - every_event) <= every_event // 4
