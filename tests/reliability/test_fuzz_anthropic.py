"""Fuzzing the Anthropic instrumentation through the real SDK: generated messages and event sequences
(malformed usage blocks, events out of order or missing, unknown events, invalid JSON, error events,
truncated streams), served over loopback to ``messages.create`` (plain and ``stream=True``) and the
``messages.stream()`` helper.

Each example is served to the bare SDK method and to the instrumented one (see reliability_diff.py): the
caller must see the same thing, every span ends once, no number on it is negative or non-finite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_checks import Recording
from reliability_diff import Differential
from reliability_strategies import ANTHROPIC_MODELS, ANTHROPIC_USAGE, JSON, SCALAR, TEXT, maybe

from otel_llm_cost.instrumentation._invocation import error_type
from otel_llm_cost.instrumentation.anthropic._streams import StreamTruncatedError
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
REQUEST = {
    "model": "claude-haiku-4-5-20251001",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}

CONTENT = maybe(
    st.lists(st.fixed_dictionaries({"type": st.just("text")}, optional={"text": TEXT}), max_size=2)
)
MESSAGE = st.fixed_dictionaries(
    {"type": st.just("message")},
    optional={
        "id": TEXT,
        "role": st.just("assistant"),
        "model": maybe(ANTHROPIC_MODELS),
        "content": CONTENT,
        "stop_reason": st.one_of(st.sampled_from(["end_turn", "max_tokens"]), SCALAR),
        "usage": ANTHROPIC_USAGE,
        "extra_field": JSON,
    },
)
ERROR_BODY = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("error")},
        optional={"error": st.fixed_dictionaries({}, optional={"type": TEXT, "message": TEXT})},
    ),
    JSON,
)


def _event(name: str, payload: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[tuple[str, Any]]:
    return payload.map(lambda body: (name, {"type": name, **body}))


EVENT = st.one_of(
    _event("message_start", st.fixed_dictionaries({}, optional={"message": maybe(MESSAGE)})),
    _event(
        "content_block_start",
        st.fixed_dictionaries({"index": st.integers(0, 1)}, optional={"content_block": JSON}),
    ),
    _event(
        "content_block_delta",
        st.fixed_dictionaries(
            {"index": st.integers(0, 1)},
            optional={
                "delta": st.fixed_dictionaries({"type": st.just("text_delta")}, optional={"text": TEXT})
            },
        ),
    ),
    _event("content_block_stop", st.fixed_dictionaries({"index": st.integers(0, 1)})),
    _event(
        "message_delta",
        st.fixed_dictionaries({}, optional={"delta": JSON, "usage": ANTHROPIC_USAGE}),
    ),
    _event("message_stop", st.fixed_dictionaries({})),
    _event("ping", st.fixed_dictionaries({})),
    ERROR_BODY.map(lambda body: ("error", body)),
    st.sampled_from(
        [b"event: message_delta\ndata: {not json\n\n", b"data: {}\n\n", b"event: unknown\ndata: 1\n\n"]
    ),
)


@st.composite
def message_reply(draw: st.DrawFn) -> Interaction:
    status = draw(st.sampled_from([200, 200, 200, 200, 400, 429, 500, 529]))
    if status != 200:
        return json_response(draw(ERROR_BODY), status)
    if draw(st.integers(0, 9)) == 0:
        return json_response({}).with_(body=draw(st.sampled_from([b"", b"{", b"not json"])))
    return json_response(draw(MESSAGE))


@st.composite
def stream_reply(draw: st.DrawFn) -> Interaction:
    events = draw(st.lists(EVENT, max_size=8))
    if draw(st.booleans()):  # a well-formed opening, so that more examples get past the SDK's accumulator
        events.insert(0, ("message_start", {"type": "message_start", "message": draw(MESSAGE)}))
    drop_after = draw(st.one_of(st.none(), st.none(), st.integers(0, len(events))))
    return sse_response(events, drop_after=drop_after)


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer([], prefix="") as srv:
        yield srv


@pytest.fixture(scope="module")
def diff(server: ReplayServer, instrumented: Recording) -> Differential:
    return Differential(server, instrumented, (error_type(StreamTruncatedError("")),))


@pytest.fixture(scope="module")
def client(server: ReplayServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key="test-key", max_retries=0, timeout=120)


@FUZZ
@given(reply=message_reply(), model=ANTHROPIC_MODELS)
def test_message_shapes(diff: Differential, client: anthropic.Anthropic, reply: Interaction, model: str):
    bare, instrumented = diff.bare_and_instrumented(
        reply, client.messages.create, lambda m: m(**{**REQUEST, "model": model})
    )
    assert instrumented == bare


@FUZZ
@given(reply=stream_reply())
def test_event_sequences(diff: Differential, client: anthropic.Anthropic, reply: Interaction):
    bare, instrumented = diff.bare_and_instrumented(
        reply, client.messages.create, lambda m: m(**REQUEST, stream=True)
    )
    assert instrumented == bare


def _through_helper(method: Any) -> list[str]:
    with method(**REQUEST) as stream:
        seen = [repr(event) for event in stream]
        seen.append(repr(stream.get_final_message()))
    return seen


@FUZZ
@given(reply=stream_reply())
def test_stream_helper_sequences(diff: Differential, client: anthropic.Anthropic, reply: Interaction):
    # Known gap: the event proxy ends the span when the raw stream ends, before the helper's accumulator
    # reads the last event; an SDK error raised there (e.g. message_stop without message_start) leaves
    # the span without error.type. The caller still sees the SDK's own exception, which is checked here.
    lenient = Differential(diff.server, diff.recording, (*diff.stream_errors, None))
    bare, instrumented = lenient.bare_and_instrumented(reply, client.messages.stream, _through_helper)
    assert instrumented == bare


@settings(FUZZ, max_examples=30)
@given(reply=stream_reply())
async def test_async_event_sequences(diff: Differential, server: ReplayServer, reply: Interaction):
    client = anthropic.AsyncAnthropic(
        base_url=server.base_url, api_key="test-key", max_retries=0, timeout=120
    )
    bare, instrumented = await diff.abare_and_instrumented(
        reply, client.messages.create, lambda m: m(**REQUEST, stream=True)
    )
    assert instrumented == bare
    await client.close()
