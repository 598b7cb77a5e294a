"""Fuzzing the OpenAI instrumentation through the real SDK: generated response bodies and stream chunk
sequences (missing/None/negative/huge/float/string token counts, missing usage, extra fields, junk types,
invalid JSON events, error events, truncated streams), served over loopback.

Each example is served to the bare SDK method and to the instrumented one (see reliability_diff.py): the
caller must see the same thing, every span ends once, no number on it is negative or non-finite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_checks import Recording
from reliability_diff import Differential, Outcome
from reliability_strategies import (
    JSON,
    OPENAI_CHAT_USAGE,
    OPENAI_EMBEDDINGS_USAGE,
    OPENAI_MODELS,
    OPENAI_RESPONSES_USAGE,
    SCALAR,
    TEXT,
    maybe,
)

from replay import Interaction, ReplayServer, json_response, sse_response

# The SDKs' own pydantic models warn when they dump junk; bare and instrumented runs alike.
pytestmark = pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MESSAGES = [{"role": "user", "content": "Say hi"}]

# --- response shapes ---------------------------------------------------------------------------------------

DELTA = st.fixed_dictionaries(
    {},
    optional={
        "role": TEXT,
        "content": TEXT,
        "refusal": TEXT,
        "tool_calls": maybe(st.lists(JSON, max_size=2)),
        "reasoning_content": TEXT,
    },
)
CHOICE = st.fixed_dictionaries(
    {},
    optional={
        "index": st.one_of(st.integers(0, 2), SCALAR),
        "delta": maybe(DELTA),
        "message": maybe(DELTA),
        "finish_reason": st.one_of(st.sampled_from(["stop", "length", "tool_calls"]), SCALAR),
    },
)
CHOICES = maybe(st.lists(CHOICE, max_size=2))


def chat_body(usage: st.SearchStrategy[Any] = OPENAI_CHAT_USAGE) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"object": st.just("chat.completion.chunk")},
        optional={
            "id": TEXT,
            "model": maybe(OPENAI_MODELS),
            "choices": CHOICES,
            "usage": usage,
            "service_tier": TEXT,
            "system_fingerprint": JSON,
            "x_groq": st.fixed_dictionaries({}, optional={"usage": OPENAI_CHAT_USAGE}),
        },
    )


ERROR_BODY = st.one_of(
    st.fixed_dictionaries({"error": st.fixed_dictionaries({}, optional={"message": TEXT, "type": TEXT})}),
    JSON,
)
# Raw SSE events the SDK's decoder must cope with (or fail on, in its own way).
RAW_EVENT = st.sampled_from(
    [
        b"data: {not json\n\n",
        b"data: [DONE]\n\n",
        b": keep-alive comment\n\n",
        b"event: ping\ndata: {}\n\n",
        b"data: \n\n",
        b"data: null\n\n",
        b"data: 12\n\n",
    ]
)
CHAT_EVENT = st.one_of(
    chat_body(), chat_body(), chat_body(), RAW_EVENT, ERROR_BODY.map(lambda b: {"error": b})
)


@st.composite
def json_reply(draw: st.DrawFn, body: st.SearchStrategy[Any]) -> Interaction:
    status = draw(st.sampled_from([200, 200, 200, 200, 400, 404, 429, 500]))
    if status != 200:
        return json_response(draw(ERROR_BODY), status)
    if draw(st.integers(0, 9)) == 0:  # a body that is not JSON at all, or cut short
        reply = json_response({})
        return reply.with_(body=draw(st.sampled_from([b"", b"{", b"not json", b"\xff\xfe"])))
    return json_response(draw(body))


@st.composite
def sse_reply(draw: st.DrawFn, event: st.SearchStrategy[Any]) -> Interaction:
    events = draw(st.lists(event, max_size=8))
    if draw(st.booleans()):
        events.append(b"data: [DONE]\n\n")
    drop_after = draw(st.one_of(st.none(), st.none(), st.integers(0, len(events))))
    return sse_response(events, drop_after=drop_after)


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        yield srv


@pytest.fixture(scope="module")
def diff(server: ReplayServer, instrumented: Recording) -> Differential:
    return Differential(server, instrumented)


@pytest.fixture(scope="module")
def client(server: ReplayServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0, timeout=120)


def assert_same(bare: Outcome, instrumented: Outcome, hidden_usage: bool = False) -> None:
    """The caller saw the same thing; the usage-only chunk we asked for may be hidden from it."""
    expected = bare.items
    if hidden_usage and bare.items is not None:
        expected = [
            text
            for text, chunk in zip(bare.items, bare.raw_items, strict=True)
            if getattr(chunk, "choices", None) or getattr(chunk, "usage", None) is None
        ]
    assert instrumented.error == bare.error
    assert instrumented.items == expected
    assert instrumented.value == bare.value


# --- tests ------------------------------------------------------------------------------------------------


@FUZZ
@given(reply=json_reply(chat_body().map(lambda b: {**b, "object": "chat.completion"})), model=OPENAI_MODELS)
def test_chat_completion_shapes(diff: Differential, client: openai.OpenAI, reply: Interaction, model: str):
    bare, instrumented = diff.bare_and_instrumented(
        reply, client.chat.completions.create, lambda m: m(model=model, messages=MESSAGES)
    )
    assert_same(bare, instrumented)


@FUZZ
@given(
    reply=sse_reply(CHAT_EVENT), options=st.sampled_from([None, True, False]), n=st.sampled_from([None, 2])
)
def test_chat_stream_sequences(
    diff: Differential, client: openai.OpenAI, reply: Interaction, options: bool | None, n: int | None
):
    kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    if options is not None:
        kwargs["stream_options"] = {"include_usage": options}
    if n is not None:
        kwargs["n"] = n
    bare, instrumented = diff.bare_and_instrumented(
        reply, client.chat.completions.create, lambda m: m(**kwargs)
    )
    assert_same(bare, instrumented, hidden_usage=options is None)


RESPONSE = st.fixed_dictionaries(
    {"object": st.just("response")},
    optional={
        "id": TEXT,
        "model": maybe(OPENAI_MODELS),
        "status": st.one_of(st.sampled_from(["completed", "incomplete", "failed"]), SCALAR),
        "output": maybe(st.lists(JSON, max_size=2)),
        "usage": OPENAI_RESPONSES_USAGE,
        "incomplete_details": JSON,
    },
)


@FUZZ
@given(reply=json_reply(RESPONSE))
def test_responses_shapes(diff: Differential, client: openai.OpenAI, reply: Interaction):
    bare, instrumented = diff.bare_and_instrumented(
        reply, client.responses.create, lambda m: m(model="gpt-4o-mini", input="Say hi")
    )
    assert_same(bare, instrumented)


RESPONSES_EVENT = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["response.created", "response.completed", "response.incomplete"])},
        optional={"response": maybe(RESPONSE), "sequence_number": SCALAR},
    ),
    st.fixed_dictionaries({"type": st.just("response.output_text.delta")}, optional={"delta": TEXT}),
    st.fixed_dictionaries({"type": TEXT}, optional={"response": JSON}),
    RAW_EVENT,
)


@FUZZ
@given(reply=sse_reply(RESPONSES_EVENT))
def test_responses_stream_sequences(diff: Differential, client: openai.OpenAI, reply: Interaction):
    bare, instrumented = diff.bare_and_instrumented(
        reply, client.responses.create, lambda m: m(model="gpt-4o-mini", input="Say hi", stream=True)
    )
    assert_same(bare, instrumented)


EMBEDDINGS = st.fixed_dictionaries(
    {"object": st.just("list")},
    optional={
        "model": maybe(OPENAI_MODELS),
        "data": maybe(st.lists(st.fixed_dictionaries({"embedding": JSON, "index": SCALAR}), max_size=2)),
        "usage": OPENAI_EMBEDDINGS_USAGE,
    },
)


@FUZZ
@given(reply=json_reply(EMBEDDINGS), encoding=st.sampled_from(["float", None]))
def test_embeddings_shapes(
    diff: Differential, client: openai.OpenAI, reply: Interaction, encoding: str | None
):
    kwargs: dict[str, Any] = {"model": "text-embedding-3-small", "input": ["a", "b"]}
    if encoding:
        kwargs["encoding_format"] = encoding
    bare, instrumented = diff.bare_and_instrumented(reply, client.embeddings.create, lambda m: m(**kwargs))
    assert_same(bare, instrumented)


@settings(FUZZ, max_examples=30)
@given(reply=sse_reply(CHAT_EVENT))
async def test_async_chat_stream_sequences(diff: Differential, server: ReplayServer, reply: Interaction):
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0, timeout=120)
    kwargs = {
        "model": "gpt-4o-mini",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    bare, instrumented = await diff.abare_and_instrumented(
        reply, client.chat.completions.create, lambda m: m(**kwargs)
    )
    assert_same(bare, instrumented)
    await client.close()
