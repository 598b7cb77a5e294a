"""Amazon Bedrock's Converse wire API (``POST /model/{modelId}/converse`` and ``/converse-stream``). Pure.

Converse speaks one format for every model Bedrock serves. Its usage block counts cache tokens
*additively*: ``inputTokens`` excludes ``cacheReadInputTokens`` and ``cacheWriteInputTokens`` (its
``totalTokens`` is the sum of all four), so :func:`additive_usage` folds them into the inclusive input
count of :class:`~otel_llm_cost.usage.Usage`.

The model is not in the body but in the path; ``botocore`` percent-encodes it there (``:`` as ``%3A``,
the ``/`` of an ARN as ``%2F``). Cross-region inference profile ids (``us.anthropic.claude-...``,
``eu.``, ``apac.``, ``global.``) and profile ARNs are kept as the caller gave them: they are what Bedrock
bills, and genai-prices resolves them to the base model's (or the profile's own) price.

Stream events are read in the shape botocore yields them, one key naming the event type
(``{"contentBlockDelta": {...}}``); a wire capture decoding AWS event-stream frames builds the same
shape from the ``:event-type`` header and the JSON payload. The InvokeModel rooms are in
:mod:`.bedrock_invoke`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._estimate import estimate_tokens, extrapolate_tokens
from otel_llm_cost._values import read_double, read_int, read_str, read_strings, read_whole
from otel_llm_cost.apis._api import AWS_EVENTSTREAM, ResponseFields, WireRequest
from otel_llm_cost.usage import ESTIMATED, PROVIDER, Usage, UsageSource

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

PROVIDER_NAME: Final = "aws.bedrock"
CHAT: Final = "chat"
_MODEL_PREFIX: Final = "/model/"
_EMPTY: Final[Mapping[str, Any]] = {}


# --- shared by the Bedrock rooms ---------------------------------------------------------------------------


def model_from_path(path: str, suffix: str) -> str | None:
    """The model id of ``.../model/{modelId}{suffix}``, percent-decoded; ``None`` if the path is not one."""
    start = path.find(_MODEL_PREFIX)
    if start < 0 or not path.endswith(suffix):
        return None
    encoded = path[start + len(_MODEL_PREFIX) : len(path) - len(suffix)]
    return urllib.parse.unquote(encoded) or None


def path_for(model_id: str, suffix: str) -> str:
    """The request path of an operation on ``model_id``, encoded as botocore encodes it."""
    return _MODEL_PREFIX + urllib.parse.quote(model_id, safe="") + suffix


def get(obj: object, name: str) -> Any:
    """``obj[name]`` of a mapping, else ``None`` (decoded JSON and botocore's dicts alike)."""
    return obj.get(name) if isinstance(obj, Mapping) else None


def first(obj: object, name: str) -> Any:
    """The first item of the list ``obj[name]``, else ``None``."""
    items = get(obj, name)
    return items[0] if isinstance(items, list) and items else None


def additive_usage(
    input_tokens: object,
    output_tokens: object,
    cache_read: object = 0,
    cache_write: object = 0,
    source: UsageSource = PROVIDER,
) -> Usage:
    """A usage record from counts where ``input_tokens`` excludes the cache reads and writes."""
    read = Usage.of(cache_read_tokens=cache_read).cache_read_tokens
    write = Usage.of(cache_write_tokens=cache_write).cache_write_tokens
    plain = Usage.of(input_tokens).input_tokens
    return Usage.of(
        plain + read + write, output_tokens, cache_read_tokens=read, cache_write_tokens=write, source=source
    )


def has_count(value: object) -> bool:
    """Whether ``value`` is a token count (int, or a float such as Titan's ``28.0``, or a numeric string)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and value.strip().isdigit()


def finish_attributes(response_id: object, finish_reason: object) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {}
    if read_str(response_id):
        attributes[attr.GEN_AI_RESPONSE_ID] = response_id  # type: ignore[assignment]
    if read_str(finish_reason):
        attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [finish_reason]  # type: ignore[list-item]
    return attributes


def estimated_output(text: str, seen_content: int, dropped: int) -> int:
    """Output tokens of a stream that carried no usage: the kept text's, extrapolated over the dropped."""
    return (
        extrapolate_tokens(estimate_tokens(text), seen_content, dropped) if dropped else estimate_tokens(text)
    )


# --- Converse ----------------------------------------------------------------------------------------------


def converse_usage(usage: object, source: UsageSource = PROVIDER) -> Usage | None:
    """The normalised record of a Converse ``usage`` block; ``None`` when absent."""
    if not isinstance(usage, Mapping) or not has_count(usage.get("inputTokens")):
        return None
    return additive_usage(
        usage.get("inputTokens"),
        usage.get("outputTokens"),
        usage.get("cacheReadInputTokens"),
        usage.get("cacheWriteInputTokens"),
        source,
    )


def converse_request_attributes(body: Mapping[str, Any], *, stream: bool) -> dict[str, AttributeValue]:
    config = get(body, "inferenceConfig") or _EMPTY
    extra = get(body, "additionalModelRequestFields") or _EMPTY
    pairs = (
        (attr.GEN_AI_REQUEST_MAX_TOKENS, read_int(get(config, "maxTokens"))),
        (attr.GEN_AI_REQUEST_TEMPERATURE, read_double(get(config, "temperature"))),
        (attr.GEN_AI_REQUEST_TOP_P, read_double(get(config, "topP"))),
        (attr.GEN_AI_REQUEST_TOP_K, read_whole(get(extra, "top_k"))),
        (attr.GEN_AI_REQUEST_STOP_SEQUENCES, read_strings(get(config, "stopSequences"))),
        (attr.GEN_AI_REQUEST_STREAM, stream),
    )
    return {key: value for key, value in pairs if value is not None}


class _BedrockApi:
    """What the Bedrock rooms share: POST on ``/model/{modelId}{suffix}``."""

    name: str
    operation: str = CHAT
    _suffix: str = ""

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith(self._suffix) and _MODEL_PREFIX in path

    def request_model(self, request: WireRequest) -> str | None:
        return model_from_path(request.path, self._suffix)

    def path(self, model_id: str) -> str:
        return path_for(model_id, self._suffix)

    # Not streamed, unless a stream room says otherwise.
    def is_streaming(self, request: WireRequest) -> bool:
        return False

    def is_content_event(self, event: Any) -> bool:
        return False

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        return ResponseFields()


class Converse(_BedrockApi):
    name: Final = "aws.bedrock.converse"
    stream_format: Final = "json"
    _suffix = "/converse"

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        return converse_request_attributes(request.body or _EMPTY, stream=self.is_streaming(request))

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        return ResponseFields(
            usage=converse_usage(get(body, "usage")),
            attributes=finish_attributes(None, get(body, "stopReason")),
        )


class ConverseStream(Converse):
    name: Final = "aws.bedrock.converse_stream"  # type: ignore[misc]
    stream_format: Final = AWS_EVENTSTREAM  # type: ignore[misc]
    _suffix = "/converse-stream"

    def is_streaming(self, request: WireRequest) -> bool:
        return True

    def is_content_event(self, event: Any) -> bool:
        return isinstance(event, Mapping) and "contentBlockDelta" in event

    def is_final_event(self, event: Any) -> bool:
        """``metadata`` (usage, metrics) closes a ConverseStream, after ``messageStop``."""
        return isinstance(event, Mapping) and "metadata" in event

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        return converse_stream_fields(events, dropped)


def converse_stream_fields(events: Sequence[Any], dropped: int) -> ResponseFields:
    """Usage and finish reason of a ConverseStream from its kept events (``metadata`` carries usage)."""
    usage = None
    finish_reason = None
    for event in reversed(events):
        if usage is None and (metadata := get(event, "metadata")) is not None:
            usage = converse_usage(get(metadata, "usage"))
        if finish_reason is None and (stop := get(event, "messageStop")) is not None:
            finish_reason = get(stop, "stopReason")
    if usage is None and any(get(event, "messageStart") is not None for event in events):
        deltas = [get(get(event, "contentBlockDelta"), "delta") for event in events]
        texts = [delta_text(delta) for delta in deltas if delta is not None]
        usage = Usage.of(0, estimated_output("".join(texts), len(texts), dropped), source=ESTIMATED)
    return ResponseFields(usage=usage, attributes=finish_attributes(None, finish_reason))


def delta_text(delta: object) -> str:
    """The generated text of a Converse (or Nova) ``contentBlockDelta``: text, tool-input JSON, reasoning."""
    text = get(delta, "text")
    if isinstance(text, str):
        return text
    tool_input = get(get(delta, "toolUse"), "input")
    if isinstance(tool_input, str):
        return tool_input
    reasoning = get(get(delta, "reasoningContent"), "text")
    return reasoning if isinstance(reasoning, str) else ""


CONVERSE: Final = Converse()
CONVERSE_STREAM: Final = ConverseStream()
