"""What a stream keeps of its chunks, and the iterator's life apart from the proxy's.

A stream keeps its opening chunks and its last few; the middle is counted, not kept, unless the end needs
every chunk (an estimate that must read all the text, several choices, content capture). So a long
stream holds a bounded number of SDK objects, and usage, ids and finish reasons are still exact.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest
from oai_helpers import MESSAGES, MODEL, USAGE, chat_chunk, chat_stream, client, one_span

from otel_llm_cost._estimate import estimate_tokens
from otel_llm_cost.instrumentation.openai import _patch, _streams
from replay import ReplayServer, json_response, sse_response

WORD = "word "
LONG = 1_500


def _long_stream(*, usage: bool = True, chunks: int = LONG) -> list[Any]:
    return chat_stream([WORD] * chunks, usage=usage)


def _create(srv: ReplayServer, **kwargs: Any) -> Any:
    return client(srv).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, **kwargs)


def _live_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def _growth_while_consuming(stream: Any, first: int = 300, last: int = LONG - 100) -> int:
    """Live objects at chunk ``last`` minus at chunk ``first``, consuming the whole stream."""
    counts = {}
    for index, _ in enumerate(stream):
        if index in (first, last):
            counts[index] = _live_objects()
    return counts[last] - counts[first]


def test_a_long_stream_holds_a_bounded_number_of_chunks(instrument: Any, exporter: Any) -> None:
    with ReplayServer([sse_response(_long_stream())]) as srv:
        growth = _growth_while_consuming(_create(srv))
    # Keeping 1,200 more ChatCompletionChunks would add several objects each.
    assert growth < 200
    span = one_span(exporter)
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]
    assert span.attributes["llm_cost.usage.source"] == "provider"
    assert span.attributes["llm_cost.stream.chunks"] == LONG + 3  # role, texts, finish, usage
    assert list(span.attributes["gen_ai.response.finish_reasons"]) == ["stop"]
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-scripted"
    assert span.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"


def test_the_measure_of_growth_sees_kept_chunks(
    instrument: Any, exporter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bound above is meaningful: a recorder that keeps every chunk breaks it."""
    monkeypatch.setattr(_streams._ChatRecorder, "needs_every_chunk", staticmethod(lambda *_: True))
    with ReplayServer([sse_response(_long_stream())]) as srv:
        growth = _growth_while_consuming(_create(srv))
    assert growth > 1_000


def test_usage_that_never_comes_is_extrapolated_from_the_chunks_kept(instrument: Any, exporter: Any) -> None:
    # We asked for the usage chunk; this server ignores the option.
    with ReplayServer([sse_response(_long_stream(usage=False))]) as srv:
        list(_create(srv))
    span = one_span(exporter)
    assert span.attributes["llm_cost.usage.source"] == "estimated"
    every_chunk = estimate_tokens(WORD * LONG)
    assert abs(span.attributes["gen_ai.usage.output_tokens"] - every_chunk) <= every_chunk // 10


@pytest.mark.parametrize("why", ["caller turned include_usage off", "server refused stream_options"])
def test_without_a_usage_chunk_coming_every_chunk_is_read(
    why: str, instrument: Any, exporter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"w{i} " for i in range(300)]  # uneven lengths: extrapolating would not give the same count
    script = [sse_response(chat_stream(texts, usage=False))]
    kwargs: dict[str, Any] = {}
    if why.startswith("caller"):
        kwargs["stream_options"] = {"include_usage": False}
    else:
        monkeypatch.setattr(_patch, "_NO_STREAM_OPTIONS", set())
        refusal = {"error": {"message": "Unrecognized request argument supplied: stream_options"}}
        script.insert(0, json_response(refusal, 400))
    with ReplayServer(script) as srv:
        list(_create(srv, **kwargs))
    span = one_span(exporter)
    assert span.attributes["llm_cost.usage.source"] == "estimated"
    assert span.attributes["gen_ai.usage.output_tokens"] == estimate_tokens("".join(texts))


def test_several_choices_keep_every_finish_reason(instrument: Any, exporter: Any) -> None:
    def choice_chunk(index: int, content: str | None = None, finish: str | None = None) -> dict[str, Any]:
        chunk = chat_chunk(content, finish=finish)
        chunk["choices"][0]["index"] = index
        return chunk

    events: list[Any] = [choice_chunk(0, "A"), choice_chunk(1, "B"), choice_chunk(0, finish="length")]
    events += [choice_chunk(1, WORD) for _ in range(100)]  # choice 0's finish is far from the end
    events += [choice_chunk(1, finish="stop"), chat_chunk(choices=False, usage=USAGE), "data: [DONE]\n\n"]
    with ReplayServer([sse_response(events)]) as srv:
        list(_create(srv, n=2))
    span = one_span(exporter)
    assert list(span.attributes["gen_ai.response.finish_reasons"]) == ["length", "stop"]
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]


# --- the iterator and the proxy ---------------------------------------------------------------------------


def test_the_iterator_outlives_the_proxy(instrument: Any, exporter: Any) -> None:
    """``for chunk in client.chat.completions.create(...)`` holds the iterator only."""
    with ReplayServer([sse_response(chat_stream())]) as srv:
        iterator = iter(_create(srv))
        gc.collect()  # the proxy is gone
        assert exporter.get_finished_spans() == ()
        texts = [chunk.choices[0].delta.content for chunk in iterator]
    assert texts == ["", "Hello", " there", ", world", None]
    span = one_span(exporter)
    assert span.attributes["llm_cost.stream.outcome"] == "completed"
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]


async def test_the_async_iterator_outlives_the_proxy(instrument: Any, exporter: Any) -> None:
    with ReplayServer([sse_response(chat_stream())]) as srv:
        stream = await client(srv, is_async=True).chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True
        )
        iterator = aiter(stream)
        del stream
        gc.collect()
        assert exporter.get_finished_spans() == ()
        texts = [chunk.choices[0].delta.content async for chunk in iterator]
    assert texts == ["", "Hello", " there", ", world", None]
    assert one_span(exporter).attributes["llm_cost.stream.outcome"] == "completed"


@pytest.mark.parametrize("make_iterator", [iter, lambda stream: stream.__iter__()])
def test_an_iterator_dropped_before_its_first_chunk_abandons_the_stream(
    make_iterator: Callable[[Any], Any], instrument: Any, exporter: Any
) -> None:
    with ReplayServer([sse_response(chat_stream())]) as srv:
        iterator = make_iterator(_create(srv))
        del iterator
        gc.collect()
        span = one_span(exporter)
    assert span.attributes["llm_cost.stream.outcome"] == "abandoned"


def test_next_and_for_share_one_iterator(instrument: Any, exporter: Any) -> None:
    with ReplayServer([sse_response(chat_stream())]) as srv:
        stream = _create(srv)
        first = next(stream)
        rest = [chunk.choices[0].delta.content for chunk in stream]
    assert first.choices[0].delta.content == ""
    assert rest == ["Hello", " there", ", world", None]
    span = one_span(exporter)
    assert span.attributes["llm_cost.stream.chunks"] == 6
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]


def test_a_failing_chunk_test_never_reaches_the_caller(
    instrument: Any, exporter: Any, monkeypatch: pytest.MonkeyPatch, no_instrumentation_faults: Any
) -> None:
    def broken(_: object) -> bool:
        raise RuntimeError("a chunk shape we did not foresee")

    monkeypatch.setattr(_streams._ChatRecorder, "content_test", staticmethod(broken))
    with ReplayServer([sse_response(chat_stream())]) as srv:
        chunks = list(_create(srv))
    assert len(chunks) == 6  # nothing hidden once we stopped looking
    span = one_span(exporter)
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]
    messages = [r.getMessage() for r in no_instrumentation_faults.records]
    assert "otel-llm-cost stopped looking at a stream's chunks" in messages
