"""Issue #15, Anthropic side: raw responses, locally refused requests, SDK warnings, stream status and
content capture. Real SDK over loopback HTTP."""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import threading
import warnings
from typing import Any

import pytest
from claude_replay import (
    CACHED,
    CACHED_STREAM,
    expected_token_attributes,
    llm_spans,
    recorded,
    request,
    token_attributes,
)
from opentelemetry.trace import StatusCode

from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from replay import ReplayServer, json_response
from sdk_calls import anthropic_client, kwargs_for

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

DEPRECATED = "claude-instant-1.2"  # in the SDK's DEPRECATED_MODELS: it warns with stacklevel=3


def test_issue_15_sdk_warnings_are_credited_to_the_caller_not_the_wrapper(instrumented: Any) -> None:
    interaction = recorded(CACHED, 0)
    body = request(interaction, model=DEPRECATED)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        create = client.messages.create
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("ignore")
            # Raised only if credited to this module, as Python's default filter does for __main__.
            warnings.filterwarnings("always", category=DeprecationWarning, module=__name__)
            create(**kwargs_for(create, body))
    (warning,) = [w for w in seen if issubclass(w.category, DeprecationWarning)]
    assert warning.filename == __file__
    assert DEPRECATED in str(warning.message)


STREAM = recorded(CACHED_STREAM, 0)
MESSAGE = recorded(CACHED, 0)


def _expected_tokens(interaction: Any) -> dict[str, int]:
    if interaction.is_sse:
        events = interaction.sse_data()
        start = next(e for e in events if e["type"] == "message_start")["message"]["usage"]
        delta = next(e for e in reversed(events) if e["type"] == "message_delta")["usage"]
        return expected_token_attributes({**start, **delta})
    return expected_token_attributes(interaction.body_json()["usage"])


async def _parsed(raw: Any) -> Any:
    """``raw.parse()``: a coroutine on ``AsyncAPIResponse``, plain on anthropic 0.x's legacy response."""
    parsed = raw.parse()
    return await parsed if inspect.isawaitable(parsed) else parsed


def _span(exporter: Any) -> Any:
    (span,) = llm_spans(exporter)
    return span


# --- 1: raw responses (langchain-anthropic calls with_raw_response.create, then parse) -----------------


@pytest.mark.parametrize("is_async", [False, True])
async def test_issue_15_with_raw_response_then_parse_records_usage(is_async, instrumented, exporter):
    with ReplayServer([MESSAGE], prefix="") as server:
        client = anthropic_client(server, is_async=is_async)
        create = client.messages.with_raw_response.create
        raw = create(**kwargs_for(client.messages.create, request(MESSAGE)))
        raw = await raw if is_async else raw
        message = await _parsed(raw)
    assert message.usage.input_tokens == MESSAGE.body_json()["usage"]["input_tokens"]
    span = _span(exporter)
    assert token_attributes(span) == _expected_tokens(MESSAGE)
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "priced"


def test_issue_15_a_raw_response_dropped_before_parse_is_recorded(instrumented, exporter):
    with ReplayServer([MESSAGE], prefix="") as server:
        client = anthropic_client(server)
        client.messages.with_raw_response.create(**kwargs_for(client.messages.create, request(MESSAGE)))
        gc.collect()
    assert token_attributes(_span(exporter)) == _expected_tokens(MESSAGE)


@pytest.mark.parametrize("is_async", [False, True])
async def test_issue_15_a_raw_stream_parsed_and_read_has_usage_and_ttft(is_async, instrumented, exporter):
    body = request(STREAM, stream=True)
    with ReplayServer([STREAM], prefix="") as server:
        client = anthropic_client(server, is_async=is_async)
        raw = client.messages.with_raw_response.create(**kwargs_for(client.messages.create, body))
        stream = await _parsed(await raw if is_async else raw)
        events = [e async for e in stream] if is_async else list(stream)
    assert [e.type for e in events] == [e["type"] for e in STREAM.sse_data() if e["type"] != "ping"]
    span = _span(exporter)
    assert token_attributes(span) == _expected_tokens(STREAM)
    assert span.attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "completed"


def test_issue_15_a_stream_helper_left_without_iterating_records_estimated_input(instrumented, exporter):
    body = request(STREAM, stream=None)
    with ReplayServer([STREAM], prefix="") as server:
        client = anthropic_client(server)
        with client.messages.stream(**kwargs_for(client.messages.stream, body)):
            pass
    span = _span(exporter)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "abandoned"
    assert span.attributes[attr.LLM_COST_USAGE_SOURCE] == "estimated"
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert span.attributes[attr.LLM_COST_COST_STATUS] in ("priced", "estimated")


# --- 6: raw bodies read as bytes ------------------------------------------------------------------------


@pytest.mark.parametrize("read", ["iter_lines", "iter_bytes", "read"])
def test_issue_15_with_streaming_response_read_as_bytes_is_recorded(read, instrumented, exporter):
    body = request(STREAM, stream=True)
    with ReplayServer([STREAM], prefix="") as server:
        client = anthropic_client(server)
        streaming = client.messages.with_streaming_response
        with streaming.create(**kwargs_for(client.messages.create, body)) as response:
            got = getattr(response, read)()
            raw = (
                got
                if read == "read"
                else b"".join(piece if isinstance(piece, bytes) else f"{piece}\n".encode() for piece in got)
            )
    assert b"message_stop" in raw
    span = _span(exporter)
    assert token_attributes(span) == _expected_tokens(STREAM)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "completed"
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "priced"


# --- 2: a request the SDK refuses before sending ---------------------------------------------------------


def test_issue_15_a_request_refused_before_sending_is_not_an_llm_error(instrumented, exporter):
    body = request(MESSAGE, model="claude-opus-4-1-20250805", max_tokens=64000)
    with ReplayServer([], prefix="") as server:
        client = anthropic_client(server)
        with pytest.raises(ValueError, match="Streaming is required"):
            client.beta.messages.create(**kwargs_for(client.messages.create, body))
        assert server.requests == []
    (span,) = exporter.get_finished_spans()
    assert span.attributes[attr.LLM_COST_REQUEST_SENT] is False
    assert span.status.status_code is not StatusCode.ERROR
    assert attr.ERROR_TYPE not in span.attributes
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes


# --- 8: cancelled streams of both SDKs get the same status --------------------------------------------------


async def test_issue_15_a_cancelled_anthropic_stream_is_not_an_error(instrumented, exporter):
    events = STREAM.sse_data()
    hold_at = next(i for i, e in enumerate(events) if e["type"] == "content_block_delta") + 1
    release = threading.Event()
    got_first = asyncio.Event()

    def on_event(index: int) -> None:
        if index == hold_at:
            release.wait(timeout=30)  # the server holds the stream here until released

    async def consume(client: Any) -> None:
        body = request(STREAM, stream=True)
        async for event in await client.messages.create(**kwargs_for(client.messages.create, body)):
            if event.type == "content_block_delta":
                got_first.set()

    with ReplayServer([STREAM.with_(on_event=on_event)], prefix="") as server:
        task = asyncio.create_task(consume(anthropic_client(server, is_async=True)))
        await got_first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
    span = _span(exporter)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "cancelled"
    assert span.status.status_code is StatusCode.UNSET
    assert attr.ERROR_TYPE not in span.attributes


# --- 10: content capture with the SDK's tracing off; responses without usage -------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["message", "stream"])
def test_issue_15_content_is_captured_when_the_env_var_says_so(
    streamed, tracer_provider, exporter, monkeypatch
):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")
    interaction = STREAM if streamed else MESSAGE
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        with ReplayServer([interaction], prefix="") as server:
            client = anthropic_client(server)
            body = request(interaction, stream=True if streamed else None)
            result = client.messages.create(**kwargs_for(client.messages.create, body))
            events = list(result) if streamed else None
    finally:
        instrumentor.uninstrument()
    span = _span(exporter)
    output = json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])
    if streamed:
        text = "".join(
            e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"
        )
    else:
        text = result.content[0].text
    assert output[0]["parts"][0]["content"] == text
    first_input = request(interaction)["messages"][0]
    assert json.loads(span.attributes[attr.GEN_AI_INPUT_MESSAGES])[0]["role"] == first_input["role"]


def test_issue_15_a_response_without_usage_is_estimated_and_priced_as_such(instrumented, exporter):
    body = {k: v for k, v in MESSAGE.body_json().items() if k != "usage"}
    with ReplayServer([json_response(body)], prefix="") as server:
        client = anthropic_client(server)
        client.messages.create(**kwargs_for(client.messages.create, request(MESSAGE)))
    span = _span(exporter)
    assert span.attributes[attr.LLM_COST_USAGE_SOURCE] == "estimated"
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "estimated"
