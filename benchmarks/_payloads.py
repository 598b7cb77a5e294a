"""Recorded response bodies the mock transport serves, and the usage each one must produce.

Runs in the parent process only (it reads the cassettes with ``tests/replay.py``, which needs PyYAML);
the workers get the result as one JSON file, so the anchors' environments need nothing but the SDKs.

Streams of any length are synthesised from a recorded stream: its opening events, ``n`` content events
cycled from the recorded ones (same shape, same fields), then its closing events with the recorded usage.
"""

from __future__ import annotations

import json
import sys
from itertools import cycle, islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from replay import Interaction, load  # noqa: E402  (tests/ is not a package)

_CONTRIB = (
    "open-telemetry+opentelemetry-python-contrib/instrumentation-genai/opentelemetry-instrumentation-openai-v2/"
    "tests/cassettes/"
)
_TRACELOOP = (
    "traceloop+openllmetry/packages/opentelemetry-instrumentation-anthropic/tests/cassettes/test_messages/"
)
SOURCES = {
    "openai.chat": _CONTRIB + "test_chat_completion_no_content.yaml",
    "openai.chat.stream": _CONTRIB + "test_chat_completion_with_context_manager_streaming.yaml",
    "anthropic.messages": _TRACELOOP + "test_anthropic_message_create_legacy.yaml",
    "anthropic.messages.stream": _TRACELOOP + "test_anthropic_message_streaming_legacy.yaml",
}
_OPENAI_REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say this is a test"}]}
_ANTHROPIC_MESSAGES = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]


def build(stream_lengths: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """Every surface's payload: ``{name: {headers, body | events, request, expect, chunks}}``."""
    out = {
        "openai.chat": _openai_chat(),
        "anthropic.messages": _anthropic_messages(),
    }
    for n in stream_lengths:
        out[f"openai.chat.stream{n}"] = _openai_stream(n)
        out[f"anthropic.messages.stream{n}"] = _anthropic_stream(n)
    return out


def _one(surface: str) -> Interaction:
    (interaction,) = load(SOURCES[surface])
    return interaction


def _headers(interaction: Interaction) -> list[list[str]]:
    return [[k, v] for k, v in interaction.headers if k.lower() != "set-cookie"]


def _openai_chat() -> dict[str, Any]:
    rec = _one("openai.chat")
    usage = rec.body_json()["usage"]
    return {
        "headers": _headers(rec),
        "body": rec.body.decode(),
        "request": _OPENAI_REQUEST,
        "expect": [usage["prompt_tokens"], usage["completion_tokens"]],
        "chunks": 0,
    }


def _openai_stream(n: int) -> dict[str, Any]:
    rec = _one("openai.chat.stream")
    chunks = rec.sse_data()
    opening = chunks[0]
    content = [c for c in chunks[1:] if c["choices"] and c["choices"][0]["delta"].get("content")]
    closing = [c for c in chunks if not c["choices"] or c["choices"][0]["finish_reason"]]
    # The usage chunk counts one output token per content chunk served.
    usage = closing[-1]["usage"] = {**closing[-1]["usage"], "completion_tokens": n}
    usage["total_tokens"] = usage["prompt_tokens"] + n
    events = [opening, *islice(cycle(content), n), *closing]
    return {
        "headers": _headers(rec),
        "events": [_data(e) for e in events] + ["data: [DONE]\n\n"],
        "request": {**_OPENAI_REQUEST, "stream": True, "stream_options": {"include_usage": True}},
        "expect": [usage["prompt_tokens"], usage["completion_tokens"]],
        "chunks": n,
    }


def _anthropic_messages() -> dict[str, Any]:
    rec = _one("anthropic.messages")
    body = rec.body_json()
    return {
        "headers": _headers(rec),
        "body": rec.body.decode(),
        "request": {"model": body["model"], "max_tokens": 1024, "messages": _ANTHROPIC_MESSAGES},
        "expect": [body["usage"]["input_tokens"], body["usage"]["output_tokens"]],
        "chunks": 0,
    }


def _anthropic_stream(n: int) -> dict[str, Any]:
    rec = _one("anthropic.messages.stream")
    events = rec.sse_data()
    deltas = [e for e in events if e["type"] == "content_block_delta"]
    first_delta = events.index(deltas[0])
    last_delta = len(events) - 1 - events[::-1].index(deltas[-1])
    start = events[0]["message"]
    end = next(e for e in events if e["type"] == "message_delta")
    end["usage"] = {**end["usage"], "output_tokens": n}  # one output token per content event served
    out = [*events[:first_delta], *islice(cycle(deltas), n), *events[last_delta + 1 :]]
    return {
        "headers": _headers(rec),
        "events": [_data(e, e["type"]) for e in out],
        "request": {
            "model": start["model"],
            "max_tokens": 1024,
            "messages": _ANTHROPIC_MESSAGES,
            "stream": True,
        },
        "expect": [start["usage"]["input_tokens"], end["usage"]["output_tokens"]],
        "chunks": n,
    }


def _data(payload: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload, separators=(',', ':'))}\n\n"
