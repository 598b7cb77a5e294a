"""Ollama's native API: ``/api/chat``, ``/api/generate``, ``/api/embed`` and the older ``/api/embeddings``.
Pure.

Sampling parameters sit under ``options`` (``num_predict`` is the output cap). Chat and generate stream
unless the body says ``"stream": false``, as newline-delimited JSON objects; the last one has
``"done": true`` and the counts: ``prompt_eval_count`` (input) and ``eval_count`` (output, thinking
included). There is no cache or reasoning split and no response id. ``/api/embed`` reports
``prompt_eval_count``; ``/api/embeddings`` reports nothing, so its input is estimated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._values import read_double, read_str, read_strings, read_whole
from otel_llm_cost.apis._api import NDJSON, ResponseFields, WireRequest
from otel_llm_cost.apis._fields import body_of, count, estimated_usage, get, items, make_fields, text
from otel_llm_cost.usage import Usage

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

# (options key, attribute, reader)
_OPTIONS: Final = (
    ("num_predict", attr.GEN_AI_REQUEST_MAX_TOKENS, count),
    ("temperature", attr.GEN_AI_REQUEST_TEMPERATURE, read_double),
    ("top_p", attr.GEN_AI_REQUEST_TOP_P, read_double),
    ("top_k", attr.GEN_AI_REQUEST_TOP_K, read_whole),
    ("seed", attr.GEN_AI_REQUEST_SEED, count),
    ("frequency_penalty", attr.GEN_AI_REQUEST_FREQUENCY_PENALTY, read_double),
    ("presence_penalty", attr.GEN_AI_REQUEST_PRESENCE_PENALTY, read_double),
    ("stop", attr.GEN_AI_REQUEST_STOP_SEQUENCES, read_strings),
)


def get_usage(block: object) -> Usage | None:
    """The counts of a ``done`` object (JSON or an ``ollama`` SDK response)."""
    prompt, generated = get(block, "prompt_eval_count"), get(block, "eval_count")
    if prompt is None and generated is None:
        return None
    return Usage.of(prompt or 0, generated or 0)  # a malformed count is repaired there, never raised


def request_attributes(body: Mapping[str, Any], streaming: bool) -> dict[str, AttributeValue]:
    """The request attributes of a chat or generate body (also used by ``llm_call``)."""
    options = body.get("options")
    attributes: dict[str, AttributeValue] = {}
    if isinstance(options, Mapping):
        for name, key, read in _OPTIONS:
            value = read(options.get(name))
            if value is not None:
                attributes[key] = value
    if body.get("format") == "json" or isinstance(body.get("format"), Mapping):
        attributes[attr.GEN_AI_OUTPUT_TYPE] = "json"
    attributes[attr.GEN_AI_REQUEST_STREAM] = streaming
    return attributes


def is_streaming(body: Mapping[str, Any]) -> bool:
    """Ollama streams unless told not to."""
    return body.get("stream") is not False


def _input_text(body: Mapping[str, Any]) -> str:
    parts = [text(body.get("prompt")), text(body.get("system"))]
    parts.extend(text(get(message, "content")) for message in items(body, "messages"))
    inputs = body.get("input")
    parts.extend(text(i) for i in (inputs if isinstance(inputs, list | tuple) else (inputs,)))
    return "".join(parts)


def _output_text(obj: object) -> str:
    message = get(obj, "message")
    parts = [text(get(obj, "response")), text(get(obj, "thinking"))]
    parts += [text(get(message, "content")), text(get(message, "thinking"))]
    for call in items(message, "tool_calls"):
        function = get(call, "function")
        parts.append(text(get(function, "name")) + str(get(function, "arguments") or ""))
    return "".join(parts)


class _Generation:
    stream_format: Final = NDJSON
    _suffix: str = ""

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith(self._suffix)

    def request_model(self, request: WireRequest) -> str | None:
        return read_str(body_of(request).get("model"))

    def is_streaming(self, request: WireRequest) -> bool:
        return is_streaming(body_of(request))

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        body = body_of(request)
        return request_attributes(body, is_streaming(body))

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        fields = self.stream_fields((body,), 0, request)
        fields.attributes.pop(attr.LLM_COST_STREAM_OUTCOME, None)  # a whole body is never abandoned
        return fields

    def is_content_event(self, event: Any) -> bool:
        return bool(_output_text(event))

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        done = next((event for event in reversed(events) if get(event, "done") is True), None)
        usage = get_usage(done)
        if usage is None:
            seen = sum(1 for event in events if self.is_content_event(event)) if dropped else 0
            output = "".join(_output_text(event) for event in events)
            usage = estimated_usage(_input_text(body_of(request)), output, seen, dropped)
        model = next((get(event, "model") for event in events if get(event, "model")), None)
        return make_fields(usage, model, None, [get(done, "done_reason")], complete=done is not None)


class Chat(_Generation):
    """``POST /api/chat``."""

    name: Final = "ollama.chat"
    operation: Final = "chat"
    _suffix = "/api/chat"


class Generate(_Generation):
    """``POST /api/generate``: a prompt completed, not a conversation."""

    name: Final = "ollama.generate"
    operation: Final = "text_completion"
    _suffix = "/api/generate"


class Embed(_Generation):
    """``POST /api/embed`` and the older ``/api/embeddings`` (one ``prompt``, no counts reported)."""

    name: Final = "ollama.embed"
    operation: Final = "embeddings"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and (path.endswith("/api/embed") or path.endswith("/api/embeddings"))

    def is_streaming(self, request: WireRequest) -> bool:
        return False

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        return {}

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        usage = get_usage(body)
        if usage is None:
            usage = estimated_usage(_input_text(body_of(request)), "")
        return make_fields(usage, get(body, "model"))

    def is_content_event(self, event: Any) -> bool:
        return False

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        return ResponseFields()


CHAT: Final = Chat()
GENERATE: Final = Generate()
EMBED: Final = Embed()
