"""Amazon Bedrock's InvokeModel wire API (``POST /model/{modelId}/invoke`` and
``/invoke-with-response-stream``), for the model families Bedrock serves. Pure.

InvokeModel carries each model maker's own body format, so the model families are told apart by the
*shape* of what they send back, not by their model id (which may be an inference profile or an
imported model's ARN):

============================ =============================================== ===============================
family                       usage in the body                               finish reason
============================ =============================================== ===============================
Anthropic (messages)         ``usage.input_tokens`` + cache counts, additive ``stop_reason``
Amazon Nova                  ``usage.inputTokens`` + ``cacheRead/Write...``  ``stopReason``
Amazon Titan                 ``inputTextTokenCount``, ``results[].tokenCount`` ``results[0].completionReason``
Meta Llama                   ``prompt_token_count``, ``generation_token_count`` ``stop_reason``
Mistral                      none                                            ``outputs[0].stop_reason``
Cohere (Command, Command R)  none                                            ``finish_reason``
============================ =============================================== ===============================

Bedrock itself counts every call the same way, whatever the family: the response headers
``X-Amzn-Bedrock-Input-Token-Count`` / ``-Output-Token-Count`` / ``-Cache-Read-Input-Token-Count`` /
``-Cache-Write-Input-Token-Count`` of InvokeModel, and the ``amazon-bedrock-invocationMetrics`` object
of a stream's last chunk. Those are the counts Bedrock bills, so they win over the family's own block
(which can differ: Anthropic's ``message_delta`` may report more output tokens than Bedrock bills). Like
Converse's, Bedrock's input count excludes cache reads and writes; they are folded in.

A stream event is ``{"chunk": {"bytes": ...}}``: the family's own event as JSON bytes (botocore) or
base64 text (the frame payload on the wire).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._values import read_double, read_int, read_str, read_strings, read_whole
from otel_llm_cost.apis import _anthropic_fields as anthropic
from otel_llm_cost.apis._api import AWS_EVENTSTREAM, ResponseFields, WireRequest
from otel_llm_cost.apis.bedrock import (
    CHAT,
    _BedrockApi,
    additive_usage,
    delta_text,
    estimated_output,
    finish_attributes,
    first,
    get,
    has_count,
)
from otel_llm_cost.usage import ESTIMATED, PROVIDER, Usage

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

EMBEDDINGS: Final = "embeddings"
INVOCATION_METRICS: Final = "amazon-bedrock-invocationMetrics"
_HEADER: Final = "x-amzn-bedrock-"
_EMPTY: Final[Mapping[str, Any]] = {}
_CHUNK_LIMIT: Final = 1 << 20  # a chunk larger than this is not decoded (no family sends usage in one)

# Request fields by meaning, across the families' spellings; read in the body and its config objects.
_MAX_TOKENS: Final = (
    "max_tokens",
    "maxTokens",
    "maxTokenCount",
    "max_gen_len",
    "max_new_tokens",
    "max_tokens_to_sample",
)
_TOP_P: Final = ("top_p", "topP", "p")
_TOP_K: Final = ("top_k", "topK", "k")
_STOP: Final = ("stop_sequences", "stopSequences", "stop")
_CONFIGS: Final = ("inferenceConfig", "textGenerationConfig")
_FINISH_KEYS: Final = ("stop_reason", "stopReason", "finish_reason", "completionReason", "finishReason")
_CHOICE_LISTS: Final = ("results", "outputs", "generations", "completions", "choices")
# Running counts in Titan's and Llama's stream chunks (used when Bedrock's own metrics are missing).
_INPUT_COUNTS: Final = ("inputTextTokenCount", "prompt_token_count")
_OUTPUT_COUNTS: Final = ("totalOutputTextTokenCount", "generation_token_count")


# --- request -----------------------------------------------------------------------------------------------


def operation_for(model_id: str | None) -> str:
    """``embeddings`` for embedding models (Titan / Cohere / Nova embed), else ``chat``."""
    return EMBEDDINGS if model_id and "embed" in model_id.lower() else CHAT


def decode_request_body(body: object, limit: int = 4 << 20) -> Mapping[str, Any] | None:
    """An InvokeModel ``body`` parameter (bytes, str or a decoded mapping) as JSON; ``None`` otherwise.

    File-like bodies are not read (that would consume the caller's stream), nor bodies over ``limit``.
    """
    if isinstance(body, Mapping):
        return body
    if not isinstance(body, bytes | bytearray | memoryview | str) or len(body) > limit:
        return None
    try:
        decoded = json.loads(bytes(body) if isinstance(body, memoryview) else body)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, Mapping) else None


def invoke_request_attributes(body: Mapping[str, Any], *, stream: bool) -> dict[str, AttributeValue]:
    """``gen_ai.request.*`` of any family's body: each meaning read under every family's spelling."""
    scopes = [body, *(config for name in _CONFIGS if isinstance(config := body.get(name), Mapping))]
    pairs = (
        (attr.GEN_AI_REQUEST_MAX_TOKENS, _pick(scopes, _MAX_TOKENS, read_int)),
        (attr.GEN_AI_REQUEST_TEMPERATURE, _pick(scopes, ("temperature",), read_double)),
        (attr.GEN_AI_REQUEST_TOP_P, _pick(scopes, _TOP_P, read_double)),
        (attr.GEN_AI_REQUEST_TOP_K, _pick(scopes, _TOP_K, read_whole)),
        (attr.GEN_AI_REQUEST_STOP_SEQUENCES, _pick(scopes, _STOP, read_strings)),
        (attr.GEN_AI_REQUEST_STREAM, stream),
    )
    return {key: value for key, value in pairs if value is not None}


def _pick(scopes: Sequence[Mapping[str, Any]], keys: Sequence[str], read: Any) -> Any:
    for scope in scopes:
        for key in keys:
            if key in scope and (value := read(scope[key])) is not None:
                return value
    return None


# --- response ----------------------------------------------------------------------------------------------


def header_usage(headers: Mapping[str, Any]) -> Usage | None:
    """Bedrock's own counts of an InvokeModel call, from its ``X-Amzn-Bedrock-*-Token-Count`` headers."""
    lowered = {
        str(key).lower(): value for key, value in headers.items() if str(key).lower().startswith(_HEADER)
    }
    if not has_count(lowered.get(_HEADER + "input-token-count")):
        return None
    return additive_usage(
        lowered.get(_HEADER + "input-token-count"),
        lowered.get(_HEADER + "output-token-count"),
        lowered.get(_HEADER + "cache-read-input-token-count"),
        lowered.get(_HEADER + "cache-write-input-token-count"),
    )


def metrics_usage(metrics: object) -> Usage | None:
    """Bedrock's counts in a stream's ``amazon-bedrock-invocationMetrics``."""
    if not has_count(get(metrics, "inputTokenCount")):
        return None
    return additive_usage(
        get(metrics, "inputTokenCount"),
        get(metrics, "outputTokenCount"),
        get(metrics, "cacheReadInputTokenCount"),
        get(metrics, "cacheWriteInputTokenCount"),
    )


def body_usage(body: object) -> Usage | None:
    """The usage a family's response body (or stream chunk) reports, whatever the family; ``None`` if none."""
    usage = get(body, "usage")
    if isinstance(usage, Mapping):
        if "input_tokens" in usage:  # Anthropic
            return anthropic.extract_usage(usage)
        if has_count(usage.get("inputTokens")):  # Nova
            return additive_usage(
                usage.get("inputTokens"),
                usage.get("outputTokens"),
                usage.get("cacheReadInputTokenCount"),
                usage.get("cacheWriteInputTokenCount"),
            )
    if has_count(get(body, "inputTextTokenCount")):  # Titan
        results = get(body, "results")
        if isinstance(results, list):
            output = sum(Usage.of(0, get(result, "tokenCount")).output_tokens for result in results)
            return Usage.of(get(body, "inputTextTokenCount"), output)
    if has_count(get(body, "prompt_token_count")) and has_count(get(body, "generation_token_count")):  # Llama
        return Usage.of(get(body, "prompt_token_count"), get(body, "generation_token_count"))
    billed = get(get(body, "meta"), "billed_units")  # Cohere
    if has_count(get(billed, "input_tokens")):
        return Usage.of(get(billed, "input_tokens"), get(billed, "output_tokens"))
    return metrics_usage(get(body, INVOCATION_METRICS))


def finish_reason(body: object) -> str | None:
    """The finish reason of any family's response body or final stream chunk."""
    for key in _FINISH_KEYS:
        if reason := _reason(get(body, key)):
            return reason
    for name in _CHOICE_LISTS:
        choice = first(body, name)
        for key in _FINISH_KEYS:
            if reason := _reason(get(choice, key)):
                return reason
    return None


def _reason(value: object) -> str | None:
    if isinstance(value, Mapping):  # AI21: {"finishReason": {"reason": "length"}}
        value = value.get("reason")
    return read_str(value)


def invoke_fields(body: object, headers: Mapping[str, Any] | None = None) -> ResponseFields:
    """Usage and response attributes of a complete InvokeModel response (headers win on usage)."""
    usage = header_usage(headers) if headers else None
    if usage is None:
        usage = body_usage(body)
    response_id = get(body, "id")
    attributes = finish_attributes(
        response_id if isinstance(response_id, str) else get(body, "response_id"), finish_reason(body)
    )
    _response_model(attributes, get(body, "model"))
    return ResponseFields(usage=usage, attributes=attributes)


def _response_model(attributes: dict[str, AttributeValue], model: object) -> None:
    # An attribute, not ResponseFields.model: Bedrock bills the model id (or inference profile) asked for,
    # while the body names the maker's model (Anthropic's "claude-3-5-sonnet-20240620").
    if read_str(model) and model != "/opt/ml/model":
        attributes[attr.GEN_AI_RESPONSE_MODEL] = model  # type: ignore[assignment]


# --- streams -----------------------------------------------------------------------------------------------


def decode_chunk(event: object) -> Mapping[str, Any] | None:
    """The family event inside a ``{"chunk": {"bytes": ...}}`` stream event; ``None`` when not one."""
    raw = get(get(event, "chunk"), "bytes")
    if isinstance(raw, str):
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    if not isinstance(raw, bytes | bytearray) or len(raw) > _CHUNK_LIMIT:
        return None
    try:
        decoded = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, Mapping) else None


def chunk_text(chunk: object) -> str:
    """The generated text (or tool-input JSON) a decoded chunk carries, in any family's format."""
    if get(chunk, "type") == "content_block_delta":  # Anthropic messages
        return anthropic.streamed_text((chunk,))
    delta = get(get(chunk, "contentBlockDelta"), "delta")  # Nova: Converse's events
    if delta is not None:
        return delta_text(delta)
    for key in ("outputText", "generation", "completion", "text"):  # Titan, Llama, Claude v2, Cohere R
        text = get(chunk, key)
        if isinstance(text, str):
            return text
    for name in _CHOICE_LISTS:  # Mistral, Cohere Command, OpenAI-style imported models
        text = get(first(chunk, name), "text")
        if isinstance(text, str):
            return text
    return ""


def is_content_chunk(event: object) -> bool:
    chunk = decode_chunk(event)
    return chunk is not None and chunk_text(chunk) != ""


def invoke_stream_fields(events: Sequence[Any], dropped: int) -> ResponseFields:
    """Usage and response fields of an InvokeModelWithResponseStream from its kept events."""
    chunks = [chunk for event in events if (chunk := decode_chunk(event)) is not None]
    usage = next((u for c in reversed(chunks) if (u := metrics_usage(get(c, INVOCATION_METRICS)))), None)
    summary = anthropic.summarise_stream(chunks, dropped) if _is_anthropic(chunks) else None
    if usage is None and summary is not None:
        usage = summary.usage
    if usage is None:
        usage = _family_stream_usage(chunks, dropped)
    reason = summary.finish_reason if summary is not None else None
    reason = reason or next((r for c in reversed(chunks) if (r := _chunk_finish(c))), None)
    attributes = finish_attributes(summary.response_id if summary is not None else None, reason)
    _response_model(attributes, summary.response_model if summary is not None else None)
    return ResponseFields(usage=usage, attributes=attributes)


def _is_anthropic(chunks: Sequence[Mapping[str, Any]]) -> bool:
    return any(chunk.get("type") == "message_start" for chunk in chunks)


def _chunk_finish(chunk: Mapping[str, Any]) -> str | None:
    stop = chunk.get("messageStop")  # Nova
    return read_str(get(stop, "stopReason")) if stop is not None else finish_reason(chunk)


def _family_stream_usage(chunks: Sequence[Mapping[str, Any]], dropped: int) -> Usage | None:
    """Usage without Bedrock's metrics (a guardrail's answer, a stream cut short): Nova's final ``metadata``,
    else the counts Titan and Llama chunks carry, else an estimate."""
    for chunk in reversed(chunks):
        usage = body_usage(get(chunk, "metadata"))
        if usage is not None:
            return usage
    if not chunks:
        return None
    prompt = _first_count(chunks, _INPUT_COUNTS)
    last = next(
        (chunk for chunk in reversed(chunks) if _first_count((chunk,), _OUTPUT_COUNTS) is not None), None
    )
    if last is not None:
        # Titan sends its total only in its last chunk; Llama's running count is final with a stop reason.
        source = PROVIDER if "totalOutputTextTokenCount" in last or finish_reason(last) else ESTIMATED
        return Usage.of(prompt or 0, _first_count((last,), _OUTPUT_COUNTS), source=source)
    texts = [text for chunk in chunks if (text := chunk_text(chunk))]
    output = estimated_output("".join(texts), len(texts), dropped)
    return Usage.of(prompt or 0, output, source=ESTIMATED)


def _first_count(chunks: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> object:
    for chunk in chunks:
        for key in keys:
            if has_count(value := chunk.get(key)):
                return value
    return None


# --- the rooms ---------------------------------------------------------------------------------------------


class InvokeModel(_BedrockApi):
    name: Final = "aws.bedrock.invoke_model"
    stream_format: Final = "json"
    _suffix = "/invoke"

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        return invoke_request_attributes(request.body or _EMPTY, stream=self.is_streaming(request))

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        return invoke_fields(body)


class InvokeModelWithResponseStream(InvokeModel):
    name: Final = "aws.bedrock.invoke_model_with_response_stream"  # type: ignore[misc]
    stream_format: Final = AWS_EVENTSTREAM  # type: ignore[misc]
    _suffix = "/invoke-with-response-stream"

    def is_streaming(self, request: WireRequest) -> bool:
        return True

    def is_content_event(self, event: Any) -> bool:
        return is_content_chunk(event)

    def is_final_event(self, event: Any) -> bool:
        """Bedrock's ``amazon-bedrock-invocationMetrics`` come with the last chunk, whatever the family."""
        chunk = decode_chunk(event)
        return chunk is not None and INVOCATION_METRICS in chunk

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        return invoke_stream_fields(events, dropped)


INVOKE_MODEL: Final = InvokeModel()
INVOKE_MODEL_WITH_RESPONSE_STREAM: Final = InvokeModelWithResponseStream()
