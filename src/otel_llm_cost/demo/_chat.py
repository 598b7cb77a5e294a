"""``POST /v1/chat/completions`` in OpenAI's wire format, streamed or not."""

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


def chat_completions(body: Mapping[str, Any], session: Session) -> Reply:
    """Answer a chat completion request.

    Args:
        body: the request JSON.
        session: the server's shared state (prompt cache, ids).

    Returns:
        A JSON completion, or an SSE stream of chunks when ``stream`` is true; the stream ends with a
        usage chunk only when ``stream_options.include_usage`` is true, as OpenAI's does.
    """
    model = require_model(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list")
    tools = body.get("tools") or []
    reply = script.choose_reply(
        last_user_text(messages), after_tool=_ends_with_tool_result(messages), tool_names=_tool_names(body)
    )
    usage = _usage(model, messages, tools, reply, session)
    completion_id = session.new_id("chatcmpl-")
    if body.get("stream"):
        options = body.get("stream_options") or {}
        include_usage = bool(options.get("include_usage")) if isinstance(options, Mapping) else False
        return StreamReply(_chunks(completion_id, model, reply, usage if include_usage else None, session))
    return JsonReply(
        _completion(completion_id, model, reply, usage, session), chunks=script.chunk_count(reply)
    )


def _ends_with_tool_result(messages: Sequence[Any]) -> bool:
    last = messages[-1]
    return isinstance(last, Mapping) and last.get("role") in ("tool", "function")


def _tool_names(body: Mapping[str, Any]) -> list[str]:
    if body.get("tool_choice") == "none":
        return []
    tools = body.get("tools") or []
    functions = (tool.get("function") for tool in tools if isinstance(tool, Mapping))
    return [f["name"] for f in functions if isinstance(f, Mapping) and isinstance(f.get("name"), str)]


def _usage(
    model: str, messages: Sequence[Any], tools: Sequence[Any], reply: script.Reply, session: Session
) -> dict[str, Any]:
    # The tools lead the prompt; they go with the first message so that an empty tool list is no "hit".
    pieces = [[list(tools), messages[0]], *messages[1:]]
    tokens = [script.message_tokens(message) for message in messages]
    tokens[0] += script.REQUEST_OVERHEAD + script.tools_tokens(list(tools))
    prompt = sum(tokens)
    cached = session.cache.openai_cached(model, pieces, tokens)
    visible = script.reply_tokens(reply)
    reasoning = script.reasoning_tokens(model, visible)
    completion = visible + reasoning
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_call_json(call: script.ToolCall, call_id: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json},
    }


def _completion(
    completion_id: str, model: str, reply: script.Reply, usage: Mapping[str, Any], session: Session
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text or None,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_call is not None:
        message["tool_calls"] = [_tool_call_json(reply.tool_call, session.new_id("call_"))]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": session.now(),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(reply)}
        ],
        "usage": dict(usage),
        "service_tier": "default",
        "system_fingerprint": "fp_demo",
    }


def _finish_reason(reply: script.Reply) -> str:
    return "tool_calls" if reply.tool_call is not None else "stop"


def _deltas(reply: script.Reply, session: Session) -> list[dict[str, Any]]:
    call = reply.tool_call
    if call is None:
        first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        return [first, *({"content": piece} for piece in script.split_chunks(reply.text))]
    opening = {"index": 0, "id": session.new_id("call_"), "type": "function"}
    opening["function"] = {"name": call.name, "arguments": ""}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": None, "tool_calls": [opening]}]
    for piece in script.argument_pieces(call.arguments_json):
        deltas.append({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    return deltas


def _chunks(
    completion_id: str, model: str, reply: script.Reply, usage: Mapping[str, Any] | None, session: Session
) -> list[str]:
    base: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": session.now(),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_demo",
    }
    if usage is not None:
        base["usage"] = None  # as OpenAI does: every chunk carries the key, only the last one a value

    def chunk(delta: Mapping[str, Any], finish_reason: str | None = None) -> str:
        choice = {"index": 0, "delta": dict(delta), "logprobs": None, "finish_reason": finish_reason}
        return sse({**base, "choices": [choice]})

    events = [chunk(delta) for delta in _deltas(reply, session)]
    events.append(chunk({}, _finish_reason(reply)))
    if usage is not None:
        events.append(sse({**base, "choices": [], "usage": dict(usage)}))
    events.append(sse("[DONE]"))
    return events
