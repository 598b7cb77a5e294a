"""Every way a stream can end ends its span exactly once, with what the stream showed.

Normal end, ``break`` then garbage collection, ``close()`` / ``aclose()``, context-manager exit, task
cancellation and a connection dropped mid-stream, for chat and Responses streams, sync and async. The
autouse fixture in ``conftest.py`` fails any test in which a span was ended twice.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from oai_helpers import MESSAGES, MODEL, USAGE, chat_stream, client, find_recording, one_span
from opentelemetry.trace import StatusCode

from otel_llm_cost._estimate import estimate_tokens
from replay import Interaction, ReplayServer, sse_response

TEXT_BEFORE_HOLD = "Hello"  # the chat stream's events: role, "Hello", " there", ", world", finish, usage
HOLD_AT = 2  # the server waits before writing event 2, so the client has seen "" and "Hello"


def _chat(**changes: Any) -> Interaction:
    return sse_response(chat_stream()).with_(**changes)


def _responses(**changes: Any) -> Interaction:
    interaction, _ = find_recording(
        lambda e: e["api"] == "responses" and e["stream"] and e["usage"] is not None
    )
    return interaction.with_(**changes)


@contextmanager
def _held(interaction: Interaction, at: int = HOLD_AT) -> Iterator[ReplayServer]:
    """A server that stops before SSE event ``at`` until the test is done with it."""
    release = threading.Event()

    def on_event(index: int) -> None:
        if index == at:
            release.wait(timeout=30)

    with ReplayServer([interaction.with_(on_event=on_event)]) as srv:
        try:
            yield srv
        finally:
            release.set()


def _open(srv: ReplayServer, surface: str, is_async: bool = False) -> Any:
    sdk_client = client(srv, is_async=is_async)
    if surface == "chat":
        return sdk_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    return sdk_client.responses.create(model=MODEL, input="Write a long story", stream=True)


def _assert_estimated(span: Any, outcome: str) -> None:
    assert span.attributes["llm_cost.stream.outcome"] == outcome
    assert span.attributes["llm_cost.usage.source"] == "estimated"
    assert span.attributes["gen_ai.usage.input_tokens"] > 0


# --- completed ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
async def test_normal_end(is_async: bool, instrument: Any, exporter: Any) -> None:
    with ReplayServer([_chat()]) as srv:
        stream = _open(srv, "chat", is_async)
        if is_async:
            stream = await stream
            async for _ in stream:
                pass
            await stream.aclose()  # closing after the end changes nothing
        else:
            list(stream)
            stream.close()
    span = one_span(exporter)
    assert span.attributes["llm_cost.stream.outcome"] == "completed"
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]
    assert span.status.status_code is StatusCode.UNSET


# --- abandoned -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", ["chat", "responses"])
def test_close_mid_stream(surface: str, instrument: Any, exporter: Any) -> None:
    interaction = _chat() if surface == "chat" else _responses()
    with _held(interaction, at=4) as srv:
        stream = _open(srv, surface)
        seen = [next(stream) for _ in range(2)]
        stream.close()
        stream.close()
    span = one_span(exporter)
    _assert_estimated(span, "abandoned")
    if surface == "chat":
        assert [c.choices[0].delta.content for c in seen] == ["", "Hello"]
        assert span.attributes["gen_ai.usage.output_tokens"] == estimate_tokens(TEXT_BEFORE_HOLD)


@pytest.mark.parametrize("surface", ["chat", "responses"])
async def test_aclose_mid_stream(surface: str, instrument: Any, exporter: Any) -> None:
    interaction = _chat() if surface == "chat" else _responses()
    with _held(interaction, at=4) as srv:
        stream = await _open(srv, surface, is_async=True)
        await stream.__anext__()
        await stream.__anext__()
        await stream.aclose()
    _assert_estimated(one_span(exporter), "abandoned")


def test_context_manager_exit_mid_stream(instrument: Any, exporter: Any) -> None:
    with _held(_chat()) as srv:
        with _open(srv, "chat") as stream:
            for chunk in stream:
                if chunk.choices[0].delta.content == TEXT_BEFORE_HOLD:
                    break
        span = one_span(exporter)  # ended on exit, not later
    _assert_estimated(span, "abandoned")
    assert span.attributes["gen_ai.usage.output_tokens"] == estimate_tokens(TEXT_BEFORE_HOLD)


async def test_async_context_manager_exit_mid_stream(instrument: Any, exporter: Any) -> None:
    with _held(_chat()) as srv:
        async with await _open(srv, "chat", is_async=True) as stream:
            async for chunk in stream:
                if chunk.choices[0].delta.content == TEXT_BEFORE_HOLD:
                    break
        span = one_span(exporter)
    _assert_estimated(span, "abandoned")


@pytest.mark.parametrize("surface", ["chat", "responses"])
def test_break_then_garbage_collection(surface: str, instrument: Any, exporter: Any) -> None:
    interaction = _chat() if surface == "chat" else _responses()
    with _held(interaction, at=4) as srv:
        stream = _open(srv, surface)
        for _ in stream:
            break
        assert exporter.get_finished_spans() == ()
        del stream
        gc.collect()
        span = one_span(exporter)
    _assert_estimated(span, "abandoned")


async def test_async_break_then_garbage_collection(instrument: Any, exporter: Any) -> None:
    with _held(_chat(), at=4) as srv:
        stream = await _open(srv, "chat", is_async=True)
        async for _ in stream:
            break
        assert exporter.get_finished_spans() == ()
        await stream.aclose()  # what the SDK would otherwise leave to the event loop's finaliser
        del stream
        gc.collect()
        span = one_span(exporter)
    _assert_estimated(span, "abandoned")


# --- cancelled --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", ["chat", "responses"])
async def test_task_cancelled_mid_stream(surface: str, instrument: Any, exporter: Any) -> None:
    interaction = _chat() if surface == "chat" else _responses()
    got_two = asyncio.Event()

    async def consume() -> None:
        stream = await _open(srv, surface, is_async=True)
        count = 0
        async for _ in stream:
            count += 1
            if count == 2:
                got_two.set()

    with _held(interaction) as srv:
        task = asyncio.create_task(consume())
        await got_two.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    span = one_span(exporter)
    _assert_estimated(span, "cancelled")
    assert "error.type" not in span.attributes
    if surface == "chat":
        assert span.attributes["gen_ai.usage.output_tokens"] == estimate_tokens(TEXT_BEFORE_HOLD)


# --- error --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", ["chat", "responses"])
@pytest.mark.parametrize("is_async", [False, True])
async def test_connection_dropped_mid_stream(
    surface: str, is_async: bool, instrument: Any, exporter: Any
) -> None:
    interaction = (_chat() if surface == "chat" else _responses()).with_(drop_after=3)
    seen = []
    with ReplayServer([interaction]) as srv, pytest.raises(Exception) as info:
        stream = _open(srv, surface, is_async)
        if is_async:
            async for chunk in await stream:
                seen.append(chunk)
        else:
            for chunk in stream:
                seen.append(chunk)
    assert len(seen) == 3
    assert not type(info.value).__module__.startswith("otel_llm_cost")
    span = one_span(exporter)
    _assert_estimated(span, "error")
    error = type(info.value)
    assert span.attributes["error.type"] == f"{error.__module__}.{error.__qualname__}"
    assert span.status.status_code is StatusCode.ERROR


def test_error_raised_in_the_callers_with_block_propagates(instrument: Any, exporter: Any) -> None:
    class Boom(Exception):
        pass

    with _held(_chat()) as srv, pytest.raises(Boom), _open(srv, "chat") as stream:
        next(stream)
        raise Boom
    span = one_span(exporter)
    # The caller's own exception is not the LLM call's failure (issue #15): the stream was abandoned.
    assert span.attributes["llm_cost.stream.outcome"] == "abandoned"
    assert "error.type" not in span.attributes
    assert span.status.status_code is not StatusCode.ERROR
    assert span.end_time is not None
