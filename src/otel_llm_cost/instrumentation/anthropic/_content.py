"""Anthropic message content as GenAI semantic-convention JSON (recorded only when the user opted in),
and usage estimated from that content when a server sends no usage block.

Shapes follow ``gen_ai.system_instructions`` / ``gen_ai.input.messages`` / ``gen_ai.output.messages``:
``[{"role": ..., "parts": [{"type": "text", "content": ...}, {"type": "tool_call", ...}]}]``. Requests and
messages may be the SDK's models or their wire JSON. Clarity matters more than speed here: only calls
that capture content, or that lack usage, come this way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from otel_llm_cost import attributes as attr
from otel_llm_cost._estimate import estimate_tokens
from otel_llm_cost.instrumentation.anthropic._extract import request_params, streamed_text
from otel_llm_cost.usage import ESTIMATED, Usage

Part = dict[str, Any]
_TOKENS_PER_MESSAGE = 4


def _get(obj: object, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _part(block: object) -> Part:
    kind = _get(block, "type")
    if kind == "text":
        return {"type": "text", "content": _get(block, "text")}
    if kind == "thinking":
        return {"type": "reasoning", "content": _get(block, "thinking")}
    if kind in ("tool_use", "server_tool_use"):
        return {"type": "tool_call", "id": _get(block, "id"), "name": _get(block, "name"),
                "arguments": _get(block, "input")}  # fmt: skip
    if kind == "tool_result":
        return {"type": "tool_call_response", "id": _get(block, "tool_use_id"),
                "response": _text(_get(block, "content"))}  # fmt: skip
    return {"type": str(kind or "unknown")}


def _parts(content: object) -> list[Part]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}] if content else []
    if not isinstance(content, list | tuple):  # never iterate a caller's one-shot iterable
        return []
    return [_part(block) for block in content]


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list | tuple):
        return ""
    texts = (_get(block, "text") or _get(block, "thinking") or "" for block in content)
    return "".join(text if isinstance(text, str) else "" for text in texts)


def input_attributes(kwargs: Mapping[str, Any]) -> dict[str, str]:
    """``gen_ai.system_instructions`` and ``gen_ai.input.messages`` of a messages request."""
    params = request_params(kwargs)
    attributes: dict[str, str] = {}
    system = params.get("system")
    if system:
        attributes[attr.GEN_AI_SYSTEM_INSTRUCTIONS] = _dumps(_parts(system))
    messages = params.get("messages")
    if isinstance(messages, list | tuple):
        result = [{"role": _get(m, "role"), "parts": _parts(_get(m, "content"))} for m in messages]
        attributes[attr.GEN_AI_INPUT_MESSAGES] = _dumps(result)
    return attributes


def output_attributes(message: object) -> dict[str, str]:
    """``gen_ai.output.messages`` of a complete message."""
    output = {"role": "assistant", "parts": _parts(_get(message, "content")),
              "finish_reason": _get(message, "stop_reason")}  # fmt: skip
    return {attr.GEN_AI_OUTPUT_MESSAGES: _dumps([output])}


def stream_output_attributes(events: Sequence[object], finish_reason: str | None) -> dict[str, str]:
    """``gen_ai.output.messages`` rebuilt from a stream's events (its text, tool input and thinking)."""
    text = streamed_text(events)
    parts = [{"type": "text", "content": text}] if text else []
    return {attr.GEN_AI_OUTPUT_MESSAGES: _dumps([{"role": "assistant", "parts": parts,
                                                 "finish_reason": finish_reason}])}  # fmt: skip


def estimate_input(kwargs: Mapping[str, Any]) -> int:
    """Input tokens of a messages request (system and messages), estimated offline."""
    params = request_params(kwargs)
    total = estimate_tokens(_text(params.get("system")))
    messages = params.get("messages")
    for message in messages if isinstance(messages, list | tuple) else ():
        total += _TOKENS_PER_MESSAGE + estimate_tokens(_text(_get(message, "content")))
    return total


def estimated_usage(kwargs: Mapping[str, Any], message: object) -> Usage:
    """Usage of a response that carried no usage block: estimated from the request and the reply."""
    return Usage.of(
        estimate_input(kwargs), estimate_tokens(_text(_get(message, "content"))), source=ESTIMATED
    )
