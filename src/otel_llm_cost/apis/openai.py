"""The OpenAI wire APIs (and every OpenAI-compatible server's): chat completions, Responses, embeddings.

Thin faces over the readers in :mod:`otel_llm_cost.instrumentation.openai._extract` and ``_chunks``,
which read SDK models and decoded JSON alike, so the SDK wrappers, the wire capture and ``llm_call``
count a call the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost.apis._api import SSE, ResponseFields, WireRequest
from otel_llm_cost.instrumentation.openai import _chunks, _extract

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

_NO_SERVER: Final = _extract.Server("openai", None, None)
_EMPTY: Final[Mapping[str, Any]] = {}
_FINAL_RESPONSES_EVENTS: Final = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _body(request: WireRequest) -> Mapping[str, Any]:
    return request.body if request.body is not None else _EMPTY


class _OpenAIApi:
    stream_format: Final = SSE
    _suffix: str = ""

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith(self._suffix)

    def request_model(self, request: WireRequest) -> str | None:
        return _extract.get_request_model(_body(request))

    def is_streaming(self, request: WireRequest) -> bool:
        return _extract.is_streaming(_body(request))


class ChatCompletions(_OpenAIApi):
    name: Final = "openai.chat_completions"
    operation: Final = _extract.CHAT
    _suffix = "/chat/completions"

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        return _extract.chat_request_attributes(_body(request), _NO_SERVER)

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        return _extract.chat_completion_fields(body, _body(request).get("messages"))

    def is_content_event(self, event: Any) -> bool:
        return _chunks.chat_chunk_has_content(event)

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        return _chunks.chat_stream_fields(events, _body(request), dropped)


class Responses(_OpenAIApi):
    name: Final = "openai.responses"
    operation: Final = _extract.CHAT  # the GenAI conventions name Responses API calls "chat" too
    _suffix = "/responses"

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        return _extract.responses_request_attributes(_body(request), _NO_SERVER)

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        return _extract.responses_fields(body, _body(request))

    def is_content_event(self, event: Any) -> bool:
        return _chunks.responses_event_has_content(event)

    def is_final_event(self, event: Any) -> bool:
        return _extract.field(event, "type") in _FINAL_RESPONSES_EVENTS

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        return _chunks.responses_stream_fields(events, _body(request), dropped)


class Embeddings(_OpenAIApi):
    name: Final = "openai.embeddings"
    operation: Final = _extract.EMBEDDINGS
    _suffix = "/embeddings"

    def is_streaming(self, request: WireRequest) -> bool:
        return False

    def request_attributes(self, request: WireRequest) -> dict[str, AttributeValue]:
        return _extract.embeddings_request_attributes(_body(request), _NO_SERVER)

    def response_fields(self, body: Any, request: WireRequest) -> ResponseFields:
        return _extract.embeddings_fields(body, _body(request))

    def is_content_event(self, event: Any) -> bool:
        return False

    def stream_fields(self, events: Sequence[Any], dropped: int, request: WireRequest) -> ResponseFields:
        return ResponseFields()


CHAT_COMPLETIONS: Final = ChatCompletions()
RESPONSES: Final = Responses()
EMBEDDINGS: Final = Embeddings()
