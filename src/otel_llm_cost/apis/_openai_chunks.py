"""Pure functions from streamed chunks (chat) and events (Responses) to span fields, run once per stream.

Per chunk the stream proxies only count the chunk, keep it if the end may need it, and look for the first
content; everything here runs at the end of the stream, on the chunks kept (the opening ones and the last
few, or all: see :mod:`otel_llm_cost.instrumentation._stream`), and reads as few of them as it can.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from otel_llm_cost.apis._api import TAIL
from otel_llm_cost.apis._openai_fields import (
    ResponseFields,
    estimate_chat_input,
    estimate_responses_input,
    estimated,
    field,
    get_chat_usage,
    get_provider_cost,
    items,
    make_fields,
    read_int,
    read_str,
    responses_fields,
)


def chat_chunk_has_content(chunk: object) -> bool:
    """Whether a chunk carries generated output (text, tool call, refusal or reasoning)."""
    for choice in items(chunk, "choices"):
        delta = field(choice, "delta")
        if delta is not None and (
            field(delta, "content")
            or field(delta, "tool_calls")
            or field(delta, "refusal")
            or field(delta, "function_call")
            or field(delta, "reasoning_content")
            or field(delta, "reasoning")
        ):
            return True
    return False


def _chunk_usage(chunk: object) -> object:
    usage = field(chunk, "usage")
    if usage is None:
        usage = field(field(chunk, "x_groq"), "usage")  # Groq reports stream usage here
    return usage


def chat_stream_fields(
    chunks: Sequence[object], kwargs: Mapping[str, Any], dropped: int = 0
) -> ResponseFields:
    """Fields of a chat stream from the chunks kept; usage estimated when none was reported.

    Reads as few chunks as it can: usage and service tier sit in the last ones, ids in the first ones,
    finish reasons near the end (one per requested choice). ``dropped``: content chunks seen but not
    kept, which an estimate extrapolates to.
    """
    usage_block = service_tier = None
    for chunk in chunks[: -TAIL - 1 : -1]:
        usage_block = usage_block or _chunk_usage(chunk)
        service_tier = service_tier or read_str(field(chunk, "service_tier"))
    usage = get_chat_usage(usage_block)
    if usage is None:
        seen = sum(1 for chunk in chunks if chat_chunk_has_content(chunk)) if dropped else 0
        text = chat_stream_text(chunks)
        usage = estimated(estimate_chat_input(kwargs.get("messages")), text, seen, dropped)
    response_id = model = fingerprint = None
    for chunk in chunks:
        response_id = response_id or read_str(field(chunk, "id"))
        model = model or read_str(field(chunk, "model"))
        fingerprint = fingerprint or read_str(field(chunk, "system_fingerprint"))
        if response_id and model and fingerprint:
            break
    return make_fields(
        usage=usage,
        model=model,
        response_id=response_id,
        finish_reasons=_stream_finish_reasons(chunks, read_int(kwargs.get("n")) or 1),
        service_tier=service_tier,
        provider_cost=get_provider_cost(usage_block),
        system_fingerprint=fingerprint,
    )


def _stream_finish_reasons(chunks: Sequence[object], choice_count: int) -> list[str]:
    reasons: dict[int, str] = {}
    for chunk in reversed(chunks):
        for choice in items(chunk, "choices"):
            reason = field(choice, "finish_reason")
            if reason:
                reasons.setdefault(field(choice, "index") or 0, reason)
        if len(reasons) >= choice_count:
            break
    return [reasons[i] for i in sorted(reasons)]


def chat_stream_text(chunks: Iterable[object]) -> str:
    """All generated text of a chat stream (content, reasoning, refusals, tool-call arguments)."""
    parts: list[str] = []
    for chunk in chunks:
        for choice in items(chunk, "choices"):
            delta = field(choice, "delta")
            if delta is None:
                continue
            for name in ("content", "reasoning_content", "reasoning", "refusal"):
                value = field(delta, name)
                if isinstance(value, str):
                    parts.append(value)
            for call in items(delta, "tool_calls"):
                function = field(call, "function")
                parts.append((field(function, "name") or "") + (field(function, "arguments") or ""))
    return "".join(parts)


def responses_event_has_content(event: object) -> bool:
    kind = field(event, "type")
    return isinstance(kind, str) and kind.endswith(".delta")


def responses_stream_fields(
    events: Sequence[object], kwargs: Mapping[str, Any], dropped: int = 0
) -> ResponseFields:
    """Fields of a Responses stream: from the final ``response.*`` snapshot, else estimated from the
    events kept (and ``dropped``, the events seen but not kept)."""
    snapshot = None
    for event in reversed(events):
        snapshot = field(event, "response")
        if snapshot is not None:
            break
    fields = responses_fields(snapshot) if snapshot is not None else ResponseFields()
    if fields.usage is None:
        seen = sum(1 for event in events if responses_event_has_content(event)) if dropped else 0
        text = responses_stream_text(events)
        fields.usage = estimated(estimate_responses_input(kwargs), text, seen, dropped)
    return fields


def responses_stream_text(events: Iterable[object]) -> str:
    parts = [field(event, "delta") for event in events if responses_event_has_content(event)]
    return "".join(part for part in parts if isinstance(part, str))
