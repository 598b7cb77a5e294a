"""Helpers of the hostile-input suite: a provider that exports to memory and to a JSONL file, the text of
everything recorded (so each test asserts its promise on what a user would see), scripted bodies."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost.export import JsonlSpanExporter


class Recorded:
    """A provider exporting synchronously to memory and to a JSONL file."""

    def __init__(self, path: Path) -> None:
        self.memory = InMemorySpanExporter()
        self.path = path
        self.jsonl = JsonlSpanExporter(path)
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.provider.add_span_processor(SimpleSpanProcessor(self.jsonl))

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.memory.get_finished_spans()

    def text(self) -> str:
        """Every string of every span (name, status, attributes, events) and the whole JSONL file."""
        parts: list[str] = []
        for span in self.spans:
            parts += [span.name, span.status.description or ""]
            parts += [_text(v) for v in (span.attributes or {}).values()]
            for event in span.events:
                parts += [event.name, *(_text(v) for v in (event.attributes or {}).values())]
        self.jsonl.force_flush()
        if self.path.exists():
            parts.append(self.path.read_text(encoding="utf-8"))
        return "\n".join(parts)


def _text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, tuple | list) else str(value)


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    """The log as printed: messages and tracebacks."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def chat_completion(
    model: str = "gpt-4o-mini", prompt_tokens: int = 12, completion_tokens: int = 3
) -> dict[str, Any]:
    """An OpenAI chat completion body, for a scripted loopback response."""
    return {
        "id": "chatcmpl-hostile",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class AnsweringServer:
    """A TCP server on 127.0.0.1 that answers every chunk it receives with ``reply(data)``, sent at most
    ``rate`` bytes at a time with ``pause`` seconds between them (a trickle); a context manager.

    The pause is the server's own pacing, not synchronisation: the tests only bound how long a client
    may wait on it.
    """

    def __init__(self, reply: Callable[[bytes], bytes], *, rate: int = 0, pause: float = 0.0) -> None:
        self._reply = reply
        self._rate = rate
        self._pause = pause
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.connections = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"

    def __enter__(self) -> AnsweringServer:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                if not self._send(conn, self._reply(data)):
                    return

    def _send(self, conn: socket.socket, answer: bytes) -> bool:
        step = self._rate or len(answer) or 1
        for start in range(0, len(answer), step):
            if self._stop.wait(self._pause) if self._pause else self._stop.is_set():
                return False
            try:
                conn.sendall(answer[start : start + step])
            except OSError:
                return False
        return True
