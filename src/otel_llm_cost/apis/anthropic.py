"""The Anthropic Messages wire API (``POST /v1/messages``), as Anthropic, Bedrock and Vertex AI serve it.

A thin face over :mod:`otel_llm_cost.instrumentation.anthropic._extract`, which reads SDK models and
decoded JSON alike (additive cache counts folded into the inclusive input, the cache-write TTL split).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._values import read_str
from otel_llm_cost.apis._api import SSE, ResponseFields, WireRequest
from otel_llm_cost.instrumentation.anthropic import _extract

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

_EMPTY: Final[Mapping[str, Any]] = {}


def _body(request: WireRequest) -> Mapping[str, Any]:
    return request.body if request.body is not None else _EMPTY


class Messages:
    name: Final = "anthropic.messages"
    operation: Final = _extract.OPERATION
    stream_format: Final = SSE

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith("/v1/messages")

    def request_model(self, request: WireRequest) -> str | None:
        return _extract.get_request_model(_body(request))

    def is_streaming(self, request: WireRequest) -> bool:
        return _extract.is_streaming(_body(request))

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        body = _body(request)
        return _extract.request_attributes(body, stream=self.is_streaming(request), server=(None, None))

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        return ResponseFields(
            usage=_extract.extract_usage(_extract._get(body, "usage")),
            model=_extract.get_response_model(body),
            attributes=_extract.message_attributes(body, request.headers.get(_extract.REQUEST_ID_HEADER)),
            service_tier=_extract.get_service_tier(_extract._get(body, "usage")),
        )

    def is_content_event(self, event: Any) -> bool:
        return _extract._get(event, "type") == "content_block_delta"

    def is_final_event(self, event: Any) -> bool:
        return _extract._get(event, "type") == "message_stop"

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        summary = _extract.summarise_stream(events, dropped)
        attributes = _extract.response_attributes(
            summary.response_id,
            summary.finish_reason,
            read_str(request.headers.get(_extract.REQUEST_ID_HEADER)),
        )
        if not summary.stopped:
            attributes[attr.LLM_COST_STREAM_OUTCOME] = attr.STREAM_ABANDONED
        return ResponseFields(summary.usage, summary.response_model, attributes, summary.service_tier)


MESSAGES: Final = Messages()
