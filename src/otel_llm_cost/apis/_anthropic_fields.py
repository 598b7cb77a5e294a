"""Anthropic requests, messages and stream events -> span attributes and :class:`Usage`. Pure functions.

Anthropic reports cache tokens *additively*: ``input_tokens`` excludes ``cache_read_input_tokens`` and
``cache_creation_input_tokens``. :func:`extract_usage` folds them into the inclusive input count the
GenAI conventions (and :class:`~otel_llm_cost.usage.Usage`) use, and keeps the 5-minute / 1-hour split
of cache writes (``usage.cache_creation``), which are priced differently.

Streams: ``message_start`` carries the input side (input, cache reads and writes, their split) and a
placeholder ``output_tokens``; each ``message_delta`` carries *cumulative* totals: ``output_tokens``
always, ``input_tokens`` / cache counts / ``output_tokens_details`` when the API sends them (``null``
otherwise, and then the ``message_start`` value stands). The last ``message_delta`` is the final word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from otel_llm_cost import attributes as attr
from otel_llm_cost._estimate import estimate_tokens, extrapolate_tokens
from otel_llm_cost._values import drop_none, read_double, read_int, read_str, read_strings, read_whole
from otel_llm_cost.apis._fields import add_parameters
from otel_llm_cost.usage import ESTIMATED, PROVIDER, Iteration, Usage, UsageSource

OPERATION = "chat"
DEFAULT_PROVIDER = "anthropic"
REQUEST_ID_HEADER = "request-id"

# Clients of older SDKs lack ``_gen_ai_provider_name``; their cloud clients are told apart by base class.
_PROVIDER_BY_BASE_CLASS = {"BaseBedrockClient": "aws.bedrock", "BaseVertexClient": "gcp.vertex_ai"}
# Usage fields a ``message_delta`` may update (cumulative totals; ``None`` means "unchanged").
_DELTA_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens_details",
    "server_tool_use",
    "iterations",
)
_START_FIELDS = (*_DELTA_FIELDS, "cache_creation")
# ``usage.server_tool_use`` counters -> :class:`Usage` units (genai-prices' names where it has one).
_SERVER_TOOL_UNITS = (
    ("web_search_requests", "web_searches"),
    ("web_fetch_requests", "web_fetches"),
    ("code_execution_requests", "code_executions"),
)
# Where the generated text of each delta type lives, for estimates of streams cut short.
_DELTA_TEXT_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """What a (possibly partial) event stream says about its call."""

    usage: Usage | None
    response_id: str | None = None
    response_model: str | None = None
    finish_reason: str | None = None
    service_tier: str | None = None
    stopped: bool = False  # ``message_stop`` was seen: the stream ran to its end


# --- request ---------------------------------------------------------------------------------------------


def get_provider(client: object) -> str:
    """``gen_ai.provider.name`` for an SDK client: ``anthropic``, ``aws.bedrock`` or ``gcp.vertex_ai``."""
    name = getattr(client, "_gen_ai_provider_name", None)
    if isinstance(name, str) and name:
        return name
    for cls in type(client).__mro__:
        provider = _PROVIDER_BY_BASE_CLASS.get(cls.__name__)
        if provider is not None:
            return provider
    return DEFAULT_PROVIDER


def get_server(client: object) -> tuple[str | None, int | None]:
    """The host and port the client sends requests to."""
    url = getattr(client, "base_url", None)
    host = getattr(url, "host", None)
    if not isinstance(host, str) or not host:
        return None, None
    port = getattr(url, "port", None)
    if not isinstance(port, int):
        port = 80 if getattr(url, "scheme", "https") == "http" else 443
    return host, port


def request_params(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request body's fields: keyword arguments, overridden by ``extra_body`` as the SDK does."""
    extra = kwargs.get("extra_body")
    return {**kwargs, **extra} if isinstance(extra, Mapping) else kwargs


# (request parameter, attribute, reader) of the parameters recorded as they are.
_PARAMETERS = (
    ("max_tokens", attr.GEN_AI_REQUEST_MAX_TOKENS, read_int),
    ("temperature", attr.GEN_AI_REQUEST_TEMPERATURE, read_double),
    ("top_p", attr.GEN_AI_REQUEST_TOP_P, read_double),
    ("top_k", attr.GEN_AI_REQUEST_TOP_K, read_whole),
    ("stop_sequences", attr.GEN_AI_REQUEST_STOP_SEQUENCES, read_strings),
)


def request_attributes(
    params: Mapping[str, Any], *, stream: bool, server: tuple[str | None, int | None]
) -> dict[str, Any]:
    """Attributes known before the call is sent (so that samplers see them)."""
    attributes = add_parameters({}, params, _PARAMETERS)
    attributes[attr.GEN_AI_REQUEST_STREAM] = stream
    host, port = server
    if host is not None:
        attributes[attr.SERVER_ADDRESS] = host
        if port is not None:
            attributes[attr.SERVER_PORT] = port
    return attributes


def get_request_model(params: Mapping[str, Any]) -> str | None:
    model = params.get("model")
    return model if isinstance(model, str) and model else None


def is_streaming(params: Mapping[str, Any]) -> bool:
    return params.get("stream") is True


# --- response ----------------------------------------------------------------------------------------------


def extract_usage(usage: object, source: UsageSource = PROVIDER) -> Usage | None:
    """The normalised record of an Anthropic ``usage`` block (model or dict); ``None`` when absent."""
    if usage is None:
        return None
    return _usage_from_fields(_fields(usage, _START_FIELDS), source)


def message_attributes(message: object, request_id: str | None) -> dict[str, Any]:
    """Response attributes of a complete ``Message`` (its usage and model are handled apart)."""
    return response_attributes(
        read_str(_get(message, "id")), read_str(_get(message, "stop_reason")), request_id
    )


def response_attributes(
    response_id: str | None, finish_reason: str | None, request_id: str | None
) -> dict[str, Any]:
    return drop_none(
        [
            (attr.GEN_AI_RESPONSE_ID, response_id),
            (attr.GEN_AI_RESPONSE_FINISH_REASONS, [finish_reason] if finish_reason else None),
            (attr.ANTHROPIC_REQUEST_ID, request_id),
        ]
    )


def get_response_model(message: object) -> str | None:
    return read_str(_get(message, "model"))


def get_service_tier(usage: object) -> str | None:
    return read_str(_get(usage, "service_tier"))


def get_request_id(obj: object) -> str | None:
    """The ``request-id`` of a parsed message (``_request_id``), or of a stream or error (its headers)."""
    request_id = getattr(obj, "_request_id", None)
    if isinstance(request_id, str) and request_id:
        return request_id
    request_id = getattr(obj, "request_id", None)  # APIStatusError
    if isinstance(request_id, str) and request_id:
        return request_id
    headers = getattr(getattr(obj, "response", None), "headers", None)
    value = headers.get(REQUEST_ID_HEADER) if headers is not None else None
    return value if isinstance(value, str) and value else None


# --- streams -----------------------------------------------------------------------------------------------


def summarise_stream(events: Sequence[object], dropped: int = 0) -> StreamSummary:
    """Usage and response fields of the raw events seen so far (run once, when the stream ends).

    Events are the SDK's models or their wire JSON (dicts). A stream opens with ``message_start`` and
    closes with ``message_delta`` and ``message_stop``, so only its ends are read: the first
    ``message_start``, and from the back up to the last ``message_delta`` (a stream without one, cut
    short, is read whole).

    A stream that ended before its final ``message_delta`` keeps the input side of ``message_start`` and
    estimates the output from the text seen, extrapolated over the ``dropped`` events (seen, not kept);
    such usage is marked ``estimated``.
    """
    delta, stopped = _closing_events(events)
    start = _message_start(events)
    if start is None:
        return StreamSummary(None, stopped=stopped)
    start_usage = _get(start, "usage")
    if delta is not None:
        usage = _merged_usage(start_usage, _get(delta, "usage"))
        finish_reason = read_str(_get(_get(delta, "delta"), "stop_reason"))
    else:
        usage = _estimated_usage(start_usage, events, dropped)
        finish_reason = None
    return StreamSummary(
        usage,
        response_id=read_str(_get(start, "id")),
        response_model=read_str(_get(start, "model")),
        finish_reason=finish_reason,
        service_tier=get_service_tier(start_usage),
        stopped=stopped,
    )


def _closing_events(events: Sequence[object]) -> tuple[object | None, bool]:
    """The last ``message_delta`` and whether a ``message_stop`` follows it (or, without one, any)."""
    stopped = False
    for event in reversed(events):
        kind = _get(event, "type")
        if kind == "message_delta":
            return event, stopped
        if kind == "message_stop":
            stopped = True
    return None, stopped


def _message_start(events: Sequence[object]) -> object | None:
    """The message of the first ``message_start`` event."""
    for event in events:
        if _get(event, "type") == "message_start":
            return _get(event, "message")
    return None


def streamed_text(events: Iterable[object]) -> str:
    """The generated text (and tool-input JSON, and thinking) of the content deltas among ``events``."""
    parts: list[str] = []
    for event in events:
        if _get(event, "type") != "content_block_delta":
            continue
        delta = _get(event, "delta")
        field = _DELTA_TEXT_FIELDS.get(_get(delta, "type") or "")
        text = _get(delta, field) if field else None
        if isinstance(text, str):
            parts.append(text)
    return "".join(parts)


def _merged_usage(start_usage: object, delta_usage: object) -> Usage:
    fields = {name: _get(start_usage, name) for name in _START_FIELDS}
    for name in _DELTA_FIELDS:
        value = _get(delta_usage, name)
        if value is not None:
            fields[name] = value
    return _usage_from_fields(fields, PROVIDER)


def _estimated_usage(start_usage: object, events: Sequence[object], dropped: int) -> Usage:
    fields = {name: _get(start_usage, name) for name in _START_FIELDS}
    seen = sum(1 for event in events if _get(event, "type") == "content_block_delta") if dropped else 0
    output = extrapolate_tokens(estimate_tokens(streamed_text(events)), seen, dropped)
    fields["output_tokens"] = max(_tokens(fields["output_tokens"]), output)
    fields["output_tokens_details"] = None  # the thinking count is only known from message_delta
    return _usage_from_fields(fields, ESTIMATED)


def _usage_from_fields(fields: Mapping[str, Any], source: UsageSource) -> Usage:
    cache_read = _tokens(fields.get("cache_read_input_tokens"))
    split = fields.get("cache_creation")
    write_5m = _get(split, "ephemeral_5m_input_tokens")
    write_1h = _get(split, "ephemeral_1h_input_tokens")
    # Additive counts: a split larger than its total raises the total *before* it joins the input.
    cache_write = max(
        _tokens(fields.get("cache_creation_input_tokens")), _tokens(write_5m) + _tokens(write_1h)
    )
    if split is None and cache_write:
        # The Messages API reports ``cache_creation`` wherever 1-hour writes exist; a block without it
        # predates them: every write was a 5-minute one. Recorded as such, not left to a guess (#17).
        write_5m = cache_write
    server_tools = fields.get("server_tool_use")
    iterations = fields.get("iterations")
    return Usage.of(
        _tokens(fields.get("input_tokens")) + cache_read + cache_write,
        fields.get("output_tokens"),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=_get(fields.get("output_tokens_details"), "thinking_tokens"),
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        source=source,
        units=None if server_tools is None else _server_tool_units(server_tools),
        iterations=None if not iterations else _iterations(iterations, source),
    )


def _server_tool_units(server_tools: object) -> dict[str, int] | None:
    units: dict[str, int] = {}
    for name, unit in _SERVER_TOOL_UNITS:
        count = _get(server_tools, name)
        if type(count) is int and count > 0:
            units[unit] = count
    return units or None


def _iterations(iterations: object, source: UsageSource) -> list[Iteration]:
    """``usage.iterations`` (advisor, compaction): each with its own usage, and model when it names one."""
    if not isinstance(iterations, list | tuple):
        return []
    steps = []
    for step in iterations:
        kind = read_str(_get(step, "type")) or "message"
        fields = {name: _get(step, name) for name in _START_FIELDS if name != "iterations"}
        steps.append(Iteration(kind, read_str(_get(step, "model")), _usage_from_fields(fields, source)))
    return steps


_MISSING = object()


# --- small readers (SDK models and plain dicts alike; anything unexpected reads as absent) -----------------


def _get(obj: object, name: str) -> Any:
    if type(obj) is dict:
        return obj.get(name)
    if obj is None:
        return None
    namespace = getattr(obj, "__dict__", None)
    if namespace is not None:  # an SDK model's declared fields: a dict lookup
        value = namespace.get(name, _MISSING)
        if value is not _MISSING:
            return value
        extra = getattr(obj, "__pydantic_extra__", _MISSING)
        if extra is not _MISSING and not _class_has(type(obj), name):
            # A pydantic model without the field (an older SDK): asking getattr would cost a raised and
            # caught AttributeError inside pydantic; the extras are where an undeclared field lives.
            return extra.get(name) if type(extra) is dict else None
    value = getattr(obj, name, _MISSING)
    if value is not _MISSING:
        return value
    return obj.get(name) if isinstance(obj, Mapping) else None


def _fields(obj: object, names: tuple[str, ...]) -> Mapping[str, Any]:
    """A mapping whose ``.get(name)`` is ``_get(obj, name)`` for each of ``names``: an SDK model's own
    ``__dict__`` when it has no extras and its class has none of the names as an attribute (then a name
    not in ``__dict__``, a field an older SDK does not declare, reads as absent, as ``_get`` has it)."""
    if type(obj) is dict:
        return obj
    namespace = getattr(obj, "__dict__", None)
    extra = getattr(obj, "__pydantic_extra__", _MISSING)
    if (
        type(namespace) is dict
        and extra is not _MISSING
        and not extra
        and _no_class_attribute(type(obj), names)
    ):
        return namespace
    return {name: _get(obj, name) for name in names}


# (class, names) -> whether none of names is an attribute of the class itself.
_no_class_attributes: dict[tuple[type, tuple[str, ...]], bool] = {}


def _no_class_attribute(cls: type, names: tuple[str, ...]) -> bool:
    key = (cls, names)
    found = _no_class_attributes.get(key)
    if found is None:
        found = not any(_class_has(cls, name) for name in names)
        if len(_no_class_attributes) > 1024:
            _no_class_attributes.clear()
        _no_class_attributes[key] = found
    return found


# (class, name) -> whether the class itself has the attribute (a property, say), found once.
_class_attributes: dict[tuple[type, str], bool] = {}


def _class_has(cls: type, name: str) -> bool:
    key = (cls, name)
    found = _class_attributes.get(key)
    if found is None:
        found = _class_attributes[key] = hasattr(cls, name)
        if len(_class_attributes) > 4096:  # classes made on the fly; never in practice
            _class_attributes.clear()
    return found


def _tokens(value: object) -> int:
    return value if type(value) is int and value > 0 else 0
