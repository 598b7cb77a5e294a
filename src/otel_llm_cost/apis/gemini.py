"""Gemini ``generateContent`` / ``streamGenerateContent``, as the Gemini API and Vertex AI serve it, and the
Gemini API's ``embedContent`` / ``batchEmbedContents``. Pure.

Requests name their model in the path (``/v1beta/models/gemini-2.5-flash:generateContent``, Vertex's
``/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-flash:streamGenerateContent``); a
stream asks for ``alt=sse`` and each event is a whole ``GenerateContentResponse`` whose
``usageMetadata`` is cumulative, so the last one counts.

Usage (``usageMetadata``; Gemini API and Vertex AI alike, camelCase on the wire, snake_case in
``google-genai`` objects):

============================ =========================================================================
field                        as :class:`~otel_llm_cost.usage.Usage`
============================ =========================================================================
``promptTokenCount``         input (cached content included)
``toolUsePromptTokenCount``  added to input (billed as input, e.g. code execution results)
``cachedContentTokenCount``  cache reads
``candidatesTokenCount``     output, which excludes thoughts here, so ...
``thoughtsTokenCount``       ... added to output, and reasoning
============================ =========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._modalities import gemini_units
from otel_llm_cost._values import read_double, read_str, read_strings, read_whole
from otel_llm_cost.apis._api import SSE, ResponseFields, WireRequest
from otel_llm_cost.apis._fields import body_of, count, estimated_usage, get, items, make_fields, text
from otel_llm_cost.usage import Usage

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

OPERATION: Final = "generate_content"
_GENERATE: Final = ":generateContent"
_STREAM: Final = ":streamGenerateContent"
# Path segments that precede a model id: base models, tuned models, Vertex endpoints.
_MODEL_PARENTS: Final = ("/models/", "/tunedModels/", "/endpoints/")

# (generationConfig key, its snake_case spelling, attribute, reader)
_PARAMETERS: Final = (
    ("maxOutputTokens", "max_output_tokens", attr.GEN_AI_REQUEST_MAX_TOKENS, count),
    ("temperature", "temperature", attr.GEN_AI_REQUEST_TEMPERATURE, read_double),
    ("topP", "top_p", attr.GEN_AI_REQUEST_TOP_P, read_double),
    ("topK", "top_k", attr.GEN_AI_REQUEST_TOP_K, read_whole),
    ("seed", "seed", attr.GEN_AI_REQUEST_SEED, count),
    ("presencePenalty", "presence_penalty", attr.GEN_AI_REQUEST_PRESENCE_PENALTY, read_double),
    ("frequencyPenalty", "frequency_penalty", attr.GEN_AI_REQUEST_FREQUENCY_PENALTY, read_double),
    ("stopSequences", "stop_sequences", attr.GEN_AI_REQUEST_STOP_SEQUENCES, read_strings),
)


def model_from_path(path: str) -> str | None:
    """``gemini-2.5-flash`` from ``.../models/gemini-2.5-flash:generateContent``."""
    colon = path.rfind(":")
    if colon < 0:
        return None
    for parent in _MODEL_PARENTS:
        start = path.rfind(parent, 0, colon)
        if start >= 0:
            return path[start + len(parent) : colon] or None
    return None


def get_usage(block: object) -> Usage | None:
    """A ``usageMetadata`` block (JSON or a ``google-genai`` object) as :class:`Usage`."""
    prompt = get(block, "promptTokenCount", "prompt_token_count")
    candidates = get(block, "candidatesTokenCount", "candidates_token_count")
    if prompt is None and candidates is None:
        return None
    prompt, candidates = count(prompt), count(candidates)  # malformed counts read as 0
    thoughts = count(get(block, "thoughtsTokenCount", "thoughts_token_count")) or 0
    tool_prompt = count(get(block, "toolUsePromptTokenCount", "tool_use_prompt_token_count")) or 0
    return Usage.of(
        (prompt or 0) + tool_prompt,
        (candidates or 0) + thoughts,
        cache_read_tokens=count(get(block, "cachedContentTokenCount", "cached_content_token_count")) or 0,
        reasoning_tokens=thoughts,
        units=gemini_units(  # tokens by modality, priced apart where the price data does (#17)
            get(block, "promptTokensDetails", "prompt_tokens_details"),
            get(block, "candidatesTokensDetails", "candidates_tokens_details"),
            get(block, "cacheTokensDetails", "cache_tokens_details"),
        ),
    )


def _usage_block(response: object) -> object:
    return get(response, "usageMetadata", "usage_metadata")


# Vertex AI's REST transport with ``enum-encoding=int`` sends the FinishReason enum's numbers.
_FINISH_NUMBERS: Final = {1: "stop", 2: "max_tokens", 3: "safety", 4: "recitation", 5: "other"}


def _finish_reason(reason: object) -> str | None:
    if isinstance(reason, int) and not isinstance(reason, bool):
        return _FINISH_NUMBERS.get(reason)
    # The JSON spells them STOP / MAX_TOKENS; SDK objects hold an enum whose value is that string.
    value = getattr(reason, "value", reason)
    return value.lower() if isinstance(value, str) and value else None


def _finish_reasons(response: object) -> list[str]:
    reasons = (get(candidate, "finishReason", "finish_reason") for candidate in items(response, "candidates"))
    return [found for found in map(_finish_reason, reasons) if found]


def _response_text(response: object) -> str:
    parts: list[str] = []
    for candidate in items(response, "candidates"):
        for part in items(get(candidate, "content"), "parts"):
            parts.append(text(get(part, "text")))
            call = get(part, "functionCall", "function_call")
            if call is not None:
                parts.append(text(get(call, "name")) + str(get(call, "args") or ""))
    return "".join(parts)


def _request_text(body: Mapping[str, Any]) -> str:
    texts = [
        text(get(part, "text"))
        for content in (*items(body, "contents"), get(body, "systemInstruction", "system_instruction"))
        for part in items(content, "parts")
    ]
    return "".join(texts)


class GenerateContent:
    """``POST .../models/{model}:generateContent`` and ``:streamGenerateContent``."""

    name: Final = "gemini.generate_content"
    operation: Final = OPERATION
    stream_format: Final = SSE

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and (path.endswith(_GENERATE) or path.endswith(_STREAM))

    def request_model(self, request: WireRequest) -> str | None:
        return model_from_path(request.path)

    def is_streaming(self, request: WireRequest) -> bool:
        return request.path.endswith(_STREAM)

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        body = body_of(request)
        config = get(body, "generationConfig", "generation_config")
        attributes: dict[str, AttributeValue] = {}
        if isinstance(config, Mapping):
            for name, alias, key, read in _PARAMETERS:
                value = read(get(config, name, alias))
                if value is not None:
                    attributes[key] = value
            choices = count(get(config, "candidateCount", "candidate_count"))
            if choices is not None and choices != 1:
                attributes[attr.GEN_AI_REQUEST_CHOICE_COUNT] = choices
            mime = read_str(get(config, "responseMimeType", "response_mime_type"))
            if mime:
                attributes[attr.GEN_AI_OUTPUT_TYPE] = "json" if mime.endswith("json") else "text"
        attributes[attr.GEN_AI_REQUEST_STREAM] = self.is_streaming(request)
        return attributes

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        if isinstance(body, list):  # a stream asked for without alt=sse arrives as one JSON array
            return self.stream_fields(body, 0, request)
        usage = get_usage(_usage_block(body))
        if usage is None:
            usage = estimated_usage(_request_text(body_of(request)), _response_text(body))
        return make_fields(
            usage,
            read_str(get(body, "modelVersion", "model_version")),
            read_str(get(body, "responseId", "response_id")),
            _finish_reasons(body),
        )

    def is_content_event(self, event: Any) -> bool:
        return any(items(get(candidate, "content"), "parts") for candidate in items(event, "candidates"))

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        usage = model = response_id = None
        reasons: list[str] = []
        for event in reversed(events):  # usage is cumulative: the last report is the total
            usage = usage or get_usage(_usage_block(event))
            model = model or read_str(get(event, "modelVersion", "model_version"))
            response_id = response_id or read_str(get(event, "responseId", "response_id"))
            reasons = reasons or _finish_reasons(event)
            if usage is not None and model and response_id and reasons:
                break
        if usage is None:
            seen = sum(1 for event in events if self.is_content_event(event)) if dropped else 0
            output = "".join(_response_text(event) for event in events)
            usage = estimated_usage(_request_text(body_of(request)), output, seen, dropped)
        return make_fields(usage, model, response_id, reasons, complete=bool(reasons))


class EmbedContent:
    """``POST .../models/{model}:embedContent`` and ``:batchEmbedContents`` (the Gemini API's embeddings).

    Their replies carry no usage: the input is estimated from the texts embedded (marked ``estimated``),
    unless a ``usageMetadata`` block is there.
    """

    name: Final = "gemini.embed_content"
    operation: Final = "embeddings"
    stream_format: Final = SSE  # never streamed

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and (path.endswith(":embedContent") or path.endswith(":batchEmbedContents"))

    def request_model(self, request: WireRequest) -> str | None:
        return model_from_path(request.path)

    def is_streaming(self, request: WireRequest) -> bool:
        return False

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        return {}

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        usage = get_usage(_usage_block(body))
        if usage is None:
            inputs = body_of(request)
            contents = [get(item, "content") for item in items(inputs, "requests")] or [
                get(inputs, "content")
            ]
            texts = (text(get(part, "text")) for content in contents for part in items(content, "parts"))
            usage = estimated_usage("".join(texts), "")
        return make_fields(usage)

    def is_content_event(self, event: Any) -> bool:
        return False

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        return ResponseFields()


GENERATE_CONTENT: Final = GenerateContent()
EMBED_CONTENT: Final = EmbedContent()
