"""``POST /v1/responses`` in OpenAI's wire format, streamed (typed events) or not."""

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


def responses(body: Mapping[str, Any], session: Session) -> Reply:
    """Answer a Responses API request.

    Args:
        body: the request JSON.
        session: the server's shared state (prompt cache, ids).

    Returns:
        A JSON response, or an SSE stream of typed events ending with ``response.completed``
        (which carries the usage) when ``stream`` is true.
    """
    model = require_model(body)
    items = _input_items(body.get("input"))
    tools = body.get("tools") or []
    reply = script.choose_reply(
        last_user_text(items), after_tool=_ends_with_tool_result(items), tool_names=_names(body)
    )
    usage = _usage(model, body.get("instructions"), items, tools, reply, session)
    output = _output(model, reply, session)
    response = _response(session.new_id("resp_"), model, body, output, usage, session)
    if body.get("stream"):
        return StreamReply(_events(response, output))
    return JsonReply(response, chunks=script.chunk_count(reply))


def _input_items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and value:
        return value
    raise BadRequest("'input' must be a string or a non-empty list")


def _ends_with_tool_result(items: Sequence[Any]) -> bool:
    last = items[-1]
    return isinstance(last, Mapping) and last.get("type") == "function_call_output"


def _names(body: Mapping[str, Any]) -> list[str]:
    if body.get("tool_choice") == "none":
        return []
    tools = body.get("tools") or []
    return [
        t["name"] for t in tools if isinstance(t, Mapping) and t.get("type") == "function" and "name" in t
    ]


def _usage(
    model: str,
    instructions: Any,
    items: Sequence[Any],
    tools: Sequence[Any],
    reply: script.Reply,
    session: Session,
) -> dict[str, Any]:
    head = script.REQUEST_OVERHEAD + script.tools_tokens(list(tools))
    if isinstance(instructions, str):
        head += script.message_tokens(instructions)
    pieces = [[list(tools), instructions, items[0]], *items[1:]]
    tokens = [script.message_tokens(item) for item in items]
    tokens[0] += head
    prompt = sum(tokens)
    cached = session.cache.openai_cached(model, pieces, tokens)
    visible = script.reply_tokens(reply)
    reasoning = script.reasoning_tokens(model, visible)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": visible + reasoning,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + visible + reasoning,
    }


def _output(model: str, reply: script.Reply, session: Session) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if script.reasoning_tokens(model, 0):
        output.append({"id": session.new_id("rs_"), "type": "reasoning", "summary": []})
    call = reply.tool_call
    if call is not None:
        item = {"id": session.new_id("fc_"), "type": "function_call", "status": "completed"}
        item.update(call_id=session.new_id("call_"), name=call.name, arguments=call.arguments_json)
        output.append(item)
        return output
    part = {"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}
    output.append(
        {
            "id": session.new_id("msg_"),
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [part],
        }
    )
    return output


def _response(
    response_id: str,
    model: str,
    body: Mapping[str, Any],
    output: list[dict[str, Any]],
    usage: Mapping[str, Any],
    session: Session,
) -> dict[str, Any]:
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), Mapping) else {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": session.now(),
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": list(body.get("tools") or []),
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": dict(usage),
        "user": None,
        "metadata": {},
    }


def _events(response: Mapping[str, Any], output: Sequence[Mapping[str, Any]]) -> list[str]:
    """The typed event sequence of a streamed response, numbered as OpenAI numbers them."""
    pending = {**response, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
    ]
    for index, item in enumerate(output):
        events += _item_events(index, item)
    events.append({"type": "response.completed", "response": dict(response)})
    return [sse({"type": e["type"], "sequence_number": n, **e}, e["type"]) for n, e in enumerate(events)]


def _item_events(index: int, item: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = item["type"]
    if kind == "message":
        opening: dict[str, Any] = {**item, "status": "in_progress", "content": []}
    elif kind == "function_call":
        opening = {**item, "status": "in_progress", "arguments": ""}
    else:
        opening = dict(item)
    events = [{"type": "response.output_item.added", "output_index": index, "item": opening}]
    where = {"item_id": item["id"], "output_index": index}
    if kind == "message":
        events += _text_events(where, item["content"][0])
    elif kind == "function_call":
        events.append({"type": "response.function_call_arguments.delta", **where, "delta": item["arguments"]})
        events.append(
            {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]}
        )
    events.append({"type": "response.output_item.done", "output_index": index, "item": dict(item)})
    return events


def _text_events(where: Mapping[str, Any], part: Mapping[str, Any]) -> list[dict[str, Any]]:
    at = {**where, "content_index": 0}
    text = part["text"]
    events: list[dict[str, Any]] = [
        {"type": "response.content_part.added", **at, "part": {**part, "text": ""}}
    ]
    for piece in script.split_chunks(text):
        events.append({"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []})
    events.append({"type": "response.output_text.done", **at, "text": text, "logprobs": []})
    events.append({"type": "response.content_part.done", **at, "part": dict(part)})
    return events
