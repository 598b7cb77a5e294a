"""The loopback server of the framework suite: the demo server (OpenAI chat, Responses and Anthropic
messages; a unique id per call; usage by a fixed rule), recording every answer it sends.

The figures a test expects come from what was sent on the wire, read here independently of the
instrumentation's extractors: ids, the model, and the usage block (``None`` for a stream sent without
one, when the caller did not ask for usage).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from otel_llm_cost.demo import DemoServer
from otel_llm_cost.demo import server as demo_server
from otel_llm_cost.demo._wire import JsonReply, StreamReply


@dataclass(frozen=True)
class Sent:
    """One answer on the wire."""

    api: str  # chat | responses | messages
    response_id: str
    model: str
    streamed: bool
    input_tokens: int | None  # every input token, cache reads and writes included
    output_tokens: int | None
    cache_read: int = 0
    cache_write: int = 0

    @property
    def provider(self) -> str:
        return "anthropic" if self.api == "messages" else "openai"


def _chat(body: dict[str, Any], streamed: bool) -> Sent:
    usage = body.get("usage") or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return Sent("chat", body["id"], body["model"], streamed, usage.get("prompt_tokens"),
                usage.get("completion_tokens"), cache_read=cached)  # fmt: skip


def _responses(response: dict[str, Any], streamed: bool) -> Sent:
    usage = response.get("usage") or {}
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens") or 0
    return Sent("responses", response["id"], response["model"], streamed, usage.get("input_tokens"),
                usage.get("output_tokens"), cache_read=cached)  # fmt: skip


def _messages(message: dict[str, Any], delta_usage: dict[str, Any] | None, streamed: bool) -> Sent:
    usage = {**(message.get("usage") or {}), **(delta_usage or {})}
    read = usage.get("cache_read_input_tokens") or 0
    write = usage.get("cache_creation_input_tokens") or 0
    return Sent("messages", message["id"], message["model"], streamed,
                (usage.get("input_tokens") or 0) + read + write, usage.get("output_tokens"),
                cache_read=read, cache_write=write)  # fmt: skip


def _events(reply: StreamReply) -> list[tuple[str | None, dict[str, Any]]]:
    events = []
    for frame in reply.events:
        name = None
        for line in frame.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:") and line[5:].strip() != "[DONE]":
                events.append((name, json.loads(line[5:])))
    return events


def read_sent(path: str, reply: Any) -> Sent:
    """What an answer of ``path`` carried."""
    if isinstance(reply, JsonReply):
        body = dict(reply.body)
        if path.endswith("/messages"):
            return _messages(body, None, False)
        return _responses(body, False) if path.endswith("/responses") else _chat(body, False)
    events = [data for _, data in _events(reply)]
    if path.endswith("/messages"):
        start = next(e["message"] for e in events if e.get("type") == "message_start")
        delta = next((e.get("usage") for e in reversed(events) if e.get("type") == "message_delta"), None)
        return _messages(start, delta, True)
    if path.endswith("/responses"):
        done = next(e["response"] for e in reversed(events) if e.get("type") == "response.completed")
        return _responses(done, True)
    usage = next((e["usage"] for e in reversed(events) if e.get("usage")), None)
    return _chat({**events[0], "usage": usage}, True)


class RecordingServer(DemoServer):
    """The demo server, keeping what it sent (:attr:`sent`), in order."""

    def __init__(self) -> None:
        # A small first-token delay, so that time to first chunk is measurable; no pacing otherwise.
        super().__init__(first_token_delay=0.005, chunk_delay=0)
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._httpd.RequestHandlerClass = _handler_for(self)


def _handler_for(server: RecordingServer) -> type[Any]:
    class Handler(demo_server._Handler):  # type: ignore[name-defined,misc]
        def _send_reply(self, reply: Any, anthropic: bool) -> None:
            with server._lock:
                server.sent.append(read_sent(self.path.split("?")[0].rstrip("/"), reply))
            super()._send_reply(reply, anthropic)

    return Handler
