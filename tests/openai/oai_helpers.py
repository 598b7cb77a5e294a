"""Helpers for the OpenAI instrumentation tests: span lookup, scripted bodies, expected usage.

Scripted bodies are for exit paths and edge cases only; usage numbers are checked against recordings in
``test_replay_all.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import openai
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from replay import CASSETTES, Interaction, ReplayServer, load

API_KEY = "test-key"  # what sdk_calls.openai_client uses
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello to the replay server, please."}]


def llm_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if "gen_ai.operation.name" in (s.attributes or {})]


def one_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = llm_spans(exporter)
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def client(srv: ReplayServer, *, is_async: bool = False, **options: Any) -> Any:
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(base_url=srv.base_url, api_key=API_KEY, max_retries=0, **options)


# --- scripted chat completions -----------------------------------------------------------------------


def chat_chunk(
    content: str | None = None,
    *,
    finish: str | None = None,
    usage: Mapping[str, Any] | None = None,
    choices: bool = True,
    role: str | None = None,
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    body: dict[str, Any] = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
    }
    if usage is not None:
        body["usage"] = usage
    return body


USAGE = {
    "prompt_tokens": 21,
    "completion_tokens": 5,
    "total_tokens": 26,
    "prompt_tokens_details": {"cached_tokens": 8},
    "completion_tokens_details": {"reasoning_tokens": 2},
}


def chat_stream(texts: Sequence[str] = ("Hello", " there", ", world"), *, usage: bool = True) -> list[Any]:
    """A chat stream as OpenAI sends it: role chunk, text, finish, then (include_usage) the usage chunk."""
    events: list[Any] = [chat_chunk("", role="assistant")]
    events += [chat_chunk(text) for text in texts]
    events.append(chat_chunk(finish="stop"))
    if usage:
        events.append(chat_chunk(choices=False, usage=USAGE))
    events.append("data: [DONE]\n\n")
    return events


def chat_completion(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": '{"answer": "hello"}'},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
    body.update(overrides)
    return body


# --- expected usage, from the provider's documented fields -------------------------------------------


def _dig(block: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(block, Mapping):
            return None
        block = block.get(key)
    return block


def _first(*values: Any) -> int:
    return next((v for v in values if isinstance(v, int) and v), 0)


def expected_tokens(api: str, usage: Mapping[str, Any]) -> dict[str, int]:
    """Token attributes a recorded usage block must produce (inclusive input and output)."""
    if api == "responses":
        inp, out = usage["input_tokens"], usage["output_tokens"]
        cache_read = _first(_dig(usage, "input_tokens_details", "cached_tokens"))
        cache_write = _first(_dig(usage, "input_tokens_details", "cache_write_tokens"))
        reasoning = _first(_dig(usage, "output_tokens_details", "reasoning_tokens"))
    elif api == "embeddings":
        inp, out, cache_read, cache_write, reasoning = usage["prompt_tokens"], 0, 0, 0, 0
    else:
        inp, out = usage["prompt_tokens"], usage.get("completion_tokens", 0)
        cache_read = _first(
            _dig(usage, "prompt_tokens_details", "cached_tokens"),
            _dig(usage, "prompt_token_details", "cached_tokens"),
            usage.get("prompt_cache_hit_tokens"),
            usage.get("cached_tokens"),
        )
        cache_write = _first(_dig(usage, "prompt_tokens_details", "cache_write_tokens"))
        reasoning = _first(_dig(usage, "completion_tokens_details", "reasoning_tokens"))
    expected = {
        "gen_ai.usage.input_tokens": max(inp, cache_read + cache_write),
        "gen_ai.usage.output_tokens": max(out, reasoning),
    }
    for name, value in (
        ("gen_ai.usage.cache_read.input_tokens", cache_read),
        ("gen_ai.usage.cache_write.input_tokens", cache_write),
        ("gen_ai.usage.reasoning.output_tokens", reasoning),
    ):
        if value:
            expected[name] = value
    return expected


def token_attributes(span: ReadableSpan) -> dict[str, int]:
    names = (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
    )
    attributes = span.attributes or {}
    return {name: attributes[name] for name in names if name in attributes}


# --- picking recordings --------------------------------------------------------------------------------


def find_recording(predicate: Callable[[dict[str, Any]], bool]) -> tuple[Interaction, dict[str, Any]]:
    """The first recorded interaction (with its index entry) whose entry satisfies ``predicate``."""
    for recording in json.loads((CASSETTES / "index.json").read_text()):
        for entry in recording["interactions"]:
            if entry["replayable"] and entry["request"] == "recorded" and predicate(entry):
                return load(recording["file"])[entry["index"]], entry
    raise LookupError("no recording matches")


def details(usage: Mapping[str, Any] | None, block: str, name: str) -> int:
    value = _dig(usage, block, name)
    return value if isinstance(value, int) else 0
