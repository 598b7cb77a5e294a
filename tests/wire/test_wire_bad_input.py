"""Bad input on the wire never reaches the application, and unrelated traffic is left alone.

Compressed (gzip, br) bodies and streams, events split anywhere across chunks, non-JSON and binary bodies,
bodies past the size caps, truncated streams, unrecognised hosts and paths; and the exit paths of a
stream read through a raw client (closed early, dropped, refused by a budget).
"""

from __future__ import annotations

import gc
import gzip
import itertools
import json
import ssl
from collections.abc import Iterator
from typing import Any

import brotli
import httpx
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oai_helpers import MESSAGES, USAGE, chat_completion, chat_stream
from wire_replay import proxy_url

from otel_llm_cost import attributes as attr
from otel_llm_cost.budget import BudgetGuard
from otel_llm_cost.errors import BudgetExceeded
from otel_llm_cost.instrumentation.wire import WireInstrumentor
from otel_llm_cost.instrumentation.wire._observer import TAIL_BYTES
from replay import Interaction, ReplayServer, json_response, sse_response

CLIENTS = pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
BODY = {
    "model": "gpt-4o-mini",
    "messages": MESSAGES,
    "stream": True,
    "stream_options": {"include_usage": True},
}
_SSL = ssl.create_default_context()


def spans(exporter: Any) -> list[Any]:
    return list(exporter.get_finished_spans())


def one_span(exporter: Any) -> Any:
    found = spans(exporter)
    assert len(found) == 1, [s.name for s in found]
    return found[0]


def raw(body: bytes, content_type: str, **headers: str) -> Interaction:
    return Interaction(None, None, 200, (("content-type", content_type), *headers.items()), body)


def sse_bytes(events: list[Any]) -> bytes:
    return b"".join(sse_response(events).sse_events())


def stream_in_pieces(body: bytes, cuts: list[int], **headers: str) -> Interaction:
    """An SSE response whose chunks are ``body`` cut at ``cuts`` (events split anywhere)."""
    edges = [0, *sorted({c for c in cuts if 0 < c < len(body)}), len(body)]
    pieces = tuple(body[a:b] for a, b in itertools.pairwise(edges))
    return raw(body, "text/event-stream", **headers).with_(events=pieces)


def read_stream(module: Any, url: str, body: Any = BODY) -> bytes:
    with module.Client(verify=_SSL) as client, client.stream("POST", url, json=body) as response:
        return b"".join(response.iter_bytes())


def assert_usage(span: Any) -> None:
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == USAGE["prompt_tokens"]
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == USAGE["completion_tokens"]
    assert span.attributes[attr.LLM_COST_USAGE_SOURCE] == "provider"


# --- encodings -----------------------------------------------------------------------------------------

ENCODINGS = {"gzip": gzip.compress, "br": brotli.compress}


@CLIENTS
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_compressed_body_is_read_as_the_client_decodes_it(replay_server, wire, exporter, module, encoding):
    plain = json.dumps(chat_completion()).encode()
    reply = raw(ENCODINGS[encoding](plain), "application/json", **{"content-encoding": encoding})
    with replay_server([reply]) as srv:
        response = module.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o-mini"}, verify=_SSL)
    assert response.content == plain
    assert_usage(one_span(exporter))


@CLIENTS
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_compressed_stream_is_decoded_for_the_observer(replay_server, wire, exporter, module, encoding):
    plain = sse_bytes(chat_stream())
    packed = ENCODINGS[encoding](plain)
    cuts = list(range(7, len(packed), 13))
    with replay_server([stream_in_pieces(packed, cuts, **{"content-encoding": encoding})]) as srv:
        assert read_stream(module, srv.url + "/v1/chat/completions") == plain
    span = one_span(exporter)
    assert_usage(span)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "completed"


# --- framing -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_server() -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        yield srv


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cuts=st.lists(st.integers(min_value=1, max_value=2000), max_size=40), crlf=st.booleans())
def test_events_split_anywhere_across_chunks_give_the_same_span(shared_server, wire, exporter, cuts, crlf):
    body = sse_bytes(chat_stream())
    if crlf:
        body = body.replace(b"\n", b"\r\n")
    exporter.clear()
    shared_server.pending[:] = [stream_in_pieces(body, cuts)]
    assert read_stream(httpx2, shared_server.url + "/v1/chat/completions") == body
    span = one_span(exporter)
    assert_usage(span)
    assert span.attributes[attr.GEN_AI_RESPONSE_ID] == "chatcmpl-scripted"
    assert span.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0


@CLIENTS
def test_a_long_stream_keeps_a_bounded_tail_and_still_finds_its_usage(replay_server, wire, exporter, module):
    texts = ["x" * 1000] * 12_000  # 12 MB of content events
    with replay_server([sse_response(chat_stream(texts))]) as srv:
        url = srv.url + "/v1/chat/completions"
        with module.Client(verify=_SSL) as client, client.stream("POST", url, json=BODY) as response:
            size = sum(len(chunk) for chunk in response.iter_raw())
            recorder = response.stream._recorder
    assert size > 10_000_000
    assert recorder.tail_size <= 2 * TAIL_BYTES + 64 * 1024
    assert recorder.dropped_bytes > 10_000_000 - 2 * TAIL_BYTES
    span = one_span(exporter)
    assert_usage(span)
    assert span.attributes[attr.LLM_COST_STREAM_CHUNKS] > 10_000


@CLIENTS
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"upstream says hello", "text/plain"),
        (bytes(range(256)) * 64, "application/octet-stream"),
        (b'{"choices": [', "application/json"),
        (b"[1, 2, 3]", "application/json"),
    ],
    ids=["text", "binary", "truncated-json", "json-array"],
)
def test_a_body_that_is_not_a_response_ends_the_span_without_usage(
    replay_server, wire, exporter, module, body, content_type
):
    with replay_server([raw(body, content_type)]) as srv:
        response = module.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o-mini"}, verify=_SSL)
    assert response.content == body
    span = one_span(exporter)
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes


@CLIENTS
def test_a_very_large_json_body_is_read_once(replay_server, wire, exporter, module):
    completion = chat_completion()
    completion["choices"][0]["message"]["content"] = "y" * 11_000_000
    with replay_server([json_response(completion)]) as srv:
        response = module.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o-mini"}, verify=_SSL)
    assert len(response.content) > 11_000_000
    assert_usage(one_span(exporter))


@CLIENTS
def test_a_truncated_stream_fails_with_the_clients_own_error(replay_server, wire, exporter, module):
    with (
        replay_server([sse_response(chat_stream(), drop_after=3)]) as srv,
        pytest.raises(module.RemoteProtocolError),
    ):
        read_stream(module, srv.url + "/v1/chat/completions")
    span = one_span(exporter)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "error"
    assert span.attributes[attr.ERROR_TYPE].endswith("RemoteProtocolError")


@CLIENTS
@pytest.mark.parametrize(
    "content", [b"\x00\x01\x02 not json", b'{"model": "gpt-4o-mini", ' + b"x" * (9 * 1024 * 1024) + b"}"]
)
def test_a_request_body_that_cannot_be_read_is_sent_untouched(replay_server, wire, exporter, module, content):
    with replay_server([json_response(chat_completion())]) as srv:
        with module.Client(proxy=proxy_url(srv.url), verify=_SSL) as client:
            client.post("http://api.openai.com/v1/chat/completions", content=content)
        assert srv.requests[0].body == content
    span = one_span(exporter)  # a hosted provider's API: recorded, without the request's fields
    assert attr.GEN_AI_REQUEST_MODEL not in span.attributes
    assert_usage(span)


# --- what is left alone --------------------------------------------------------------------------------


@CLIENTS
@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("http://example.com/v1/chat/completions", {"model": "gpt-4o-mini"}),  # a public host no one listed
        ("http://127.0.0.1/v1/users", {"model": "gpt-4o-mini"}),  # a private host, not an LLM path
        ("http://127.0.0.1/api/survey/responses", {"answers": [1, 2]}),  # an LLM-like path, no model
    ],
    ids=["unknown-host", "other-path", "no-model"],
)
def test_unrecognised_requests_pass_untouched_without_a_span(
    replay_server, wire, exporter, module, url, body
):
    with replay_server([json_response(chat_completion())]) as srv:
        with module.Client(proxy=proxy_url(srv.url), verify=_SSL) as client:
            response = client.post(url, json=body)
        assert srv.requests[0].json() == body
    assert response.json() == chat_completion()
    assert spans(exporter) == []


@pytest.mark.parametrize(
    ("hosts", "provider"),
    # Without a name, the API the gateway speaks names the calls, never the host (#18).
    [("gw.example.com", "openai"), ("gw.example.com=acme", "acme")],
)
def test_configured_gateway_hosts_are_recorded(replay_server, tracer_provider, exporter, hosts, provider):
    instrumentor = WireInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, hosts=hosts)
    try:
        with (
            replay_server([json_response(chat_completion())]) as srv,
            httpx2.Client(proxy=proxy_url(srv.url), verify=_SSL) as client,
        ):
            client.post("http://gw.example.com/v1/chat/completions", json={"model": "gpt-4o-mini"})
    finally:
        instrumentor.uninstrument()
    span = one_span(exporter)
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == provider
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "priced"  # gpt-4o-mini, priced as OpenAI's


def test_the_wire_hosts_variable_is_read_when_instrumenting(
    replay_server, tracer_provider, exporter, monkeypatch
):
    monkeypatch.setenv("OTEL_LLM_COST_WIRE_HOSTS", " GW.example.com = acme ,")
    instrumentor = WireInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    monkeypatch.delenv("OTEL_LLM_COST_WIRE_HOSTS")  # read once: later changes do not count
    try:
        with (
            replay_server([json_response(chat_completion())]) as srv,
            httpx2.Client(proxy=proxy_url(srv.url), verify=_SSL) as client,
        ):
            client.post("http://gw.example.com/v1/chat/completions", json={"model": "gpt-4o-mini"})
    finally:
        instrumentor.uninstrument()
    assert one_span(exporter).attributes[attr.GEN_AI_PROVIDER_NAME] == "acme"


def test_uninstrument_removes_the_capture(replay_server, tracer_provider, exporter):
    instrumentor = WireInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, hosts="")
    instrumentor.uninstrument()
    with replay_server([json_response(chat_completion())]) as srv:
        httpx2.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o-mini"}, verify=_SSL)
    assert spans(exporter) == []


# --- exit paths ----------------------------------------------------------------------------------------


@CLIENTS
def test_a_stream_closed_early_is_abandoned(replay_server, wire, exporter, module):
    with replay_server([sse_response(chat_stream(["a"] * 50))]) as srv:
        url = srv.url + "/v1/chat/completions"
        with module.Client(verify=_SSL) as client, client.stream("POST", url, json=BODY) as response:
            next(response.iter_raw())
    span = one_span(exporter)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "abandoned"


@CLIENTS
def test_a_stream_dropped_unread_is_abandoned_when_collected(replay_server, wire, exporter, module):
    with replay_server([sse_response(chat_stream())]) as srv:
        client = module.Client(verify=_SSL)
        request = client.build_request("POST", srv.url + "/v1/chat/completions", json=BODY)
        response = client.send(request, stream=True)
        del response, request
        gc.collect()
        client.close()
    span = one_span(exporter)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "abandoned"


@CLIENTS
def test_an_error_status_ends_the_span_with_it(replay_server, wire, exporter, module):
    error = json_response({"error": {"message": "slow down"}}, status=429)
    with (
        replay_server([error]) as srv,
        module.Client(verify=_SSL) as client,
        client.stream("POST", srv.url + "/v1/chat/completions", json=BODY) as r,
    ):
        r.read()
    span = one_span(exporter)
    assert span.attributes[attr.ERROR_TYPE] == "429"
    assert span.attributes["http.response.status_code"] == 429


def test_a_stream_without_usage_is_estimated(replay_server, wire, exporter):
    with replay_server([sse_response(chat_stream(usage=False))]) as srv:
        read_stream(httpx2, srv.url + "/v1/chat/completions", {**BODY, "stream_options": None})
    span = one_span(exporter)
    assert span.attributes[attr.LLM_COST_USAGE_SOURCE] == "estimated"
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


def test_a_budget_refusal_raises_before_anything_is_sent(replay_server, tracer_provider, exporter):
    guard = BudgetGuard("global:usd=0.000000001/1h:block")
    instrumentor = WireInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, hosts="", budget_guard=guard)
    try:
        with replay_server([json_response(chat_completion())]) as srv:
            body = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 4096}
            with pytest.raises(BudgetExceeded):
                httpx2.post(srv.url + "/v1/chat/completions", json=body, verify=_SSL)
            assert srv.requests == []
    finally:
        instrumentor.uninstrument()
    assert spans(exporter) == []


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
async def test_an_async_stream_closed_early_is_abandoned(replay_server, wire, exporter, module):
    with replay_server([sse_response(chat_stream(["a"] * 50))]) as srv:
        url = srv.url + "/v1/chat/completions"
        async with (
            module.AsyncClient(verify=_SSL) as client,
            client.stream("POST", url, json=BODY) as response,
        ):
            async for _ in response.aiter_raw():
                break
    span = one_span(exporter)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "abandoned"
    assert attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in span.attributes  # only the role event was read


async def test_an_async_stream_read_to_its_end_is_completed(replay_server, wire, exporter):
    with replay_server([sse_response(chat_stream())]) as srv:
        url = srv.url + "/v1/chat/completions"
        async with (
            httpx2.AsyncClient(verify=_SSL) as client,
            client.stream("POST", url, json=BODY) as response,
        ):
            lines = [line async for line in response.aiter_lines()]
    assert lines
    span = one_span(exporter)
    assert_usage(span)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "completed"


@CLIENTS
def test_a_stream_read_whole_by_the_client_is_recorded(replay_server, wire, exporter, module):
    """``httpx.post`` with ``"stream": true``: the client reads the whole SSE body before returning."""
    with replay_server([sse_response(chat_stream())]) as srv:
        response = module.post(srv.url + "/v1/chat/completions", json=BODY, verify=_SSL)
    assert response.text.startswith("data:")
    span = one_span(exporter)
    assert_usage(span)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "completed"


class _JsonArrayRoom:
    """A room whose streams are one JSON array of events (as Gemini's without ``alt=sse``)."""

    name = "test.json_array"
    operation = "generate_content"
    stream_format = "json"

    def matches(self, method: str, path: str) -> bool:
        return path.endswith(":streamGenerateContent")

    def request_model(self, request: Any) -> str | None:
        return request.path.rsplit("/", 1)[-1].split(":")[0]

    def is_streaming(self, request: Any) -> bool:
        return True

    def request_attributes(self, request: Any) -> dict[str, Any]:
        return {}

    def is_content_event(self, event: Any) -> bool:
        return True

    def response_fields(self, body: Any, request: Any) -> Any:
        raise AssertionError("a stream's events go to stream_fields")

    def stream_fields(self, events: Any, dropped: int, request: Any) -> Any:
        from otel_llm_cost.apis import ResponseFields
        from otel_llm_cost.usage import Usage

        return ResponseFields(Usage.of(events[-1]["in"], sum(e["out"] for e in events)))


@pytest.mark.parametrize("streamed", [False, True])
def test_a_stream_framed_as_one_json_array_is_read_whole(
    replay_server, wire, exporter, monkeypatch, streamed
):
    from otel_llm_cost.instrumentation.wire import _hosts

    monkeypatch.setattr(_hosts, "find_wire_api", lambda method, path: _JsonArrayRoom())
    events = [{"in": 7, "out": 2}, {"in": 7, "out": 3}]
    url_path = "/v1beta/models/gemma-3:streamGenerateContent"
    with replay_server([raw(json.dumps(events).encode(), "application/json")]) as srv:
        url = srv.url + url_path
        if streamed:
            with httpx2.Client(verify=_SSL) as client, client.stream("POST", url, json={}) as response:
                response.read()
        else:
            httpx2.post(url, json={}, verify=_SSL)
    span = one_span(exporter)
    assert span.attributes[attr.GEN_AI_REQUEST_MODEL] == "gemma-3"
    assert (
        span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS],
        span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS],
    ) == (7, 5)
    assert span.attributes[attr.LLM_COST_STREAM_CHUNKS] == 2
