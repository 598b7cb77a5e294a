"""Every way a stream can end: the span ends once, with the outcome, and with what was seen.

Streams cut short keep the input side of ``message_start`` and estimate the output from the text
seen (``llm_cost.usage.source=estimated``); the expected numbers come from the same recorded events, as
a stream keeps them (the opening events, then the last few: the middle is counted and extrapolated).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import anthropic
import pytest
from claude_replay import CACHED_STREAM, only_span, recorded, request, token_attributes
from opentelemetry.trace import StatusCode

from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation._invocation import usage_attributes
from otel_llm_cost.instrumentation._stream import TAIL
from otel_llm_cost.instrumentation.anthropic import _extract
from replay import Interaction, ReplayServer, sse_response
from sdk_calls import anthropic_client, kwargs_for

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

RECORDING = recorded(CACHED_STREAM, 0)
EVENTS = RECORDING.sse_data()
FIRST_DELTA = next(i for i, e in enumerate(EVENTS) if e["type"] == "content_block_delta")
WIRE_EVENTS = RECORDING.sse_events()
assert len(WIRE_EVENTS) == len(EVENTS)


def _kept(seen: list[Any]) -> tuple[list[Any], int]:
    """What a stream keeps of the events it saw (through the first content delta, then the last
    ``TAIL``), and how many it only counted."""
    head, rest = seen[: FIRST_DELTA + 1], seen[FIRST_DELTA + 1 :]
    tail = rest[-TAIL:]
    return head + tail, len(rest) - len(tail)


def _expected_after(seen: list[Any]) -> dict[str, Any]:
    """The token attributes of a stream of which ``seen`` (wire JSON) was read."""
    usage = _extract.summarise_stream(*_kept(seen)).usage
    assert usage is not None
    return {k: v for k, v in usage_attributes(usage).items() if k != attr.LLM_COST_USAGE_SOURCE}


def _assert_cut_short(span: Any, outcome: str, seen: list[Any]) -> None:
    attributes = span.attributes
    assert attributes[attr.LLM_COST_STREAM_OUTCOME] == outcome
    assert attributes[attr.LLM_COST_USAGE_SOURCE] == "estimated"
    assert token_attributes(span) == _expected_after(seen)
    # Extrapolating over the events not kept stays close to reading them all.
    every_event = _extract.summarise_stream(seen).usage
    assert every_event is not None
    assert abs(span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] - every_event.output_tokens) <= max(
        2, every_event.output_tokens // 4
    )
    assert attributes[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 1165  # from message_start, exact
    assert attributes[attr.GEN_AI_RESPONSE_ID] == EVENTS[0]["message"]["id"]


def _helper(client: Any) -> Any:
    return client.messages.stream(**kwargs_for(client.messages.stream, request(RECORDING, stream=None)))


def _create(client: Any) -> Any:
    return client.messages.create(**kwargs_for(client.messages.create, request(RECORDING)))


# --- the stream() helper -----------------------------------------------------------------------------------


def test_helper_left_early(instrumented: Any, exporter: Any) -> None:
    with ReplayServer([RECORDING], prefix="") as server:
        with _helper(anthropic_client(server)) as stream:
            first = next(iter(stream.text_stream))
        assert first == EVENTS[FIRST_DELTA]["delta"]["text"]
    span = only_span(exporter)
    _assert_cut_short(span, attr.STREAM_ABANDONED, EVENTS[: FIRST_DELTA + 1])
    assert span.status.status_code is not StatusCode.ERROR


def test_helper_exception_inside_the_block(instrumented: Any, exporter: Any) -> None:
    with ReplayServer([RECORDING], prefix="") as server:
        stream_manager = _helper(anthropic_client(server))
        with pytest.raises(KeyError, match="app bug"), stream_manager as stream:
            for _ in stream.text_stream:
                raise KeyError("app bug")
    span = only_span(exporter)
    # The app's own exception is not the LLM call's failure (issue #15): the stream was abandoned.
    _assert_cut_short(span, attr.STREAM_ABANDONED, EVENTS[: FIRST_DELTA + 1])
    assert attr.ERROR_TYPE not in span.attributes
    assert span.status.status_code is not StatusCode.ERROR


async def test_helper_cancelled(instrumented: Any, exporter: Any) -> None:
    release = threading.Event()
    hold_at = FIRST_DELTA + 1  # the server stops before this event until released

    def on_event(index: int) -> None:
        if index == hold_at:
            release.wait(timeout=30)

    got_first = asyncio.Event()

    async def consume(client: Any) -> None:
        async with client.messages.stream(
            **kwargs_for(client.messages.stream, request(RECORDING, stream=None))
        ) as stream:
            async for _ in stream.text_stream:
                got_first.set()

    with ReplayServer([RECORDING.with_(on_event=on_event)], prefix="") as server:
        task = asyncio.create_task(consume(anthropic_client(server, is_async=True)))
        await got_first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
    span = only_span(exporter)
    _assert_cut_short(span, attr.STREAM_CANCELLED, EVENTS[: FIRST_DELTA + 1])


# --- raw create(stream=True) -------------------------------------------------------------------------------


def test_raw_break_then_close(instrumented: Any, exporter: Any) -> None:
    with ReplayServer([RECORDING], prefix="") as server:
        stream = _create(anthropic_client(server))
        seen = []
        for event in stream:
            seen.append(event.to_dict())
            if event.type == "content_block_delta":
                break
        assert exporter.get_finished_spans() == ()  # still open: the caller may read on
        stream.close()
    _assert_cut_short(only_span(exporter), attr.STREAM_ABANDONED, seen)


def test_raw_dropped_and_collected(instrumented: Any, exporter: Any) -> None:
    with ReplayServer([RECORDING], prefix="") as server:
        stream = _create(anthropic_client(server))
        seen = [next(stream).to_dict() for _ in range(FIRST_DELTA + 1)]
        del stream
        gc.collect()
    assert seen[-1]["type"] == "content_block_delta"
    _assert_cut_short(only_span(exporter), attr.STREAM_ABANDONED, seen)


def test_raw_closed_before_reading(instrumented: Any, exporter: Any) -> None:
    with ReplayServer([RECORDING], prefix="") as server:
        _create(anthropic_client(server)).close()
    span = only_span(exporter)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == attr.STREAM_ABANDONED
    # Nothing was seen: the input is estimated from the request, as for OpenAI (issue #15).
    assert span.attributes[attr.LLM_COST_USAGE_SOURCE] == "estimated"
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 0


def test_raw_connection_dropped_mid_stream(instrumented: Any, exporter: Any) -> None:
    cut = FIRST_DELTA + 2
    with ReplayServer([RECORDING.with_(drop_after=cut)], prefix="") as server:
        stream = _create(anthropic_client(server))
        with pytest.raises(Exception) as raised:  # the HTTP client's error, whichever httpx it is
            for _ in stream:
                pass
    assert "httpx" in type(raised.value).__module__ or isinstance(raised.value, anthropic.APIError)
    span = only_span(exporter)
    _assert_cut_short(span, attr.STREAM_ERROR, EVENTS[:cut])
    assert (
        span.attributes[attr.ERROR_TYPE] == f"{type(raised.value).__module__}.{type(raised.value).__name__}"
    )


def test_raw_error_event_mid_stream(instrumented: Any, exporter: Any) -> None:
    overloaded = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    scripted = sse_response([*WIRE_EVENTS[: FIRST_DELTA + 1], overloaded], headers={"request-id": "req_x"})
    with ReplayServer([scripted], prefix="") as server:
        stream = _create(anthropic_client(server))
        with pytest.raises(anthropic.APIStatusError):
            list(stream)
    span = only_span(exporter)
    _assert_cut_short(span, attr.STREAM_ERROR, EVENTS[: FIRST_DELTA + 1])
    assert span.attributes[attr.ANTHROPIC_REQUEST_ID] == "req_x"


def test_raw_stream_ending_without_message_stop(instrumented: Any, exporter: Any) -> None:
    """The server closes the stream cleanly but early: the SDK says nothing, the span says error."""
    before_delta = next(i for i, e in enumerate(EVENTS) if e["type"] == "message_delta")
    with ReplayServer([sse_response(WIRE_EVENTS[:before_delta])], prefix="") as server:
        events = list(_create(anthropic_client(server)))
    assert len(events) > FIRST_DELTA
    span = only_span(exporter)
    _assert_cut_short(span, attr.STREAM_ERROR, EVENTS[:before_delta])
    assert span.attributes[attr.ERROR_TYPE].endswith("StreamTruncatedError")


async def test_async_raw_break_then_aclose(instrumented: Any, exporter: Any) -> None:
    with ReplayServer([RECORDING], prefix="") as server:
        stream = await _acreate(anthropic_client(server, is_async=True))
        seen = []
        async for event in stream:
            seen.append(event.to_dict())
            if event.type == "content_block_delta":
                break
        await stream.close()
    _assert_cut_short(only_span(exporter), attr.STREAM_ABANDONED, seen)


async def _acreate(client: Any) -> Any:
    return await client.messages.create(**kwargs_for(client.messages.create, request(RECORDING)))


def test_recording_is_what_the_tests_assume() -> None:
    assert isinstance(RECORDING, Interaction)
    assert EVENTS[0]["type"] == "message_start"
    assert EVENTS[-1]["type"] == "message_stop"
    assert FIRST_DELTA >= 2
