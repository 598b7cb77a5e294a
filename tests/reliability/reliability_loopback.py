"""A loopback LLM server whose every answer is computed from its request, for concurrency tests.

The token counts of a reply are a function of the request's ``max_tokens`` (the call's *key*), so a test can
tell from each span alone whether it got its own call's tokens:

    with UsageEchoServer(hold_until=1000) as srv:
        AsyncOpenAI(base_url=srv.openai_base_url, ...).chat.completions.create(max_tokens=7, stream=True, ...)
    expected_openai(7)  # the Usage the span of that call must carry

It runs asyncio in its own thread, so a thousand open streams cost a thousand sockets, not threads.
``hold_until=n`` holds every stream after its first content chunk until ``n`` requests have arrived: all
``n`` streams are then open and half-read at the same time (``peak_open`` shows it). The hold is bounded.

Endpoints: ``POST /v1/chat/completions`` (OpenAI, streamed or not; the usage chunk only when
``stream_options.include_usage`` is asked for) and ``POST /v1/messages`` (Anthropic, streamed or not).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any

from otel_llm_cost.usage import Usage

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5-20251001"
_HOLD_TIMEOUT_S = 60.0  # bound on the hold: a stuck client fails the test instead of hanging it
_BASE_INPUT = 1000


def openai_usage_block(key: int) -> dict[str, Any]:
    prompt = _BASE_INPUT + key
    return {
        "prompt_tokens": prompt,
        "completion_tokens": key,
        "total_tokens": prompt + key,
        "prompt_tokens_details": {"cached_tokens": key % 7},
        "completion_tokens_details": {"reasoning_tokens": key % 3},
    }


def expected_openai(key: int) -> Usage:
    """The normalised usage a span of the OpenAI call with ``max_tokens=key`` must carry."""
    return Usage.of(_BASE_INPUT + key, key, cache_read_tokens=key % 7, reasoning_tokens=key % 3)


def anthropic_usage_block(key: int) -> dict[str, Any]:
    return {
        "input_tokens": _BASE_INPUT + key,
        "output_tokens": 1,  # message_start's placeholder; message_delta carries the real count
        "cache_read_input_tokens": key % 5,
        "cache_creation_input_tokens": key % 3,
    }


def expected_anthropic(key: int) -> Usage:
    """The inclusive usage a span of the Anthropic call with ``max_tokens=key`` must carry."""
    read, write = key % 5, key % 3
    return Usage.of(_BASE_INPUT + key + read + write, key, cache_read_tokens=read, cache_write_tokens=write)


def _sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload)}\n\n".encode()


def _openai_chunk(key: int, choices: list[Any], usage: Any = None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{key}",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": OPENAI_MODEL,
        "choices": choices,
        "usage": usage,
    }


def openai_stream(key: int, include_usage: bool) -> tuple[list[bytes], list[bytes]]:
    """(events before the hold, events after it) of a chat completion stream."""
    head = [
        _sse(_openai_chunk(key, [{"index": 0, "delta": {"role": "assistant", "content": ""}}])),
        _sse(_openai_chunk(key, [{"index": 0, "delta": {"content": f"tok-{key}"}}])),
    ]
    tail = [_sse(_openai_chunk(key, [{"index": 0, "delta": {}, "finish_reason": "stop"}]))]
    if include_usage:
        tail.append(_sse(_openai_chunk(key, [], openai_usage_block(key))))
    tail.append(b"data: [DONE]\n\n")
    return head, tail


def openai_completion(key: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{key}",
        "object": "chat.completion",
        "created": 1700000000,
        "model": OPENAI_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"tok-{key}"},
                "finish_reason": "stop",
            }
        ],
        "usage": openai_usage_block(key),
    }


def anthropic_message(key: int) -> dict[str, Any]:
    usage = {**anthropic_usage_block(key), "output_tokens": key}
    return {
        "id": f"msg-{key}",
        "type": "message",
        "role": "assistant",
        "model": ANTHROPIC_MODEL,
        "content": [{"type": "text", "text": f"tok-{key}"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def anthropic_stream(key: int) -> tuple[list[bytes], list[bytes]]:
    start = {
        **anthropic_message(key),
        "content": [],
        "stop_reason": None,
        "usage": anthropic_usage_block(key),
    }
    head = [
        _sse({"type": "message_start", "message": start}, "message_start"),
        _sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        _sse(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": f"tok-{key}"},
            },
            "content_block_delta",
        ),
    ]
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": key},
    }
    tail = [
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _sse(delta, "message_delta"),
        _sse({"type": "message_stop"}, "message_stop"),
    ]
    return head, tail


def reply_for(path: str, request: dict[str, Any]) -> tuple[str, list[bytes], list[bytes]]:
    """(content type, body parts before the hold, parts after it) answering one request."""
    key = request.get("max_tokens")
    if type(key) is not int:
        raise ValueError(f"request without an integer max_tokens: {request!r}")
    stream = request.get("stream") is True
    if path.endswith("/chat/completions"):
        if not stream:
            return "application/json", [json.dumps(openai_completion(key)).encode()], []
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        return "text/event-stream", *openai_stream(key, include_usage)
    if path.endswith("/messages"):
        if not stream:
            return "application/json", [json.dumps(anthropic_message(key)).encode()], []
        return "text/event-stream", *anthropic_stream(key)
    raise ValueError(f"no such endpoint: {path}")


class UsageEchoServer:
    """The loopback server; a context manager.

    Args:
        hold_until: hold streams after their first content until this many requests arrived (0: never).

    Attributes:
        received: requests answered so far.
        peak_open: the most responses that were open at once.
        hold_timed_out: the hold was released by its timeout rather than by the last request.
        errors: exceptions from serving (a malformed request, a client that hung up).
    """

    def __init__(self, *, hold_until: int = 0) -> None:
        self.hold_until = hold_until
        self.received = 0
        self.peak_open = 0
        self.hold_timed_out = False
        self.errors: list[BaseException] = []
        self._open = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="usage-echo", daemon=True)
        self._server: asyncio.Server | None = None
        self._released: asyncio.Event | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    def __enter__(self) -> UsageEchoServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _start(self) -> None:
        self._released = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=4096)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open += 1
        self.peak_open = max(self.peak_open, self._open)
        try:
            path, request = await _read_request(reader)
            ctype, head, tail = reply_for(path, request)
            self.received += 1
            if not tail:
                writer.write(_response_head(ctype, b"".join(head)))
                await writer.drain()
                return
            writer.write(_response_head(ctype, None) + _chunks(head))
            await writer.drain()
            await self._hold()
            writer.write(_chunks(tail) + b"0\r\n\r\n")
            await writer.drain()
        except Exception as exc:  # kept for the test to inspect
            self.errors.append(exc)
        finally:
            self._open -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _hold(self) -> None:
        assert self._released is not None
        if self.received >= self.hold_until:
            self._released.set()
        try:
            await asyncio.wait_for(self._released.wait(), _HOLD_TIMEOUT_S)
        except TimeoutError:
            self.hold_timed_out = True
            self._released.set()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, Any]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    _, path, _ = lines[0].split(" ", 2)
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    length = next((int(v) for k, v in headers.items() if k.strip().lower() == "content-length"), 0)
    body = await reader.readexactly(length)
    return path, json.loads(body)


def _response_head(ctype: str, body: bytes | None) -> bytes:
    """The status line and headers, then ``body`` whole, or (``None``) chunked framing to follow."""
    framing = "Transfer-Encoding: chunked" if body is None else f"Content-Length: {len(body)}"
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nConnection: close\r\n{framing}\r\n\r\n"
    return head.encode() + (body or b"")


def _chunks(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
