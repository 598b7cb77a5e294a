"""Cohere's chat (v2, and the v1 chat the SDK's ``Client.chat`` still sends) and embed APIs. Pure.

Usage is what Cohere bills: ``billed_units`` (``input_tokens``, ``output_tokens``), else the raw
``tokens`` counts when no billed units are given, with ``cached_tokens`` as their cache reads
(``cached_tokens`` counts raw prompt tokens, so it is not applied to billed units). v2
chat reports it under ``usage``; v1 chat and both embed versions under ``meta``.

Streams: v2 chat is SSE (``message-start`` carries the id, ``message-end`` the finish reason and
usage); v1 chat is newline-delimited JSON ending with ``stream-end``, whose ``response`` is the whole
non-streamed reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._values import read_double, read_str, read_strings, read_whole
from otel_llm_cost.apis._api import NDJSON, SSE, ResponseFields, WireRequest
from otel_llm_cost.apis._fields import (
    add_parameters,
    body_of,
    count,
    estimated_usage,
    get,
    items,
    make_fields,
    text,
)
from otel_llm_cost.usage import ESTIMATED, Usage

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

CHAT: Final = "chat"
EMBEDDINGS: Final = "embeddings"

# (body key, attribute, reader): the same names in v1 and v2.
_PARAMETERS: Final = (
    ("max_tokens", attr.GEN_AI_REQUEST_MAX_TOKENS, count),
    ("temperature", attr.GEN_AI_REQUEST_TEMPERATURE, read_double),
    ("p", attr.GEN_AI_REQUEST_TOP_P, read_double),
    ("k", attr.GEN_AI_REQUEST_TOP_K, read_whole),
    ("seed", attr.GEN_AI_REQUEST_SEED, count),
    ("frequency_penalty", attr.GEN_AI_REQUEST_FREQUENCY_PENALTY, read_double),
    ("presence_penalty", attr.GEN_AI_REQUEST_PRESENCE_PENALTY, read_double),
    ("stop_sequences", attr.GEN_AI_REQUEST_STOP_SEQUENCES, read_strings),
)


def get_usage(block: object) -> Usage | None:
    """A v2 ``usage`` or a ``meta`` block (JSON or an SDK object): billed units, else raw tokens."""
    billed = get(block, "billed_units")
    inp, out = get(billed, "input_tokens"), get(billed, "output_tokens")
    if inp is not None or out is not None:
        # Billed units are what is charged; ``cached_tokens`` counts the raw prompt, not them.
        return Usage.of(inp or 0, out or 0)
    tokens = get(block, "tokens")
    inp, out = get(tokens, "input_tokens"), get(tokens, "output_tokens")
    if inp is None and out is None:
        return None
    return Usage.of(inp or 0, out or 0, cache_read_tokens=get(block, "cached_tokens") or 0)


def _usage_of(response: object) -> Usage | None:
    usage = get_usage(get(response, "usage"))
    return usage if usage is not None else get_usage(get(response, "meta"))


def _request_attributes(request: WireRequest, stream: bool) -> dict[str, AttributeValue]:
    body = body_of(request)
    attributes: dict[str, AttributeValue] = add_parameters({}, body, _PARAMETERS)
    kind = get(body.get("response_format"), "type")
    if kind in ("json_object", "json"):
        attributes[attr.GEN_AI_OUTPUT_TYPE] = "json"
    attributes[attr.GEN_AI_REQUEST_STREAM] = stream
    return attributes


def _messages_text(body: Mapping[str, Any]) -> str:
    parts = [text(body.get("message")), text(body.get("preamble"))]
    for message in (*items(body, "messages"), *items(body, "chat_history")):
        content = get(message, "content")
        if isinstance(content, str):
            parts.append(content)
        parts.extend(text(get(part, "text")) for part in items(message, "content"))
        parts.append(text(get(message, "message")))
    return "".join(parts)


def _reply_text(message: object) -> str:
    parts = [text(get(part, "text")) for part in items(message, "content")]
    for call in items(message, "tool_calls"):
        function = get(call, "function")
        parts.append(text(get(function, "name")) + text(get(function, "arguments")))
    return "".join(parts)


class _CohereApi:
    _suffixes: tuple[str, ...] = ()

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith(self._suffixes)

    def request_model(self, request: WireRequest) -> str | None:
        return read_str(body_of(request).get("model"))

    def is_streaming(self, request: WireRequest) -> bool:
        return body_of(request).get("stream") is True

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        return _request_attributes(request, self.is_streaming(request))


class ChatV2(_CohereApi):
    """``POST /v2/chat``."""

    name: Final = "cohere.chat"
    operation: Final = CHAT
    stream_format: Final = SSE
    _suffixes = ("/v2/chat",)

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        usage = _usage_of(body)
        if usage is None:
            usage = estimated_usage(_messages_text(body_of(request)), _reply_text(get(body, "message")))
        return make_fields(usage, None, read_str(get(body, "id")), [get(body, "finish_reason")])

    def is_content_event(self, event: Any) -> bool:
        kind = get(event, "type")
        return isinstance(kind, str) and kind.endswith("-delta")

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        start = next((e for e in events if get(e, "type") == "message-start"), None)
        end = next((e for e in reversed(events) if get(e, "type") == "message-end"), None)
        delta = get(end, "delta")
        usage = get_usage(get(delta, "usage"))
        if usage is None:
            seen = sum(1 for event in events if self.is_content_event(event)) if dropped else 0
            output = "".join(_delta_text(event) for event in events)
            usage = estimated_usage(_messages_text(body_of(request)), output, seen, dropped)
        reasons = [get(delta, "finish_reason")]
        return make_fields(usage, None, read_str(get(start, "id")), reasons, complete=end is not None)


def _delta_text(event: object) -> str:
    message = get(get(event, "delta"), "message")
    content = get(message, "content")
    pieces = [text(get(content, "text")), text(get(message, "tool_plan"))]
    function = get(get(message, "tool_calls"), "function")
    pieces.append(text(get(function, "name")) + text(get(function, "arguments")))
    return "".join(pieces)


class ChatV1(_CohereApi):
    """``POST /v1/chat`` (the Cohere SDK's ``Client.chat``)."""

    name: Final = "cohere.chat_v1"
    operation: Final = CHAT
    stream_format: Final = NDJSON
    _suffixes = ("/v1/chat",)

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        usage = _usage_of(body)
        if usage is None:
            usage = estimated_usage(_messages_text(body_of(request)), text(get(body, "text")))
        response_id = read_str(get(body, "generation_id")) or read_str(get(body, "response_id"))
        return make_fields(usage, None, response_id, [get(body, "finish_reason")])

    def is_content_event(self, event: Any) -> bool:
        return get(event, "event_type") in ("text-generation", "tool-calls-chunk")

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        end = next((e for e in reversed(events) if get(e, "event_type") == "stream-end"), None)
        if end is not None:
            fields = self.response_fields(get(end, "response"), request)
            if fields.usage is not None and fields.usage.source != ESTIMATED:
                return fields
        start = next((e for e in events if get(e, "event_type") == "stream-start"), None)
        seen = sum(1 for event in events if self.is_content_event(event)) if dropped else 0
        output = "".join(text(get(event, "text")) for event in events if self.is_content_event(event))
        usage = estimated_usage(_messages_text(body_of(request)), output, seen, dropped)
        response_id = read_str(get(start, "generation_id"))
        return make_fields(usage, None, response_id, [get(end, "finish_reason")], complete=end is not None)


class Embed(_CohereApi):
    """``POST /v2/embed`` and ``/v1/embed``: billed input tokens under ``meta``."""

    name: Final = "cohere.embed"
    operation: Final = EMBEDDINGS
    stream_format: Final = SSE  # never streamed
    _suffixes = ("/v2/embed", "/v1/embed")

    def is_streaming(self, request: WireRequest) -> bool:
        return False

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        kinds = read_strings(body_of(request).get("embedding_types"))
        return {attr.GEN_AI_REQUEST_ENCODING_FORMATS: kinds} if kinds else {}

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        usage = _usage_of(body)
        if usage is None:
            inputs = body_of(request)
            usage = estimated_usage("".join(text(t) for t in items(inputs, "texts")), "")
        return make_fields(usage, None, read_str(get(body, "id")))

    def is_content_event(self, event: Any) -> bool:
        return False

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        return ResponseFields()


CHAT_V2: Final = ChatV2()
CHAT_V1: Final = ChatV1()
EMBED: Final = Embed()
