"""``POST /v1/messages`` in Anthropic's wire format, streamed (named events) or not.

Prompt caching follows ``cache_control`` breakpoints: the first request writes the prefix up to the last
breakpoint (``cache_creation_input_tokens``), a repeat reads it (``cache_read_input_tokens``), and
``input_tokens`` counts only the uncached rest, as Anthropic reports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from otel_llm_cost.demo import _script as script
from otel_llm_cost.demo._wire import (
    BadRequest,
    JsonReply,
    Reply,
    Session,
    StreamReply,
    last_user_text,
    require_model,
    sse,
)


def messages(body: Mapping[str, Any], session: Session) -> Reply:
    """Answer an Anthropic Messages request.

    Args:
        body: the request JSON.
        session: the server's shared state (prompt cache, ids).

    Returns:
        A JSON message, or the SSE event sequence (``message_start`` ... ``message_stop``).
    """
    model = require_model(body)
    conversation = body.get("messages")
    if not isinstance(conversation, list) or not conversation:
        raise BadRequest("messages: must be a non-empty list")
    reply = script.choose_reply(
        last_user_text(conversation),
        after_tool=_ends_with_tool_result(conversation),
        tool_names=_names(body),
    )
    usage = _usage(model, body, conversation, reply, session)
    message = _message(session.new_id("msg_"), model, reply, usage, session)
    if body.get("stream"):
        return StreamReply(_events(message, usage))
    return JsonReply(message, chunks=script.chunk_count(reply))


def _ends_with_tool_result(conversation: Sequence[Any]) -> bool:
    content = conversation[-1].get("content") if isinstance(conversation[-1], Mapping) else None
    return isinstance(content, list) and any(
        isinstance(block, Mapping) and block.get("type") == "tool_result" for block in content
    )


def _names(body: Mapping[str, Any]) -> list[str]:
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping) and choice.get("type") == "none":
        return []
    tools = body.get("tools") or []
    return [t["name"] for t in tools if isinstance(t, Mapping) and isinstance(t.get("name"), str)]


def _marked(value: Any) -> bool:
    if isinstance(value, Mapping):
        return "cache_control" in value
    return isinstance(value, list) and any(isinstance(b, Mapping) and "cache_control" in b for b in value)


def _prompt(body: Mapping[str, Any], conversation: Sequence[Any]) -> tuple[list[Any], list[int], list[int]]:
    """The prompt as cache pieces in Anthropic's order (tools, system, messages), tokens, breakpoints."""
    system = body.get("system")
    blocks = system if isinstance(system, list) else ([system] if isinstance(system, str) else [])
    tools = list(body.get("tools") or [])
    pieces: list[Any] = [*tools, *blocks, *conversation]
    tokens = [script.content_tokens(tool) + script.TOOL_OVERHEAD for tool in tools]
    tokens += [script.content_tokens(block) for block in blocks]
    tokens += [script.message_tokens(message) for message in conversation]
    breakpoints = [i for i, piece in enumerate(pieces) if _marked(piece) or _marked_content(piece)]
    return pieces, tokens, breakpoints


def _marked_content(piece: Any) -> bool:
    return isinstance(piece, Mapping) and _marked(piece.get("content"))


def _ttl(pieces: Sequence[Any], breakpoints: Sequence[int]) -> str:
    if not breakpoints:
        return "5m"
    piece = pieces[max(breakpoints)]
    if not isinstance(piece, Mapping):
        return "5m"
    blocks = piece.get("content") if isinstance(piece.get("content"), list) else [piece]
    controls = [b["cache_control"] for b in blocks if isinstance(b, Mapping) and "cache_control" in b]
    return str(controls[-1].get("ttl", "5m")) if controls and isinstance(controls[-1], Mapping) else "5m"


def _usage(
    model: str, body: Mapping[str, Any], conversation: Sequence[Any], reply: script.Reply, session: Session
) -> dict[str, Any]:
    pieces, tokens, breakpoints = _prompt(body, conversation)
    read, write = session.cache.anthropic_split(model, pieces, tokens, breakpoints)
    one_hour = _ttl(pieces, breakpoints) == "1h"
    return {
        "input_tokens": script.REQUEST_OVERHEAD + sum(tokens) - read - write,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": 0 if one_hour else write,
            "ephemeral_1h_input_tokens": write if one_hour else 0,
        },
        "output_tokens": script.reply_tokens(reply),
        "service_tier": "standard",
    }


def _message(
    message_id: str, model: str, reply: script.Reply, usage: Mapping[str, Any], session: Session
) -> dict[str, Any]:
    call = reply.tool_call
    if call is None:
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}]
    else:
        content = [
            {
                "type": "tool_use",
                "id": session.new_id("toolu_"),
                "name": call.name,
                "input": dict(call.arguments),
            }
        ]
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn" if call is None else "tool_use",
        "stop_sequence": None,
        "usage": dict(usage),
    }


def _events(message: Mapping[str, Any], usage: Mapping[str, Any]) -> list[str]:
    """Anthropic's stream: the input usage comes first, the output count in ``message_delta``."""
    opening_usage = {**usage, "output_tokens": 1}
    opening = {**message, "content": [], "stop_reason": None, "usage": opening_usage}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": opening}]
    for index, block in enumerate(message["content"]):
        events += _block_events(index, block)
    final_usage = {
        key: usage[key] for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    }
    final_usage["output_tokens"] = usage["output_tokens"]
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append({"type": "message_delta", "delta": delta, "usage": final_usage})
    events.append({"type": "message_stop"})
    return [sse(event, event["type"]) for event in events]


def _block_events(index: int, block: Mapping[str, Any]) -> list[dict[str, Any]]:
    if block["type"] == "text":
        opening: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in script.split_chunks(block["text"])]
    else:
        opening = {**block, "input": {}}
        arguments = script.ToolCall(block["name"], block["input"]).arguments_json
        deltas = [{"type": "input_json_delta", "partial_json": arguments}]
    events: list[dict[str, Any]] = [{"type": "content_block_start", "index": index, "content_block": opening}]
    if index == 0:
        events.append({"type": "ping"})
    events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
    events.append({"type": "content_block_stop", "index": index})
    return events
