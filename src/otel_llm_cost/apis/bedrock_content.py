"""Message content of Bedrock calls as GenAI semantic-convention JSON, recorded only on opt-in. Pure.

Shapes follow the conventions' ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
``gen_ai.system_instructions`` schemas, as the OpenAI surfaces record them. Converse content blocks
(``{"text"}``, ``{"toolUse"}``, ``{"toolResult"}``, ``{"reasoningContent"}``) and Anthropic's
(``{"type": "text"}``, ``tool_use``, ``tool_result``, ``thinking``) are read alike; the prompt-style families
(Titan, Llama, Mistral, Cohere) give one user message. Images, documents and videos are recorded by their
kind only, never their bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost.apis.bedrock import get
from otel_llm_cost.apis.bedrock_invoke import chunk_text, decode_chunk

Part = dict[str, Any]
_PROMPTS: Final = ("prompt", "inputText", "message")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _text(content: str) -> Part:
    return {"type": "text", "content": content}


def parts(content: object) -> list[Part]:
    """The parts of a message's content: a string, or Converse or Anthropic content blocks."""
    if isinstance(content, str):
        return [_text(content)] if content else []
    found: list[Part] = []
    for block in content if isinstance(content, list) else ():
        if isinstance(block, Mapping):
            found.append(_part(block))
    return found


def _part(block: Mapping[str, Any]) -> Part:
    kind = block.get("type")
    if isinstance(block.get("text"), str) and kind in (None, "text"):
        return _text(block["text"])
    if "toolUse" in block or kind == "tool_use":
        call = block.get("toolUse") or block
        return {
            "type": "tool_call",
            "id": get(call, "toolUseId") or get(call, "id"),
            "name": get(call, "name"),
            "arguments": get(call, "input"),
        }
    if "toolResult" in block or kind == "tool_result":
        result = block.get("toolResult") or block
        response = get(result, "content")
        return {
            "type": "tool_call_response",
            "id": get(result, "toolUseId") or get(result, "tool_use_id"),
            "response": response,
        }
    reasoning = get(get(block, "reasoningContent"), "reasoningText")
    if reasoning is not None or kind == "thinking":
        return {"type": "reasoning", "content": get(reasoning, "text") or block.get("thinking")}
    return {"type": kind if isinstance(kind, str) else next(iter(block), "unknown")}


def input_attributes(body: Mapping[str, Any] | None) -> dict[str, str]:
    """``gen_ai.system_instructions`` and ``gen_ai.input.messages`` of a Converse or InvokeModel request."""
    if body is None:
        return {}
    attributes: dict[str, str] = {}
    system = parts(body.get("system"))
    if system:
        attributes[attr.GEN_AI_SYSTEM_INSTRUCTIONS] = _dumps(system)
    messages = body.get("messages")
    if isinstance(messages, list):
        result = [{"role": get(m, "role") or "user", "parts": parts(get(m, "content"))} for m in messages]
    else:
        prompt = next((body[key] for key in _PROMPTS if isinstance(body.get(key), str)), None)
        result = [{"role": "user", "parts": [_text(prompt)]}] if prompt else []
    if result:
        attributes[attr.GEN_AI_INPUT_MESSAGES] = _dumps(result)
    return attributes


def output_attributes(body: object, finish_reason: object) -> dict[str, str]:
    """``gen_ai.output.messages`` of a complete Converse or InvokeModel response body."""
    message = get(get(body, "output"), "message")  # Converse, Nova
    if message is not None:
        found = parts(get(message, "content"))
    elif isinstance(get(body, "content"), list):  # Anthropic
        found = parts(get(body, "content"))
    else:
        text = _invoke_text(body)
        found = [_text(text)] if text else []
    return _output(found, finish_reason)


def _invoke_text(body: object) -> str:
    for name, key in (("results", "outputText"), ("completions", "data")):  # Titan, AI21
        items = get(body, name)
        if isinstance(items, list) and items:
            value = get(items[0], key)
            value = get(value, "text") if isinstance(value, Mapping) else value
            if isinstance(value, str):
                return value
    return chunk_text(body)


def converse_stream_output_attributes(events: Iterable[Any], finish_reason: object) -> dict[str, str]:
    """``gen_ai.output.messages`` rebuilt from a ConverseStream's text deltas."""
    texts = (get(get(get(event, "contentBlockDelta"), "delta"), "text") for event in events)
    text = "".join(t for t in texts if isinstance(t, str))
    return _output([_text(text)] if text else [], finish_reason)


def invoke_stream_output_attributes(events: Iterable[Any], finish_reason: object) -> dict[str, str]:
    """``gen_ai.output.messages`` rebuilt from an InvokeModelWithResponseStream's text chunks."""
    texts = []
    for event in events:
        chunk = decode_chunk(event)
        delta = get(chunk, "delta")
        if get(chunk, "type") == "content_block_delta" and get(delta, "type") != "text_delta":
            continue  # Anthropic tool-input JSON and thinking are not the message's text
        texts.append(chunk_text(chunk) if chunk is not None else "")
    text = "".join(texts)
    return _output([_text(text)] if text else [], finish_reason)


def finish_reason_of(attributes: Mapping[str, Any]) -> object:
    """The finish reason already read into a call's response attributes (the output message repeats it)."""
    reasons = attributes.get(attr.GEN_AI_RESPONSE_FINISH_REASONS)
    return reasons[0] if isinstance(reasons, list) and reasons else None


def _output(found: list[Part], finish_reason: object) -> dict[str, str]:
    message = {"role": "assistant", "parts": found, "finish_reason": finish_reason}
    return {attr.GEN_AI_OUTPUT_MESSAGES: _dumps([message])}
