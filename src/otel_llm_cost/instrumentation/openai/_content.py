"""Message content as GenAI semantic-convention JSON, recorded only when the user opted in.

Shapes follow the conventions' ``gen_ai.input.messages`` / ``gen_ai.output.messages`` schemas:
``[{"role": ..., "parts": [{"type": "text", "content": ...}, {"type": "tool_call", ...}], ...}]``.
Only called when content capture is on, so clarity matters more than speed here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from otel_llm_cost import attributes as attr
from otel_llm_cost._config import semconv_latest
from otel_llm_cost.apis._openai_fields import field, items, responses_finish_reason, text_of

Part = dict[str, Any]


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _output_message(parts: list[Part], finish_reason: object) -> Part:
    """One output message. Its ``finish_reason`` is deprecated in the newest conventions (the span's
    ``gen_ai.response.finish_reasons`` holds it): kept by default, as the official packages do."""
    if semconv_latest():
        return {"role": "assistant", "parts": parts}
    return {"role": "assistant", "parts": parts, "finish_reason": finish_reason}


def _text_part(content: str) -> Part:
    return {"type": "text", "content": content}


def _tool_call_part(call: object) -> Part:
    function = field(call, "function") or call
    return {
        "type": "tool_call",
        "id": field(call, "id") or field(call, "call_id"),
        "name": field(function, "name"),
        "arguments": field(function, "arguments"),
    }


def _content_parts(content: object) -> list[Part]:
    if isinstance(content, str):
        return [_text_part(content)] if content else []
    parts: list[Part] = []
    for part in content if isinstance(content, list | tuple) else ():
        text = field(part, "text")
        if isinstance(text, str):
            parts.append(_text_part(text))
        else:
            parts.append({"type": str(field(part, "type") or "unknown")})
    return parts


# --- chat completions -------------------------------------------------------------------------------


def chat_input_attributes(messages: object) -> dict[str, str]:
    """``gen_ai.input.messages`` of a chat request."""
    if not isinstance(messages, list | tuple):  # a one-shot iterable is the SDK's to consume
        return {}
    result = []
    for message in messages:
        role = field(message, "role")
        content = field(message, "content")
        if role == "tool":
            response = {"type": "tool_call_response", "id": field(message, "tool_call_id")}
            parts = [{**response, "response": text_of(content)}]
        else:
            parts = _content_parts(content)
        parts.extend(_tool_call_part(call) for call in items(message, "tool_calls"))
        result.append({"role": role, "parts": parts})
    return {attr.GEN_AI_INPUT_MESSAGES: _dumps(result)}


def chat_output_attributes(completion: object) -> dict[str, str]:
    """``gen_ai.output.messages`` of a ``ChatCompletion``."""
    result = []
    for choice in items(completion, "choices"):
        message = field(choice, "message")
        parts = _content_parts(field(message, "content"))
        refusal = field(message, "refusal")
        if isinstance(refusal, str):
            parts.append({"type": "refusal", "content": refusal})
        parts.extend(_tool_call_part(call) for call in items(message, "tool_calls"))
        result.append(_output_message(parts, field(choice, "finish_reason")))
    return {attr.GEN_AI_OUTPUT_MESSAGES: _dumps(result)}


def chat_stream_output_attributes(chunks: Sequence[object]) -> dict[str, str]:
    """``gen_ai.output.messages`` rebuilt from streamed chunks."""
    texts: dict[int, list[str]] = {}
    calls: dict[int, dict[int, Part]] = {}
    reasons: dict[int, object] = {}
    for chunk in chunks:
        for choice in items(chunk, "choices"):
            index = field(choice, "index") or 0
            delta = field(choice, "delta")
            content = field(delta, "content")
            if isinstance(content, str):
                texts.setdefault(index, []).append(content)
            for call in items(delta, "tool_calls"):
                _merge_call(calls.setdefault(index, {}), call)
            if field(choice, "finish_reason"):
                reasons[index] = field(choice, "finish_reason")
    result = []
    for index in sorted(set(texts) | set(calls) | set(reasons)):
        text = "".join(texts.get(index, ()))
        parts = ([_text_part(text)] if text else []) + list(calls.get(index, {}).values())
        result.append(_output_message(parts, reasons.get(index)))
    return {attr.GEN_AI_OUTPUT_MESSAGES: _dumps(result)}


def _merge_call(calls: dict[int, Part], delta: object) -> None:
    part = calls.setdefault(
        field(delta, "index") or 0, {"type": "tool_call", "id": None, "name": None, "arguments": ""}
    )
    function = field(delta, "function")
    part["id"] = part["id"] or field(delta, "id")
    part["name"] = part["name"] or field(function, "name")
    part["arguments"] += field(function, "arguments") or ""


# --- responses --------------------------------------------------------------------------------------


def responses_input_attributes(kwargs: Mapping[str, Any]) -> dict[str, str]:
    """``gen_ai.system_instructions`` and ``gen_ai.input.messages`` of a Responses request."""
    attributes: dict[str, str] = {}
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str):
        attributes[attr.GEN_AI_SYSTEM_INSTRUCTIONS] = _dumps([_text_part(instructions)])
    items = kwargs.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if isinstance(items, list | tuple):
        attributes[attr.GEN_AI_INPUT_MESSAGES] = _dumps([_responses_input_item(item) for item in items])
    return attributes


def _responses_input_item(item: object) -> dict[str, Any]:
    kind = field(item, "type")
    if kind == "function_call_output":
        part = {"type": "tool_call_response", "id": field(item, "call_id"), "response": field(item, "output")}
        return {"role": "tool", "parts": [part]}
    if kind == "function_call":
        return {"role": "assistant", "parts": [_tool_call_part(item)]}
    return {"role": field(item, "role") or "user", "parts": _content_parts(field(item, "content"))}


def responses_output_attributes(response: object) -> dict[str, str]:
    """``gen_ai.output.messages`` of a Responses API ``Response``."""
    parts: list[Part] = []
    for item in items(response, "output"):
        kind = field(item, "type")
        if kind == "message":
            parts.extend(_content_parts(field(item, "content")))
        elif kind == "function_call":
            parts.append(_tool_call_part(item))
        elif kind == "reasoning":
            summary = "".join(text_of(field(s, "text")) for s in items(item, "summary"))
            if summary:
                parts.append({"type": "reasoning", "content": summary})
    # The span's finish reason, not the Responses status ("completed" is "stop" there too).
    message = _output_message(parts, responses_finish_reason(response))
    return {attr.GEN_AI_OUTPUT_MESSAGES: _dumps([message])}


def responses_stream_output_attributes(events: Sequence[object], text: str) -> dict[str, str]:
    """``gen_ai.output.messages`` of a Responses stream: the final snapshot, else the streamed text."""
    for event in reversed(events):
        snapshot = field(event, "response")
        if snapshot is not None and field(snapshot, "output"):
            return responses_output_attributes(snapshot)
    message = _output_message([_text_part(text)] if text else [], None)
    return {attr.GEN_AI_OUTPUT_MESSAGES: _dumps([message])}
