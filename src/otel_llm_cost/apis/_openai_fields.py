"""Pure functions from OpenAI SDK requests and responses to span fields and :class:`Usage`.

Nothing here touches a span; streams are read at their end by ``_chunks.py`` with these helpers. Every
OpenAI-compatible provider's usage block (OpenAI, Azure, DeepSeek's ``prompt_cache_hit_tokens``, Together's
top-level ``cached_tokens``, Groq's ``x_groq.usage``, OpenRouter's ``usage.cost``) is mapped into one
:class:`Usage` here and nowhere else.

Values are read with :func:`field`, which looks in a model's ``__dict__`` and pydantic extras instead of
``getattr``: a missing attribute on a pydantic model costs an exception, and SDK versions differ in which
fields are declared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import _modalities
from otel_llm_cost import attributes as attr
from otel_llm_cost._estimate import estimate_tokens, extrapolate_tokens
from otel_llm_cost._values import drop_none, read_double, read_number, read_str
from otel_llm_cost.apis._api import ResponseFields
from otel_llm_cost.apis._fields import add_parameters
from otel_llm_cost.providers import provider_for_host
from otel_llm_cost.usage import ESTIMATED, Usage

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

CHAT: Final = "chat"
EMBEDDINGS: Final = "embeddings"
AZURE: Final = "azure.ai.openai"

_EMPTY: Final[dict[str, Any]] = {}
# Per-message framing tokens of the chat format (role, separators), as OpenAI's counting guide gives.
_TOKENS_PER_MESSAGE: Final = 3
_REPLY_PRIMING_TOKENS: Final = 3
_RESPONSES_FINISH: Final = {"completed": "stop", "failed": "error", "cancelled": "cancelled"}


@dataclass(frozen=True, slots=True)
class Server:
    """Where a client sends its requests."""

    provider: str
    address: str | None
    port: int | None
    attributes: Mapping[str, AttributeValue] = dataclass_field(init=False, compare=False, repr=False)
    """``server.address`` and ``server.port`` (those known), made once per client."""

    def __post_init__(self) -> None:
        known = ((attr.SERVER_ADDRESS, self.address), (attr.SERVER_PORT, self.port))
        object.__setattr__(self, "attributes", {key: value for key, value in known if value is not None})


# --- reading untrusted objects ----------------------------------------------------------------------


def field(obj: object, name: str) -> Any:
    """``obj.name`` for an SDK model (declared field or pydantic extra) or ``obj[name]`` for a dict."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, "__dict__", _EMPTY).get(name)
    if value is None:
        extra = getattr(obj, "__pydantic_extra__", None)
        if extra:
            value = extra.get(name)
    return value


def fields_of(obj: object) -> Mapping[str, Any]:
    """Every :func:`field` of ``obj`` at once (``fields_of(obj).get(name) == field(obj, name)``): one
    mapping to read several fields from with C-speed lookups."""
    if obj is None:
        return _EMPTY
    if isinstance(obj, dict):
        return obj
    namespace = getattr(obj, "__dict__", _EMPTY)
    extra = getattr(obj, "__pydantic_extra__", None)
    if not extra:
        return namespace  # type: ignore[no-any-return]
    return {**extra, **{name: value for name, value in namespace.items() if value is not None}}


def items(obj: object, name: str) -> Sequence[Any]:
    """``field(obj, name)`` when it is a list or tuple, else empty: a malformed value is never iterated."""
    value = field(obj, name)
    return value if isinstance(value, list | tuple) else ()


def read_int(value: object) -> int | None:
    return value if type(value) is int else None


# --- client -----------------------------------------------------------------------------------------


def get_server(client: object) -> Server:
    """Provider, host and port of an SDK client, from its base URL and class (Azure clients)."""
    url = getattr(client, "base_url", None)
    host = read_str(getattr(url, "host", None))
    port = read_int(getattr(url, "port", None))
    if port is None and host is not None:
        port = 80 if getattr(url, "scheme", "https") == "http" else 443
    if any(cls.__name__ == "BaseAzureClient" for cls in type(client).__mro__):
        provider = AZURE
    else:
        provider = provider_for_host(host, port)
    return Server(provider, host, port)


# --- requests ---------------------------------------------------------------------------------------


def get_request_model(kwargs: Mapping[str, Any]) -> str | None:
    return read_str(kwargs.get("model"))


def is_streaming(kwargs: Mapping[str, Any]) -> bool:
    return kwargs.get("stream") is True


def _stop_sequences(stop: object) -> list[str] | None:
    if type(stop) is str:
        return [stop]
    if isinstance(stop, list | tuple) and stop and all(type(s) is str for s in stop):
        return list(stop)
    return None


def _output_type(response_format: object) -> str | None:
    if isinstance(response_format, type):  # a pydantic class given to .parse()
        return "json"
    kind = field(response_format, "type") if isinstance(response_format, dict) else None
    if kind in ("json_schema", "json_object"):
        return "json"
    return "text" if kind == "text" else None


def _choice_count(value: object) -> int | None:
    count = read_int(value)
    return count if count != 1 else None


# (keyword argument, attribute, reader) of the chat request parameters recorded as they are.
_CHAT_PARAMETERS: Final = (
    ("temperature", attr.GEN_AI_REQUEST_TEMPERATURE, read_double),
    ("top_p", attr.GEN_AI_REQUEST_TOP_P, read_double),
    ("frequency_penalty", attr.GEN_AI_REQUEST_FREQUENCY_PENALTY, read_double),
    ("presence_penalty", attr.GEN_AI_REQUEST_PRESENCE_PENALTY, read_double),
    ("seed", attr.GEN_AI_REQUEST_SEED, read_int),
    ("n", attr.GEN_AI_REQUEST_CHOICE_COUNT, _choice_count),
    ("stop", attr.GEN_AI_REQUEST_STOP_SEQUENCES, _stop_sequences),
    ("response_format", attr.GEN_AI_OUTPUT_TYPE, _output_type),
    ("service_tier", attr.OPENAI_REQUEST_SERVICE_TIER, read_str),
    ("reasoning_effort", attr.GEN_AI_REQUEST_REASONING_LEVEL, read_str),
)


def chat_request_attributes(kwargs: Mapping[str, Any], server: Server) -> dict[str, AttributeValue]:
    """Request attributes of ``chat.completions.create`` / ``.parse`` (known before the call)."""
    get = kwargs.get
    attributes = server_attributes(server)
    max_tokens = read_int(get("max_completion_tokens"))
    if max_tokens is None:
        max_tokens = read_int(get("max_tokens"))
    if max_tokens is not None:
        attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    add_parameters(attributes, kwargs, _CHAT_PARAMETERS)
    attributes[attr.GEN_AI_REQUEST_STREAM] = get("stream") is True
    return attributes


def server_attributes(server: Server) -> dict[str, AttributeValue]:
    """``server.address`` and ``server.port``, when known (a new dict)."""
    return dict(server.attributes)


def responses_request_attributes(kwargs: Mapping[str, Any], server: Server) -> dict[str, AttributeValue]:
    """Request attributes of ``responses.create`` / ``.parse`` / ``.stream``."""
    get = kwargs.get
    text = get("text")
    conversation = get("conversation")
    if not isinstance(conversation, str):
        conversation = field(conversation, "id") if isinstance(conversation, dict) else None
    output_type = _output_type(field(text, "format")) if isinstance(text, dict) else None
    if output_type is None and isinstance(get("text_format"), type):
        output_type = "json"
    attributes = server_attributes(server)
    attributes.update(
        drop_none(
            (
                (attr.GEN_AI_REQUEST_MAX_TOKENS, read_int(get("max_output_tokens"))),
                (attr.GEN_AI_REQUEST_TEMPERATURE, read_double(get("temperature"))),
                (attr.GEN_AI_REQUEST_TOP_P, read_double(get("top_p"))),
                (attr.GEN_AI_REQUEST_STREAM, get("stream") is True),
                (attr.GEN_AI_OUTPUT_TYPE, output_type),
                (attr.GEN_AI_CONVERSATION_ID, read_str(conversation)),
                (attr.OPENAI_REQUEST_SERVICE_TIER, read_str(get("service_tier"))),
                (attr.GEN_AI_REQUEST_REASONING_LEVEL, read_str(field(get("reasoning"), "effort"))),
                (attr.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID, read_str(get("previous_response_id"))),
            )
        )
    )
    return attributes


def embeddings_request_attributes(kwargs: Mapping[str, Any], server: Server) -> dict[str, AttributeValue]:
    """Request attributes of ``embeddings.create``."""
    attributes = server_attributes(server)
    encoding = read_str(kwargs.get("encoding_format"))
    if encoding:
        attributes[attr.GEN_AI_REQUEST_ENCODING_FORMATS] = [encoding]
    dimensions = read_int(kwargs.get("dimensions"))
    if dimensions is not None:
        attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
    return attributes


def _caller_stream_options(kwargs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``stream_options`` the caller sends: the argument, or ``extra_body``'s (merged into the body
    last by the SDK, so it wins)."""
    extra = kwargs.get("extra_body")
    options = extra.get("stream_options") if isinstance(extra, Mapping) else None
    if isinstance(options, Mapping):
        return options
    options = kwargs.get("stream_options")
    return options if isinstance(options, Mapping) else None


def usage_requested(kwargs: Mapping[str, Any]) -> bool:
    """Whether the caller's own request asks for a stream's usage chunk (``stream_options.include_usage``,
    as an argument or in ``extra_body``)."""
    options = _caller_stream_options(kwargs)
    return options is not None and options.get("include_usage") is True


def with_usage_requested(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The kwargs of a chat stream with ``stream_options.include_usage`` turned on, or ``None``.

    ``None`` means "leave the request alone": not a stream, or the caller chose ``include_usage``
    (either way) themselves.
    """
    if kwargs.get("stream") is not True:
        return None
    chosen = _caller_stream_options(kwargs)
    if chosen is not None and "include_usage" in chosen:
        return None
    extra = kwargs.get("extra_body")
    if isinstance(extra, Mapping) and "stream_options" in extra:
        return None  # the caller's extra_body would override ours: leave their request alone
    options = kwargs.get("stream_options")
    options = {**options, "include_usage": True} if isinstance(options, Mapping) else {"include_usage": True}
    changed = dict(kwargs)
    changed["stream_options"] = options
    return changed


# --- usage ------------------------------------------------------------------------------------------


def _largest(*values: object) -> int | None:
    found = [value for value in values if type(value) is int]
    return max(found) if found else None


def get_chat_usage(usage: object) -> Usage | None:
    """A Chat Completions (or compatible) usage block as :class:`Usage`; ``None`` when absent or empty."""
    get = fields_of(usage).get
    prompt = get("prompt_tokens")
    completion = get("completion_tokens")
    if prompt is None and completion is None:
        return None
    details_block = get("prompt_tokens_details") or get("prompt_token_details")
    details = fields_of(details_block)
    cache_read = _largest(
        details.get("cached_tokens"),
        get("prompt_cache_hit_tokens"),  # DeepSeek
        get("cached_tokens"),  # Together
    )
    completion_block = get("completion_tokens_details")
    return Usage.of(
        prompt,
        completion,
        cache_read_tokens=cache_read or 0,
        cache_write_tokens=details.get("cache_write_tokens") or 0,
        reasoning_tokens=fields_of(completion_block).get("reasoning_tokens") or 0,
        units=_modality_units(details_block, completion_block),
    )


# (direction, modality, details field, Usage unit) of the modality counts in usage details blocks.
_MODALITY_FIELDS: Final = tuple(
    (direction, modality, f"{modality}_tokens", f"{direction}_{modality}_tokens")
    for direction in ("input", "output")
    for modality in ("audio", "image")
)


def _modality_units(input_details: object, output_details: object) -> dict[str, int] | None:
    """Audio and image tokens of a usage block's details (``*_tokens_details``), as :class:`Usage` units.

    Most calls report ``audio_tokens: 0`` or nothing: a lookup each, and no dict built.
    """
    found = None
    inputs, outputs = fields_of(input_details), fields_of(output_details)
    for direction, _, name, unit in _MODALITY_FIELDS:
        count = (inputs if direction == "input" else outputs).get(name)
        if type(count) is int and count > 0:
            found = found or {}
            found[unit] = count
    if found is not None and input_details is not None:
        cached = field(input_details, "cached_tokens_details")  # the Realtime / audio models' split
        for modality in ("audio", "image"):
            _modalities.add_count(found, f"cache_{modality}_read_tokens", field(cached, f"{modality}_tokens"))
    return found


# Responses API output items billed per call, by genai-prices unit.
_TOOL_CALL_UNITS: Final = {
    "web_search_call": "web_searches",
    "file_search_call": "storage_searches",
    "code_interpreter_call": "code_executions",
}


def tool_call_units(output: object, units: dict[str, int] | None) -> dict[str, int] | None:
    """``units`` plus the server-side tool calls among a Response's ``output`` items (a new dict if any)."""
    for item in output if isinstance(output, list | tuple) else ():
        unit = _TOOL_CALL_UNITS.get(field(item, "type"))  # type: ignore[arg-type]
        if unit is not None:
            units = dict(units or {})
            units[unit] = units.get(unit, 0) + 1
    return units


def get_responses_usage(usage: object, output: object = None) -> Usage | None:
    """A Responses API (or image generation) usage block as :class:`Usage`; ``output``, the Response's
    output items, adds its server-side tool calls (web searches...)."""
    inp = field(usage, "input_tokens")
    out = field(usage, "output_tokens")
    if inp is None and out is None:
        return None
    details = field(usage, "input_tokens_details")
    output_details = field(usage, "output_tokens_details")
    return Usage.of(
        inp,
        out,
        cache_read_tokens=field(details, "cached_tokens") or 0,
        cache_write_tokens=field(details, "cache_write_tokens") or 0,
        reasoning_tokens=field(output_details, "reasoning_tokens") or 0,
        units=_modality_units(details, output_details)
        if output is None
        else tool_call_units(output, _modality_units(details, output_details)),
    )


def get_embeddings_usage(usage: object) -> Usage | None:
    prompt = field(usage, "prompt_tokens")
    if prompt is None:
        prompt = field(usage, "total_tokens")
    return None if prompt is None else Usage.of(prompt, 0)


def get_provider_cost(usage: object) -> object:
    """The price the provider itself reported (OpenRouter's ``usage.cost``), if any."""
    cost = field(usage, "cost")
    return cost if read_number(cost) is not None else None


# --- estimates ------------------------------------------------------------------------------------


def text_of(content: object) -> str:
    """The text of a message ``content``: a string, or a list of parts with ``text``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return "".join(text_of(field(part, "text") or field(part, "content")) for part in content)
    return ""


def estimate_chat_input(messages: object) -> int:
    """Input tokens of a list of chat messages, estimated offline."""
    if not isinstance(messages, list | tuple):  # never iterate a caller's one-shot iterable
        return 0
    total = _REPLY_PRIMING_TOKENS
    for message in messages:
        total += _TOKENS_PER_MESSAGE + estimate_tokens(text_of(field(message, "content")))
        for call in items(message, "tool_calls"):
            function = field(call, "function")
            total += estimate_tokens((field(function, "name") or "") + (field(function, "arguments") or ""))
    return total


def estimate_responses_input(kwargs: Mapping[str, Any]) -> int:
    """Input tokens of a Responses request (``instructions`` and ``input``), estimated offline."""
    instructions = kwargs.get("instructions")
    total = estimate_tokens(instructions) if isinstance(instructions, str) else 0
    items = kwargs.get("input")
    if isinstance(items, str):
        return total + _TOKENS_PER_MESSAGE + estimate_tokens(items)
    if not isinstance(items, list | tuple):
        return total
    for item in items:
        text = text_of(field(item, "content")) or (field(item, "arguments") or "") + (
            field(item, "output") or ""
        )
        total += _TOKENS_PER_MESSAGE + estimate_tokens(text if isinstance(text, str) else "")
    return total


def estimate_embeddings_input(kwargs: Mapping[str, Any]) -> int:
    items = kwargs.get("input")
    if isinstance(items, str):
        return estimate_tokens(items)
    if isinstance(items, list | tuple):
        return sum(
            estimate_tokens(i) if isinstance(i, str) else len(i) if isinstance(i, list) else 1 for i in items
        )
    return 0


def estimated(input_tokens: int, output_text: str, seen_chunks: int = 0, unseen_chunks: int = 0) -> Usage:
    """Estimated usage; ``output_text`` came from ``seen_chunks`` content chunks of a stream that had
    ``unseen_chunks`` more (counted, not kept)."""
    output_tokens = extrapolate_tokens(estimate_tokens(output_text), seen_chunks, unseen_chunks)
    return Usage.of(input_tokens, output_tokens, source=ESTIMATED)


# --- non-streamed responses -------------------------------------------------------------------------


def chat_completion_fields(completion: object, messages: object = None) -> ResponseFields:
    """Fields of a ``ChatCompletion`` (or ``ParsedChatCompletion``).

    A server that sent no usage gets an estimate from ``messages`` and the reply, when messages are given.
    """
    get = fields_of(completion).get
    usage_block = get("usage")
    choices = get("choices")
    choices = choices if isinstance(choices, list | tuple) else ()
    reasons = [r for r in (field(c, "finish_reason") for c in choices) if r]
    usage = get_chat_usage(usage_block)
    if usage is None and messages is not None:
        usage = estimated(estimate_chat_input(messages), _chat_reply_text(choices))
    return make_fields(
        usage=usage,
        model=read_str(get("model")),
        response_id=read_str(get("id")),
        finish_reasons=reasons,
        service_tier=read_str(get("service_tier")),
        provider_cost=get_provider_cost(usage_block),
        system_fingerprint=read_str(get("system_fingerprint")),
    )


def _chat_reply_text(choices: Iterable[object]) -> str:
    parts: list[str] = []
    for choice in choices:
        message = field(choice, "message")
        parts.append(text_of(field(message, "content")))
        for call in items(message, "tool_calls"):
            function = field(call, "function")
            parts.append((field(function, "name") or "") + (field(function, "arguments") or ""))
    return "".join(parts)


def responses_fields(response: object, kwargs: Mapping[str, Any] | None = None) -> ResponseFields:
    """Fields of a Responses API ``Response``; usage estimated from ``kwargs`` when the server sent none."""
    usage_block = field(response, "usage")
    usage = get_responses_usage(usage_block, field(response, "output"))
    if usage is None and kwargs is not None:
        output = "".join(text_of(field(item, "content")) for item in items(response, "output"))
        usage = estimated(estimate_responses_input(kwargs), output)
    return make_fields(
        usage=usage,
        model=read_str(field(response, "model")),
        response_id=read_str(field(response, "id")),
        finish_reasons=_responses_finish_reasons(response),
        service_tier=read_str(field(response, "service_tier")),
        provider_cost=get_provider_cost(usage_block),
    )


def embeddings_fields(response: object, kwargs: Mapping[str, Any]) -> ResponseFields:
    """Fields of a ``CreateEmbeddingResponse``; input tokens estimated when a server sent no usage."""
    usage = get_embeddings_usage(field(response, "usage"))
    if usage is None:
        usage = Usage.of(estimate_embeddings_input(kwargs), 0, source=ESTIMATED)
    return make_fields(usage=usage, model=read_str(field(response, "model")))


def responses_finish_reason(response: object) -> str | None:
    """The finish reason of a Responses API response, as on the span (``completed`` is ``stop``)."""
    reasons = _responses_finish_reasons(response)
    return reasons[0] if reasons else None


def _responses_finish_reasons(response: object) -> list[str]:
    status = field(response, "status")
    if status == "incomplete":
        reason = field(field(response, "incomplete_details"), "reason")
        return [reason if isinstance(reason, str) else "incomplete"]
    reason = _RESPONSES_FINISH.get(status) if isinstance(status, str) else None
    return [reason] if reason else []


def make_fields(
    *,
    usage: Usage | None,
    model: str | None,
    response_id: str | None = None,
    finish_reasons: Sequence[str] = (),
    service_tier: str | None = None,
    provider_cost: object = None,
    system_fingerprint: str | None = None,
) -> ResponseFields:
    attributes: dict[str, AttributeValue] = {}
    if response_id:
        attributes[attr.GEN_AI_RESPONSE_ID] = response_id
    if finish_reasons:
        attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = list(finish_reasons)
    if service_tier:
        attributes[attr.OPENAI_RESPONSE_SERVICE_TIER] = service_tier
    if system_fingerprint:
        attributes[attr.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = system_fingerprint
    return ResponseFields(usage, model, attributes, service_tier, provider_cost)
