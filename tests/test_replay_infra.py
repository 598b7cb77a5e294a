"""The replay infrastructure, proven with the bare SDKs (no instrumentation).

Every selected recording goes through the real ``openai`` / ``anthropic`` client over loopback HTTP; the usage
the SDK parses must equal the ground truth `_select.py` parsed from the recorded bytes.
"""

from __future__ import annotations

import gzip
import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from replay import CASSETTES, Interaction, ReplayServer, endpoint, json_response, load, sse_response
from sdk_calls import (
    acall_anthropic,
    acall_openai,
    anthropic_client,
    call_anthropic,
    call_openai,
    openai_client,
    request_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

INDEX: list[dict[str, Any]] = json.loads((CASSETTES / "index.json").read_text())
BY_FILE = {entry["file"]: entry for entry in INDEX}


def _short(file: str) -> str:
    parts = file.split("/")
    return f"{parts[0].split('+')[1]}:{'/'.join(parts[-2:])}"


def _one_per_kind() -> list[str]:
    """One recording per (provider, api, stream, error?) combination, for the async twins."""
    seen: dict[tuple[Any, ...], str] = {}
    for entry in INDEX:
        for meta in entry["interactions"]:
            kind = (meta["provider"], meta["api"], meta["stream"], meta["status"] >= 400)
            if meta["replayable"] and entry["replayable"]:
                seen.setdefault(kind, entry["file"])
    return sorted(set(seen.values()))


@pytest.fixture(scope="module")
def http_clients() -> Iterator[dict[str, Any]]:
    # Building a client's SSL context costs ~20 ms; one shared pool per SDK keeps 470 replays fast.
    clients = {"openai": openai.DefaultHttpxClient(), "anthropic": anthropic.DefaultHttpxClient()}
    yield clients
    for client in clients.values():
        client.close()


def _replayable(file: str) -> tuple[list[dict[str, Any]], list[Interaction]]:
    interactions = load(file)
    metas = [m for m in BY_FILE[file]["interactions"] if m["replayable"]]
    return metas, [interactions[m["index"]] for m in metas]


def _client(srv: ReplayServer, meta: dict[str, Any], inter: Interaction, **options: Any) -> Any:
    if meta["api"] == "messages":
        return anthropic_client(srv, **options)
    return openai_client(srv, meta["provider"], inter, **options)


def _check_sent(srv: ReplayServer, metas: list[dict[str, Any]], inters: list[Interaction]) -> None:
    assert srv.unmatched == []
    assert srv.pending == []
    assert [r.endpoint for r in srv.requests] == [i.endpoint for i in inters]
    for received, inter in zip(srv.requests, inters, strict=True):
        sent, wanted = received.json(), request_of(inter)
        assert {k: sent.get(k) for k in wanted} == wanted


@pytest.mark.parametrize("file", [e["file"] for e in INDEX], ids=_short)
def test_replay_recording_through_sdk(file, replay_server, http_clients):
    metas, inters = _replayable(file)
    with replay_server(inters) as srv:
        for meta, inter in zip(metas, inters, strict=True):
            is_anthropic = meta["api"] == "messages"
            client = _client(
                srv, meta, inter, http_client=http_clients["anthropic" if is_anthropic else "openai"]
            )
            call = call_anthropic if is_anthropic else call_openai
            if meta["status"] >= 400:
                error = anthropic.APIStatusError if is_anthropic else openai.APIStatusError
                with pytest.raises(error) as caught:
                    call(client, inter)
                assert caught.value.status_code == meta["status"]
            else:
                assert call(client, inter).usage == meta["usage"]
    _check_sent(srv, metas, inters)


@pytest.mark.parametrize("file", _one_per_kind(), ids=_short)
async def test_replay_recording_through_async_sdk(file, replay_server):
    metas, inters = _replayable(file)
    with replay_server(inters) as srv:
        for meta, inter in zip(metas, inters, strict=True):
            is_anthropic = meta["api"] == "messages"
            call = acall_anthropic if is_anthropic else acall_openai
            async with _client(srv, meta, inter, is_async=True) as client:
                if meta["status"] >= 400:
                    error = anthropic.APIStatusError if is_anthropic else openai.APIStatusError
                    with pytest.raises(error):
                        await call(client, inter)
                else:
                    assert (await call(client, inter)).usage == meta["usage"]
    _check_sent(srv, metas, inters)


# ------------------------------------------------------------------------------------------------ index


def test_index_lists_exactly_the_copied_recordings():
    on_disk = {
        str(p.relative_to(CASSETTES)) for p in CASSETTES.rglob("*") if p.suffix in {".yaml", ".json"}
    } - {"index.json", "families.json"}
    # families.json lists the Gemini / Cohere / Ollama / OpenAI media selection (tests/families/).
    families = {record["file"] for record in json.loads((CASSETTES / "families.json").read_text())}
    assert on_disk == set(BY_FILE) | families


def test_index_has_ground_truth_for_every_successful_usage_bearing_interaction():
    metas = [m for e in INDEX for m in e["interactions"] if m["replayable"] and m["status"] < 400]
    with_usage = [m for m in metas if m["usage"] is not None]
    assert len(with_usage) > 0.8 * len(metas)
    assert all(m["usage_at"] for m in with_usage)


def test_unreplayable_interactions_say_why():
    unreplayable = [m for e in INDEX for m in e["interactions"] if not m["replayable"]]
    assert all(m["reason"] for m in unreplayable)
    assert len(unreplayable) < 10


# ------------------------------------------------------------------------------------------------ loading


def test_load_decodes_gzip_and_drops_encoding_headers():
    gzipped = next(e["file"] for e in INDEX if b"!!binary" in (CASSETTES / e["file"]).read_bytes())
    inter = load(gzipped)[0]
    names = {k.lower() for k, _ in inter.headers}
    assert inter.body[:2] != b"\x1f\x8b"
    assert inter.body_json() is not None
    assert not names & {"content-encoding", "content-length", "transfer-encoding", "connection"}


def test_load_keeps_provider_headers():
    file = next(e["file"] for e in INDEX if b"anthropic-ratelimit" in (CASSETTES / e["file"]).read_bytes())
    names = {k.lower() for inter in load(file) for k, _ in inter.headers}
    assert {"request-id", "anthropic-ratelimit-requests-limit"} <= names


@pytest.mark.parametrize(
    ("suffix", "ep", "ctype"),
    [
        ("v1_chat_completions-1st-call.json", "chat/completions", "application/json"),
        ("thinking-streaming.json", "messages", "text/event-stream"),
        ("thinking-non-streaming.json", "messages", "application/json"),
    ],
)
def test_load_json_recordings_infers_path_and_type(suffix, ep, ctype):
    inter = load(next(f for f in BY_FILE if f.endswith(suffix)))[0]
    assert (inter.endpoint, inter.content_type.split(";")[0], inter.request_body) == (ep, ctype, None)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/chat/completions", "chat/completions"),
        ("/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01", "chat/completions"),
        ("/openai/v1/chat/completions", "chat/completions"),
        ("/api/v1/chat/completions", "chat/completions"),
        ("/beta/chat/completions", "chat/completions"),
        ("/v1/messages", "messages"),
        ("/responses", "responses"),
    ],
)
def test_endpoint_ignores_base_prefix_and_query(path, expected):
    assert endpoint(path) == expected


# ------------------------------------------------------------------------------------------------ server

CHUNK = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": []}
USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
EMBEDDINGS = {
    "object": "list",
    "model": "m",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
    "usage": USAGE,
}


def _chunk(text: str) -> dict[str, Any]:
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": None}
    return {**CHUNK, "choices": [choice]}


def _stream_kwargs() -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def test_recorded_order_is_kept_per_endpoint(replay_server):
    first = json_response(EMBEDDINGS, path="/v1/embeddings")
    second = first.with_(body=first.body.replace(b'"prompt_tokens": 5', b'"prompt_tokens": 6'))
    chat = json_response({**CHUNK, "object": "chat.completion", "usage": USAGE}, path="/v1/chat/completions")
    with replay_server([first, second, chat]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        assert client.chat.completions.create(model="m", messages=[]).usage.total_tokens == 12
        assert client.embeddings.create(model="m", input="a").usage.prompt_tokens == 5
        assert client.embeddings.create(model="m", input="b").usage.prompt_tokens == 6
    assert [r.json()["input"] for r in srv.requests[1:]] == ["a", "b"]


def test_azure_deployment_path_matches_recorded_v1_path(replay_server):
    reply = json_response({**CHUNK, "object": "chat.completion", "usage": USAGE}, path="/v1/chat/completions")
    with replay_server([reply]) as srv:
        client = openai.AzureOpenAI(
            azure_endpoint=srv.url, api_version="2024-10-21", api_key="k", max_retries=0
        )
        client.chat.completions.create(model="my-deployment", messages=[{"role": "user", "content": "hi"}])
    assert srv.requests[0].path == "/openai/deployments/my-deployment/chat/completions"
    assert srv.requests[0].query == "api-version=2024-10-21"
    assert srv.requests[0].headers["api-key"] == "k"


def test_unmatched_request_gets_404_and_is_recorded(replay_server):
    with replay_server([]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.NotFoundError, match="nothing recorded"):
            client.models.list()
    assert [r.path for r in srv.unmatched] == ["/v1/models"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, openai.RateLimitError), (500, openai.InternalServerError), (503, openai.InternalServerError)],
)
def test_scripted_openai_error_raises_sdk_error(replay_server, status, error):
    reply = json_response({"error": {"message": "slow down", "type": "x"}}, status, {"retry-after-ms": "0"})
    with replay_server([reply]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        with pytest.raises(error) as caught:
            client.chat.completions.create(model="m", messages=[])
    assert caught.value.response.headers["retry-after-ms"] == "0"


def test_scripted_anthropic_overload_raises_sdk_error(replay_server):
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with replay_server([json_response(body, 529, {"request-id": "req_1"})], prefix="") as srv:
        client = anthropic.Anthropic(base_url=srv.base_url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as caught:
            client.messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert (caught.value.status_code, caught.value.request_id) == (529, "req_1")


def test_sse_events_reach_the_client_one_by_one(replay_server):
    first_seen = threading.Event()
    held: list[bool] = []

    def hold_second_event(i: int) -> None:
        # The server may only write event 1 once the client has parsed event 0: proof of real streaming.
        if i == 1:
            held.append(first_seen.wait(timeout=30))

    reply = sse_response([_chunk("a"), _chunk("b"), "data: [DONE]\n\n"], on_event=hold_second_event)
    with replay_server([reply]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        texts = []
        for chunk in client.chat.completions.create(**_stream_kwargs()):
            texts.append(chunk.choices[0].delta.content)
            first_seen.set()
    assert (texts, held) == (["a", "b"], [True])


def test_dropped_stream_breaks_the_sdk_iteration(replay_server):
    reply = sse_response([_chunk("a"), _chunk("b"), _chunk("c"), "data: [DONE]\n\n"], drop_after=2)
    with replay_server([reply]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        texts = []
        with pytest.raises(Exception) as caught:
            for chunk in client.chat.completions.create(**_stream_kwargs()):
                texts.append(chunk.choices[0].delta.content)
    assert texts == ["a", "b"]
    assert "RemoteProtocolError" in _exception_chain(caught.value)


def _exception_chain(exc: BaseException | None) -> list[str]:
    # openai 3.x wraps the transport error in APIConnectionError; 2.x lets httpx's own error through.
    names = []
    while exc is not None:
        names.append(type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return names


def test_anthropic_scripted_stream_parses(replay_server):
    start = {
        "type": "message_start",
        "message": {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        },
    }
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}}
    events = [("message_start", start), ("message_delta", delta), ("message_stop", {"type": "message_stop"})]
    with replay_server([sse_response(events)], prefix="") as srv:
        client = anthropic.Anthropic(base_url=srv.base_url, api_key="k", max_retries=0)
        inter = Interaction(
            "POST",
            "/v1/messages",
            200,
            (),
            b"",
            request_body=json.dumps(
                {"model": "claude", "max_tokens": 5, "messages": [], "stream": True}
            ).encode(),
        )
        assert call_anthropic(client, inter).usage == {"input_tokens": 3, "output_tokens": 9}


def test_close_joins_every_thread_even_with_an_abandoned_stream(replay_server):
    before = set(threading.enumerate())
    reply = sse_response([_chunk(str(i)) for i in range(50)] + ["data: [DONE]\n\n"])
    srv = replay_server([reply]).start()
    client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
    stream = client.chat.completions.create(**_stream_kwargs())
    next(iter(stream))
    srv.close()
    srv.close()
    stream.close()
    client.close()
    assert set(threading.enumerate()) - before == set()


def test_binary_gzip_recording_is_served_plain(replay_server, tmp_path: Path):
    recording = tmp_path / "rec.yaml"
    body = gzip.compress(json.dumps(EMBEDDINGS).encode())
    recording.write_text(
        "interactions:\n- request: {body: null, headers: {}, method: POST, uri: 'https://x.test/v1/embeddings'}\n"
        "  response:\n    status: {code: 200, message: OK}\n"
        "    headers: {Content-Encoding: [gzip], Content-Type: [application/json], x-request-id: [r1]}\n"
        f"    body: {{string: !!binary '{__import__('base64').b64encode(body).decode()}'}}\n"
    )
    with replay_server(recording) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        raw = client.embeddings.with_raw_response.create(model="m", input="x")
    assert (raw.parse().usage.total_tokens, raw.headers["x-request-id"]) == (12, "r1")
    assert srv.requests[0].json()["input"] == "x"


def test_chunked_request_body_is_recorded(replay_server):
    with replay_server([json_response({"ok": True})]) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", int(srv.url.rsplit(":", 1)[1]))
        conn.request("POST", "/v1/anything?x=1", body=iter([b'{"a":', b" 1}"]), encode_chunked=True)
        assert json.loads(conn.getresponse().read()) == {"ok": True}
        conn.close()
    assert (srv.requests[0].json(), srv.requests[0].query) == ({"a": 1}, "x=1")
