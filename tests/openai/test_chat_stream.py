"""Streamed chat completions: usage injection, the ``.stream()`` helper, raw and streaming-response forms."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from oai_helpers import MESSAGES, MODEL, USAGE, chat_chunk, chat_stream, client, one_span

from otel_llm_cost._estimate import estimate_tokens
from otel_llm_cost.instrumentation.openai import _patch
from replay import ReplayServer, json_response, sse_response


async def _drain(stream: Any, is_async: bool) -> list[Any]:
    if is_async:
        return [chunk async for chunk in stream]
    return list(stream)


async def _create(srv: ReplayServer, is_async: bool, **kwargs: Any) -> Any:
    result = client(srv, is_async=is_async).chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, **kwargs
    )
    return await result if is_async else result


@pytest.mark.parametrize("is_async", [False, True])
async def test_injected_usage_chunk_is_hidden_from_the_caller(
    is_async: bool, instrument: Any, exporter: Any
) -> None:
    with ReplayServer([sse_response(chat_stream())]) as srv:
        stream = await _create(srv, is_async)
        assert isinstance(stream, openai.AsyncStream if is_async else openai.Stream)
        texts = []
        for chunk in await _drain(stream, is_async):
            texts.append(chunk.choices[0].delta.content)  # would fail on the usage-only chunk
    assert srv.requests[0].json()["stream_options"] == {"include_usage": True}
    assert texts == ["", "Hello", " there", ", world", None]
    span = one_span(exporter)
    assert span.attributes["gen_ai.usage.input_tokens"] == USAGE["prompt_tokens"]
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 8
    assert span.attributes["gen_ai.usage.reasoning.output_tokens"] == 2
    assert span.attributes["llm_cost.usage.source"] == "provider"
    assert span.attributes["llm_cost.stream.outcome"] == "completed"
    assert span.attributes["llm_cost.stream.chunks"] == 6  # the hidden usage chunk included
    assert list(span.attributes["gen_ai.response.finish_reasons"]) == ["stop"]
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-scripted"
    assert (
        0 < span.attributes["gen_ai.response.time_to_first_chunk"] <= (span.end_time - span.start_time) / 1e9
    )


def test_injection_keeps_the_callers_other_stream_options(instrument: Any, exporter: Any) -> None:
    with ReplayServer([sse_response(chat_stream())]) as srv:
        client(srv).chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_obfuscation": False}
        ).close()
    assert srv.requests[0].json()["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert one_span(exporter).attributes["llm_cost.stream.outcome"] == "abandoned"


def test_chunks_without_choices_but_without_usage_are_delivered(instrument: Any, exporter: Any) -> None:
    # Azure opens streams with a prompt-filter chunk that has no choices and no usage: not ours to hide.
    prompt_filter = {**chat_chunk(choices=False), "prompt_filter_results": [{"prompt_index": 0}]}
    with ReplayServer([sse_response([prompt_filter, *chat_stream()])]) as srv:
        chunks = list(client(srv).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert chunks[0].choices == [] and chunks[0].usage is None
    assert all(chunk.choices for chunk in chunks[1:])
    assert one_span(exporter).attributes["gen_ai.usage.input_tokens"] == USAGE["prompt_tokens"]


def test_usage_chunk_the_caller_asked_for_is_kept(instrument: Any, exporter: Any) -> None:
    with ReplayServer([sse_response(chat_stream())]) as srv:
        chunks = list(
            client(srv).chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        )
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == USAGE["prompt_tokens"]
    assert one_span(exporter).attributes["llm_cost.usage.source"] == "provider"


@pytest.mark.parametrize("is_async", [False, True])
async def test_explicit_include_usage_false_is_respected(
    is_async: bool, instrument: Any, exporter: Any
) -> None:
    with ReplayServer([sse_response(chat_stream(usage=False))]) as srv:
        stream = await _create(srv, is_async, stream_options={"include_usage": False})
        await _drain(stream, is_async)
    assert srv.requests[0].json()["stream_options"] == {"include_usage": False}
    span = one_span(exporter)
    assert span.attributes["llm_cost.usage.source"] == "estimated"
    assert span.attributes["gen_ai.usage.output_tokens"] == estimate_tokens("Hello there, world")
    assert span.attributes["gen_ai.usage.input_tokens"] > estimate_tokens(MESSAGES[0]["content"])


def test_server_rejecting_stream_options_gets_the_callers_request(
    instrument: Any, exporter: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(_patch, "_NO_STREAM_OPTIONS", set())
    rejection = {"error": {"message": "Unrecognized request argument supplied: stream_options", "code": None}}
    script = [json_response(rejection, 400), sse_response(chat_stream(usage=False))]
    script.append(sse_response(chat_stream(usage=False)))
    with ReplayServer(script) as srv:
        first = [
            c.choices[0].delta.content
            for c in client(srv).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        ]
        list(client(srv).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert first == ["", "Hello", " there", ", world", None]
    bodies = [request.json() for request in srv.requests]
    assert bodies[0]["stream_options"] == {"include_usage": True}
    assert "stream_options" not in bodies[1]
    assert "stream_options" not in bodies[2]  # remembered for this server
    spans = [s for s in exporter.get_finished_spans()]
    assert len(spans) == 2
    assert all(s.attributes["llm_cost.usage.source"] == "estimated" for s in spans)
    assert all("error.type" not in s.attributes for s in spans)


@pytest.mark.parametrize("is_async", [False, True])
async def test_stream_helper_gives_one_span_with_usage(
    is_async: bool, instrument: Any, exporter: Any
) -> None:
    with ReplayServer([sse_response(chat_stream())]) as srv:
        completions = client(srv, is_async=is_async).chat.completions
        if is_async:
            async with completions.stream(model=MODEL, messages=MESSAGES) as stream:
                kinds = [event.type async for event in stream]
                final = await stream.get_final_completion()
        else:
            with completions.stream(model=MODEL, messages=MESSAGES) as stream:
                kinds = [event.type for event in stream]
                final = stream.get_final_completion()
    assert "content.done" in kinds
    assert final.choices[0].message.content == "Hello there, world"
    span = one_span(exporter)
    assert span.attributes["gen_ai.usage.input_tokens"] == USAGE["prompt_tokens"]
    assert span.attributes["llm_cost.stream.outcome"] == "completed"


@pytest.mark.parametrize("is_async", [False, True])
async def test_stream_helper_left_early_ends_the_span_at_exit(
    is_async: bool, instrument: Any, exporter: Any
) -> None:
    with ReplayServer([sse_response(chat_stream())]) as srv:
        completions = client(srv, is_async=is_async).chat.completions
        if is_async:
            async with completions.stream(model=MODEL, messages=MESSAGES) as stream:
                async for _ in stream:
                    break
        else:
            with completions.stream(model=MODEL, messages=MESSAGES) as stream:
                for _ in stream:
                    break
        span = one_span(exporter)  # ended by the exit, while `stream` is still referenced
    assert span.attributes["llm_cost.stream.outcome"] == "abandoned"
    assert span.attributes["llm_cost.usage.source"] == "estimated"
    assert stream is not None


@pytest.mark.parametrize("is_async", [False, True])
async def test_with_raw_response_stream(is_async: bool, instrument: Any, exporter: Any) -> None:
    # No include_usage is injected into a raw request (its caller may read the bytes: issue #15), so the
    # server sends no usage chunk and the output is estimated.
    with ReplayServer([sse_response(chat_stream(usage=False))]) as srv:
        api = client(srv, is_async=is_async).chat.completions.with_raw_response
        result = api.create(model=MODEL, messages=MESSAGES, stream=True)
        stream = (await result if is_async else result).parse()  # the raw response is dropped here
        contents = [chunk.choices[0].delta.content for chunk in await _drain(stream, is_async)]
    assert contents[1:4] == ["Hello", " there", ", world"]
    assert "stream_options" not in srv.requests[0].json()
    span = one_span(exporter)
    assert span.attributes["llm_cost.stream.outcome"] == "completed"
    assert span.attributes["llm_cost.usage.source"] == "estimated"
    assert span.attributes["gen_ai.usage.output_tokens"] > 0


@pytest.mark.parametrize("is_async", [False, True])
async def test_with_raw_response_stream_with_usage_asked_by_the_caller(
    is_async: bool, instrument: Any, exporter: Any
) -> None:
    with ReplayServer([sse_response(chat_stream())]) as srv:
        api = client(srv, is_async=is_async).chat.completions.with_raw_response
        options = {"include_usage": True}
        result = api.create(model=MODEL, messages=MESSAGES, stream=True, stream_options=options)
        stream = (await result if is_async else result).parse()
        chunks = await _drain(stream, is_async)
    assert chunks[-1].usage is not None and not chunks[-1].choices  # the caller's own usage chunk
    span = one_span(exporter)
    assert span.attributes["llm_cost.usage.source"] == "provider"
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]


@pytest.mark.parametrize("is_async", [False, True])
async def test_with_streaming_response_stream(is_async: bool, instrument: Any, exporter: Any) -> None:
    with ReplayServer([sse_response(chat_stream(usage=False))]) as srv:
        api = client(srv, is_async=is_async).chat.completions.with_streaming_response
        if is_async:
            async with api.create(model=MODEL, messages=MESSAGES, stream=True) as response:
                chunks = await _drain(await response.parse(), True)
        else:
            with api.create(model=MODEL, messages=MESSAGES, stream=True) as response:
                chunks = await _drain(response.parse(), False)
    assert all(chunk.choices for chunk in chunks)
    span = one_span(exporter)
    assert span.attributes["llm_cost.usage.source"] == "estimated"  # nothing injected into raw requests
    assert span.attributes["gen_ai.usage.input_tokens"] > 0
    assert span.attributes["llm_cost.stream.outcome"] == "completed"
