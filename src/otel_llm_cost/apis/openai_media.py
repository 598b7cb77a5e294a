"""OpenAI's images and audio APIs: image generation and edits, transcription and translation, speech. Pure.

What each model is billed in, and how a call is recorded:

- ``gpt-image-*``: tokens (the response's ``usage``): recorded and priced.
- ``dall-e-2`` / ``dall-e-3``: images. 0 tokens, ``llm_cost.usage.images``, unpriced (genai-prices has no
  per-image price).
- ``gpt-4o-transcribe`` / ``gpt-4o-mini-transcribe``: tokens (``usage.type == "tokens"``): priced.
- ``whisper-1``: audio seconds (``usage.type == "duration"``). 0 tokens, ``llm_cost.usage.audio_seconds``,
  unpriced (a unit :class:`Usage` does not carry).
- ``gpt-4o-mini-tts``: tokens, reported only by an SSE stream (priced); for an audio reply the input is
  estimated from the text.
- ``tts-1`` / ``tts-1-hd``: input characters. 0 tokens, ``llm_cost.usage.input_characters``, unpriced.

Unpriced calls say why in ``llm_cost.cost.unpriced_reason``. Token counts are recorded whole; their
split by modality (image or audio tokens, priced apart by some models) is not yet part of
:class:`Usage`, so such tokens are priced at the model's token rates.

Uploads (transcriptions, image edits) are multipart, not JSON: :func:`form_fields` reads the form's plain
fields (model, stream, language...) from the client's multipart stream without touching the file parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._estimate import estimate_tokens
from otel_llm_cost.apis._api import SSE, ResponseFields, WireRequest
from otel_llm_cost.apis._fields import body_of, count, get, items, make_fields, text
from otel_llm_cost.usage import ESTIMATED, Usage

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

OPERATION: Final = "generate_content"
_PER_IMAGE: Final = "billed per image; genai-prices has no per-image price"
_PER_SECOND: Final = "billed per audio second, a unit the token usage does not carry"
_PER_CHARACTER: Final = "billed per input character, a unit the token usage does not carry"
_FORM_FIELD_LIMIT: Final = 4096  # a plain form field longer than this is not a parameter worth reading


def form_fields(stream: object) -> dict[str, str] | None:
    """The plain fields of an ``httpx`` / ``httpx2`` ``MultipartStream`` (file parts skipped, nothing read
    from them), or ``None`` when ``stream`` is not one."""
    fields = getattr(stream, "fields", None)
    if not isinstance(fields, list):
        return None
    found: dict[str, str] = {}
    for part in fields:
        name, value = getattr(part, "name", None), getattr(part, "value", None)
        if hasattr(part, "filename") or not isinstance(name, str):
            continue  # a file part: the upload itself
        if isinstance(value, bytes) and len(value) <= _FORM_FIELD_LIMIT:
            value = value.decode("utf-8", "replace")
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            found[name] = str(value)[:_FORM_FIELD_LIMIT]
    return found


def _token_usage(block: object) -> Usage | None:
    """An images / audio ``usage`` block of ``input_tokens`` and ``output_tokens``."""
    inp, out = get(block, "input_tokens"), get(block, "output_tokens")
    if inp is None and out is None:
        return None
    details = get(block, "input_tokens_details") or get(block, "input_token_details")
    return Usage.of(inp or 0, out or 0, cache_read_tokens=count(get(details, "cached_tokens")) or 0)


def _is_true(value: object) -> bool:
    return value is True or value == "true"  # a form field arrives as text


def _unpriced(reason: str, unit: str, amount: int | float) -> ResponseFields:
    fields = make_fields(Usage.of(0, 0))
    fields.attributes[unit] = amount
    fields.attributes[attr.LLM_COST_UNPRICED_REASON] = reason
    return fields


class _MediaApi:
    operation: Final = OPERATION
    stream_format: Final = SSE
    _suffixes: tuple[str, ...] = ()

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith(self._suffixes)

    def request_model(self, request: WireRequest) -> str | None:
        model = body_of(request).get("model")
        return model if isinstance(model, str) and model else None

    def is_streaming(self, request: WireRequest) -> bool:
        return _is_true(body_of(request).get("stream"))

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        return {attr.GEN_AI_REQUEST_STREAM: self.is_streaming(request)}

    def is_content_event(self, event: Any) -> bool:
        kind = get(event, "type")
        return isinstance(kind, str) and (kind.endswith(".delta") or kind.endswith("partial_image"))

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        for event in reversed(events):  # the closing event carries the usage
            usage = _token_usage(get(event, "usage"))
            if usage is not None:
                return make_fields(usage)
        return make_fields(None, complete=False)


class Images(_MediaApi):
    """``POST /images/generations``, ``/images/edits``, ``/images/variations``."""

    name: Final = "openai.images"
    _suffixes = ("/images/generations", "/images/edits", "/images/variations")

    def request_model(self, request: WireRequest) -> str | None:
        # The API's default when no model is named (a JSON body or a decoded form without one).
        return super().request_model(request) or ("dall-e-2" if request.body is not None else None)

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        attributes = super().request_attributes(request)
        images = count(body_of(request).get("n"))
        if images is not None and images != 1:
            attributes[attr.GEN_AI_REQUEST_CHOICE_COUNT] = images
        return attributes

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        usage = _token_usage(get(body, "usage"))
        if usage is not None:
            return make_fields(usage)
        return _unpriced(_PER_IMAGE, attr.LLM_COST_USAGE_IMAGES, len(items(body, "data")))


class Transcriptions(_MediaApi):
    """``POST /audio/transcriptions`` and ``/audio/translations`` (multipart uploads)."""

    name: Final = "openai.audio_transcriptions"
    _suffixes = ("/audio/transcriptions", "/audio/translations")

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        block = get(body, "usage")
        usage = _token_usage(block)
        if usage is not None:
            return make_fields(usage)
        seconds = get(block, "seconds") if get(block, "type") == "duration" else get(body, "duration")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
            return _unpriced(_PER_SECOND, attr.LLM_COST_USAGE_AUDIO_SECONDS, seconds)
        return make_fields(None)


class Speech(_MediaApi):
    """``POST /audio/speech``: the reply is audio, streamed as SSE only when ``stream_format`` is ``sse``."""

    name: Final = "openai.audio_speech"
    _suffixes = ("/audio/speech",)

    def is_streaming(self, request: WireRequest) -> bool:
        return body_of(request).get("stream_format") == "sse"

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        """``body`` is ``None`` for an audio reply: what is known comes from the request."""
        usage = _token_usage(get(body, "usage")) if isinstance(body, Mapping) else None
        if usage is not None:
            return make_fields(usage)
        spoken = text(body_of(request).get("input"))
        model = self.request_model(request) or ""
        if model.startswith("tts-"):
            return _unpriced(_PER_CHARACTER, attr.LLM_COST_USAGE_INPUT_CHARACTERS, len(spoken))
        return make_fields(Usage.of(estimate_tokens(spoken), 0, source=ESTIMATED))


IMAGES: Final = Images()
TRANSCRIPTIONS: Final = Transcriptions()
SPEECH: Final = Speech()
