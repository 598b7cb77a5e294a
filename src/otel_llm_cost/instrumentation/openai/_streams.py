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
from otel_llm_cost.instrumentation._stream import AsyncStreamProxy, ChunkTest, StreamState, SyncStreamProxy
from otel_llm_cost.instrumentation.openai import _chunks, _content

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


class _State(StreamState):
    """A stream's state, with what its end needs from the request."""

    __slots__ = ("capture", "request")

    def __init__(
        self,
        invocation: LLMInvocation,
        has_content: ChunkTest,
        hides: ChunkTest | None,
        request: Mapping[str, Any],
        capture: bool,
    ) -> None:
        super().__init__(invocation, has_content, hides)
        self.request = request
        self.capture = capture


def _is_usage_only(chunk: Any) -> bool:
    """The chunk we asked for with ``include_usage``: no choices, only usage.

    getattr: a ``data: null`` event reaches us as ``None``, and it must reach the caller too.
    """
    return not getattr(chunk, "choices", None) and getattr(chunk, "usage", None) is not None


class _Hooks:
    """End-of-stream logic shared by a surface's sync and async proxies (a mixin)."""

    _self_state: _State
    has_content: ChunkTest  # the surface's first-content test

    def __init__(
        self,
        wrapped: Any,
        invocation: LLMInvocation,
        request: Mapping[str, Any],
        hide_usage: bool,
        capture: bool,
    ) -> None:
        # Only the usage chunk we asked for is hidden, so code reading ``chunk.choices[0]`` keeps working.
        hides = _is_usage_only if hide_usage else None
        state = _State(invocation, type(self).has_content, hides, request, capture)
        super().__init__(wrapped, state)  # type: ignore[call-arg]

    def _on_stream_end(self, outcome: str, error: BaseException | None) -> None:
        state = self._self_state
        fields = self._fields(state)
        fields.attributes[attr.LLM_COST_STREAM_CHUNKS] = len(state.chunks)
        state.invocation.output_chunks = len(state.chunks)
        cancelled = outcome == attr.STREAM_CANCELLED
        record_end(state.invocation, fields, outcome, None if cancelled else error)

    def _fields(self, state: _State) -> ResponseFields:
        raise NotImplementedError

    @property
    def response(self) -> Any:
        # The SDK's stream helpers close the HTTP response, not the stream; hear about that too.
        return _ClosingResponse(self.__wrapped__.response, self)  # type: ignore[attr-defined]


class _ChatHooks(_Hooks):
    has_content = staticmethod(_chunks.chat_chunk_has_content)

    def _fields(self, state: _State) -> ResponseFields:
        fields = _chunks.chat_stream_fields(state.chunks, state.request)
        if state.capture:
            fields.attributes.update(_content.chat_stream_output_attributes(state.chunks))
        return fields


class _ResponsesHooks(_Hooks):
    has_content = staticmethod(_chunks.responses_event_has_content)

    def _fields(self, state: _State) -> ResponseFields:
        fields = _chunks.responses_stream_fields(state.chunks, state.request)
        if state.capture:
            text = _chunks.responses_stream_text(state.chunks)
            fields.attributes.update(_content.responses_stream_output_attributes(state.chunks, text))
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
