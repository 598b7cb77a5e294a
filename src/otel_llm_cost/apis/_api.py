"""What every wire API room provides: the contract between a room and the capture layers. Pure.

A *room* (one module per wire API: OpenAI chat completions, Anthropic messages, Gemini
``generateContent``, Bedrock Converse...) knows its format once: which requests are its own, their
request attributes, their usage block, their stream events, their model and response ids. The capture
layers (the SDK wrappers, the wire capture under httpx / httpx2, the botocore hook, ``llm_call``) are thin
adapters that feed it decoded JSON (or SDK objects, which rooms read the same way) and record what it
returns on an :class:`~otel_llm_cost.instrumentation._invocation.LLMInvocation`.

Nothing here imports OpenTelemetry; attribute names come from :mod:`otel_llm_cost.attributes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

    from otel_llm_cost.usage import Usage

StreamFormat = Literal["sse", "ndjson", "aws-eventstream", "json"]

SSE: Final = "sse"
NDJSON: Final = "ndjson"
AWS_EVENTSTREAM: Final = "aws-eventstream"


@dataclass(slots=True)
class ResponseFields:
    """What a finished call reports: usage and the response attributes of its span."""

    usage: Usage | None = None
    model: str | None = None
    attributes: dict[str, AttributeValue] = dataclass_field(default_factory=dict)
    service_tier: str | None = None
    provider_cost: object = None


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One request as the wire shows it, before it is sent.

    ``body`` is the decoded JSON request body (``None`` when the body is not JSON, e.g. multipart audio
    uploads, or too large to decode); ``path`` has no query string; ``provider`` is the provider table's
    name for the host (:func:`otel_llm_cost.providers.provider_for_host`). ``headers`` are the request's
    before it is sent; the wire capture hands ``response_fields`` / ``stream_fields`` the same request with
    the *response's* headers (where request ids are).
    """

    method: str
    host: str | None
    port: int | None
    path: str
    query: str = ""
    body: Mapping[str, Any] | None = None
    provider: str = "openai"
    headers: Mapping[str, str] = dataclass_field(default_factory=dict)


class WireApi(Protocol):
    """One wire API (a room's public face).

    Every method is pure and must never raise on malformed input: a value it cannot read is absent.
    """

    name: str
    """A stable id, e.g. ``openai.chat_completions``, ``gemini.generate_content``."""

    operation: str
    """``gen_ai.operation.name`` of its calls: ``chat``, ``embeddings``, ``generate_content``..."""

    stream_format: StreamFormat
    """How its streamed responses are framed on the wire."""

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path (no query) is one of this API's. Cheap: it runs for
        every request the capture layer sees."""
        ...

    def request_model(self, request: WireRequest) -> str | None:
        """The model asked for: from the body, or the path (Gemini, Bedrock)."""
        ...

    def is_streaming(self, request: WireRequest) -> bool:
        """Whether the response will be streamed (a body flag, a path such as ``:streamGenerateContent``)."""
        ...

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        """``gen_ai.request.*`` attributes (max tokens, temperature, stream...), known before sending.

        Not ``server.*``, the provider, the operation or the model: the capture layer sets those.
        """
        ...

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        """Usage, response model, id, finish reasons of a complete (not streamed) response body."""
        ...

    def is_content_event(self, event: Any) -> bool:
        """Whether a decoded stream event carries generated output (time to first chunk)."""
        ...

    # Optional: ``is_final_event(event) -> bool``, whether a decoded stream event is the stream's last
    # (Anthropic's ``message_stop``). A client that stops reading there and closes the response has
    # read the whole stream; SSE's ``[DONE]`` says so without it.

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        """Usage and response fields of a stream from the decoded events kept: the opening events through
        the first content-bearing one, then the last few. ``dropped`` events were seen in between but not
        kept; an estimate (marked ``estimated``) extrapolates over them when no usage was reported."""
        ...
