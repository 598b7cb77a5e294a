"""Stream proxies for Chat Completions and Responses streams, and their end-of-stream recorders.

Per chunk a stream counts the chunk, keeps it if the end may need it, notes the first content-bearing one,
and (only when we injected ``include_usage``) hides the usage-only chunk so that code reading
``chunk.choices[0]`` keeps working. Everything else (usage, ids, finish reasons, estimates) is computed
once, at the end, from the chunks kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import wrapt

from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation._invocation import record_end as record_end  # shared by every layer
from otel_llm_cost.instrumentation._stream import (
    AsyncStreamProxy,
    ChunkTest,
    StreamRecorder,
    SyncStreamProxy,
)
from otel_llm_cost.instrumentation.openai import _chunks, _content, _extract

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.instrumentation.openai._extract import ResponseFields


def _is_usage_only(chunk: Any) -> bool:
    """The chunk we asked for with ``include_usage``: no choices, only usage.

    getattr: a ``data: null`` event reaches us as ``None``, and it must reach the caller too.
    """
    return not getattr(chunk, "choices", None) and getattr(chunk, "usage", None) is not None


class _Recorder(StreamRecorder):
    """A stream's end, with what it needs from the request."""

    __slots__ = ("capture", "request")

    content_test: ClassVar[ChunkTest]  # the surface's first-content test

    def __init__(
        self, invocation: LLMInvocation, request: Mapping[str, Any], usage_injected: bool, capture: bool
    ) -> None:
        # Only the usage chunk we asked for is hidden, so code reading ``chunk.choices[0]`` keeps working.
        hides = _is_usage_only if usage_injected else None
        keep_all = capture or self.needs_every_chunk(request, usage_injected)
        super().__init__(invocation, type(self).content_test, hides, keep_all=keep_all)
        self.request = request
        self.capture = capture

    @staticmethod
    def needs_every_chunk(request: Mapping[str, Any], usage_injected: bool) -> bool:
        return False

    def on_end(self, outcome: str, error: BaseException | None) -> None:
        fields = self.fields()
        fields.attributes[attr.LLM_COST_STREAM_CHUNKS] = self.count
        self.invocation.output_chunks = self.count
        cancelled = outcome == attr.STREAM_CANCELLED
        record_end(self.invocation, fields, outcome, None if cancelled else error)

    def fields(self) -> ResponseFields:
        raise NotImplementedError


class _ChatRecorder(_Recorder):
    __slots__ = ()
    content_test = staticmethod(_chunks.chat_chunk_has_content)

    @staticmethod
    def needs_every_chunk(request: Mapping[str, Any], usage_injected: bool) -> bool:
        # Without a usage chunk the estimate reads all the text; with several choices, the finish
        # reasons are spread over the stream.
        usage_expected = usage_injected or _extract.usage_requested(request)
        return not usage_expected or (_extract.read_int(request.get("n")) or 1) > 1

    def fields(self) -> ResponseFields:
        chunks = self.chunks
        fields = _chunks.chat_stream_fields(chunks, self.request, self.dropped)
        if self.capture:
            fields.attributes.update(_content.chat_stream_output_attributes(chunks))
        return fields


class _ResponsesRecorder(_Recorder):
    __slots__ = ()
    content_test = staticmethod(_chunks.responses_event_has_content)

    def fields(self) -> ResponseFields:
        events = self.chunks
        fields = _chunks.responses_stream_fields(events, self.request, self.dropped)
        if self.capture:
            text = _chunks.responses_stream_text(events)
            fields.attributes.update(_content.responses_stream_output_attributes(events, text))
        return fields


class _OpenAIStream:
    """What a surface's sync and async proxies share (a mixin): their recorder and ``response``."""

    recorder_type: ClassVar[type[_Recorder]]
    _self_recorder: _Recorder

    def __init__(
        self,
        wrapped: Any,
        invocation: LLMInvocation,
        request: Mapping[str, Any],
        hide_usage: bool,
        capture: bool,
    ) -> None:
        recorder = self.recorder_type(invocation, request, hide_usage, capture)
        super().__init__(wrapped, recorder)  # type: ignore[call-arg]

    @property
    def response(self) -> Any:
        # The SDK's stream helpers close the HTTP response, not the stream; hear about that too.
        return _ClosingResponse(self.__wrapped__.response, self._self_recorder)  # type: ignore[attr-defined]


class ChatStream(_OpenAIStream, SyncStreamProxy):
    """``chat.completions.create(stream=True)`` (and what ``.stream()`` iterates)."""

    recorder_type = _ChatRecorder


class AsyncChatStream(_OpenAIStream, AsyncStreamProxy):
    """The async twin of :class:`ChatStream`."""

    recorder_type = _ChatRecorder


class ResponsesStream(_OpenAIStream, SyncStreamProxy):
    """``responses.create(stream=True)`` (and what ``.stream()`` iterates)."""

    recorder_type = _ResponsesRecorder


class AsyncResponsesStream(_OpenAIStream, AsyncStreamProxy):
    """The async twin of :class:`ResponsesStream`."""

    recorder_type = _ResponsesRecorder


class _ClosingResponse(wrapt.ObjectProxy):  # type: ignore[misc]
    """The stream's HTTP response; closing it before the end abandons the stream."""

    def __init__(self, wrapped: Any, recorder: StreamRecorder) -> None:
        super().__init__(wrapped)
        self._self_recorder = recorder

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_recorder.finish(attr.STREAM_ABANDONED)

    async def aclose(self) -> None:
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_recorder.finish(attr.STREAM_ABANDONED)
