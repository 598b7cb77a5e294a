"""Stream proxies for Chat Completions and Responses streams: the hooks of the shared base.

Per chunk a proxy keeps a reference to the chunk, notes the first content-bearing one, and (only when we
injected ``include_usage``) hides the usage-only chunk so that code reading ``chunk.choices[0]`` keeps
working. Everything else (usage, ids, finish reasons, estimates) is computed once, at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import wrapt

from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation._stream import AsyncStreamProxy, SyncStreamProxy
from otel_llm_cost.instrumentation.openai import _content, _extract

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.instrumentation.openai._extract import ResponseFields


def record_end(
    invocation: LLMInvocation,
    fields: ResponseFields,
    outcome: str | None = None,
    error: BaseException | None = None,
) -> None:
    """Stop (or, given an error, fail) an invocation with what a response or stream reported."""
    if error is None:
        invocation.stop(
            fields.usage,
            response_model=fields.model,
            response_attributes=fields.attributes,
            service_tier=fields.service_tier,
            provider_cost=fields.provider_cost,
            stream_outcome=outcome,
        )
        return
    if fields.model:
        fields.attributes[attr.GEN_AI_RESPONSE_MODEL] = fields.model
    invocation.fail(error, fields.usage, stream_outcome=outcome, response_attributes=fields.attributes)


class _Hooks:
    """State and end-of-stream logic shared by a surface's sync and async proxies (a mixin)."""

    _self_invocation: LLMInvocation

    def __init__(
        self,
        wrapped: Any,
        invocation: LLMInvocation,
        request: Mapping[str, Any],
        hide_usage: bool,
        capture: bool,
    ) -> None:
        super().__init__(wrapped, invocation)  # type: ignore[call-arg]
        self._self_chunks: list[Any] = []
        self._self_request = request
        self._self_hide_usage = hide_usage
        self._self_capture = capture
        self._self_waiting = True  # for the first content-bearing chunk

    def _on_stream_end(self, outcome: str, error: BaseException | None) -> None:
        fields = self._fields()
        cancelled = outcome == attr.STREAM_CANCELLED
        record_end(self._self_invocation, fields, outcome, None if cancelled else error)

    def _fields(self) -> ResponseFields:
        raise NotImplementedError

    @property
    def response(self) -> Any:
        # The SDK's stream helpers close the HTTP response, not the stream; hear about that too.
        return _ClosingResponse(self.__wrapped__.response, self)  # type: ignore[attr-defined]


class _ChatHooks(_Hooks):
    def _on_chunk(self, chunk: Any) -> bool:
        self._self_chunks.append(chunk)
        if self._self_waiting and _extract.chat_chunk_has_content(chunk):
            self._self_waiting = False
            self._self_invocation.first_chunk()
        # Only the chunk we asked for is hidden: no choices, only usage.
        return not (self._self_hide_usage and not chunk.choices and chunk.usage is not None)

    def _fields(self) -> ResponseFields:
        chunks = self._self_chunks
        fields = _extract.chat_stream_fields(chunks, self._self_request.get("messages"))
        if self._self_capture:
            fields.attributes.update(_content.chat_stream_output_attributes(chunks))
        return fields


class _ResponsesHooks(_Hooks):
    def _on_chunk(self, chunk: Any) -> bool:
        self._self_chunks.append(chunk)
        if self._self_waiting and _extract.responses_event_has_content(chunk):
            self._self_waiting = False
            self._self_invocation.first_chunk()
        return True

    def _fields(self) -> ResponseFields:
        events = self._self_chunks
        fields = _extract.responses_stream_fields(events, self._self_request)
        if self._self_capture:
            text = _extract.responses_stream_text(events)
            fields.attributes.update(_content.responses_stream_output_attributes(events, text))
        return fields


class ChatStream(_ChatHooks, SyncStreamProxy):
    """``chat.completions.create(stream=True)`` (and what ``.stream()`` iterates)."""


class AsyncChatStream(_ChatHooks, AsyncStreamProxy):
    """The async twin of :class:`ChatStream`."""


class ResponsesStream(_ResponsesHooks, SyncStreamProxy):
    """``responses.create(stream=True)`` (and what ``.stream()`` iterates)."""


class AsyncResponsesStream(_ResponsesHooks, AsyncStreamProxy):
    """The async twin of :class:`ResponsesStream`."""


class _ClosingResponse(wrapt.ObjectProxy):  # type: ignore[misc]
    """The stream's HTTP response; closing it before the end abandons the stream."""

    def __init__(self, wrapped: Any, stream: _Hooks) -> None:
        super().__init__(wrapped)
        self._self_stream = stream

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_stream._finish(attr.STREAM_ABANDONED)  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_stream._finish(attr.STREAM_ABANDONED)  # type: ignore[attr-defined]
