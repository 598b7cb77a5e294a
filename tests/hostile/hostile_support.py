"""Helpers of the hostile-input suite: a provider that exports to memory and to a JSONL file, the text of
everything recorded (so each test asserts its promise on what a user would see), scripted bodies."""

from __future__ import annotations

import logging
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
