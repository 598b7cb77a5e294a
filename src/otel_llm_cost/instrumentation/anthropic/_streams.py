"""Proxies for Anthropic event streams, and for the ``messages.stream()`` helper's context managers.

Per event the proxies only count the event, keep it if the end may need it (the opening events and the
last few), and, until it happens, look for the first content delta (time to first chunk). Usage,
response fields and the outcome are worked out once, at the end, by
:func:`~otel_llm_cost.instrumentation.anthropic._extract.summarise_stream`.

The helper (``MessageStreamManager``) reads its raw ``Stream`` through ``MessageStream._raw_stream``;
putting the event proxy there lets one proxy serve iteration, ``text_stream``, ``until_done()`` and
``get_final_message()`` alike, since they all read that stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import wrapt

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost.instrumentation._stream import AsyncStreamProxy, StreamRecorder, SyncStreamProxy
from otel_llm_cost.instrumentation.anthropic import _content, _extract
from otel_llm_cost.usage import ESTIMATED, Usage

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation

_CONTENT_DELTA = "content_block_delta"

# Starts the call when a helper is entered: its invocation (None if it could not start) and the scope
# to send the request in.
Starter = Callable[[], "tuple[LLMInvocation | None, AbstractContextManager[None]]"]


class StreamTruncatedError(Exception):
    """The event stream ended without ``message_stop``: the server cut it short (recorded, never raised)."""


def _is_content_delta(event: Any) -> bool:
    kind = event.get("type") if isinstance(event, dict) else getattr(event, "type", None)  # raw bodies: dicts
    return kind == _CONTENT_DELTA


class _EventsRecorder(StreamRecorder):
    """An event stream's end: usage, response fields and outcome from its opening and closing events."""

    __slots__ = ("request", "stream")

    def __init__(self, invocation: LLMInvocation, stream: Any, request: Mapping[str, Any]) -> None:
        super().__init__(invocation, _is_content_delta, keep_all=invocation.capture_content)
        self.stream = stream  # the SDK's stream, for its response's request id
        self.request = request

    def on_end(self, outcome: str, error: BaseException | None) -> None:
        summary = _extract.summarise_stream(self.chunks, self.dropped)
        response = _extract.response_attributes(
            summary.response_id, summary.finish_reason, _extract.get_request_id(self.stream)
        )
        invocation = self.invocation
        invocation.output_chunks = self.count
        if invocation.capture_content:
            response.update(_content.stream_output_attributes(self.chunks, summary.finish_reason))
        usage = summary.usage
        if usage is None and outcome != attr.STREAM_ERROR:  # closed before its first event: input known
            usage = Usage.of(_content.estimate_input(self.request), 0, source=ESTIMATED)
        if outcome == attr.STREAM_COMPLETED and not summary.stopped:
            outcome, error = attr.STREAM_ERROR, StreamTruncatedError("stream ended before message_stop")
        if error is not None and outcome == attr.STREAM_ERROR:  # cancelled: not an error, as for OpenAI
            invocation.fail(error, usage, stream_outcome=outcome, response_attributes=response)
            return
        invocation.stop(
            usage,
            response_model=summary.response_model,
            response_attributes=response,
            service_tier=summary.service_tier,
            stream_outcome=outcome,
        )


def events_recorder(invocation: LLMInvocation, stream: Any, request: Mapping[str, Any]) -> StreamRecorder:
    """The recorder of one call's event stream (also fed events decoded from a raw body)."""
    return _EventsRecorder(invocation, stream, request)


class _EventsMixin:
    """Builds the event recorder for the sync and async event-stream proxies."""

    def __init__(self, wrapped: Any, invocation: LLMInvocation, request: Mapping[str, Any]) -> None:
        super().__init__(wrapped, _EventsRecorder(invocation, wrapped, request))  # type: ignore[call-arg]


class MessagesStream(_EventsMixin, SyncStreamProxy):
    """A ``Stream`` of raw message events (``create(stream=True)``, or the helper's underlying stream)."""


class AsyncMessagesStream(_EventsMixin, AsyncStreamProxy):
    """An ``AsyncStream`` of raw message events."""


def _attach(
    message_stream: Any, proxy_type: type[Any], invocation: LLMInvocation, request: Mapping[str, Any]
) -> Any:
    """Route the helper's raw stream through an event proxy; ``None`` if this SDK's helper lacks the seam."""
    raw = getattr(message_stream, "_raw_stream", None)
    if raw is None:
        log_once("anthropic.stream_helper", "messages.stream(): this anthropic version is not supported")
        return None
    proxy = proxy_type(raw, invocation, request)
    message_stream._raw_stream = proxy
    return proxy


class MessageStreamManager(wrapt.ObjectProxy):  # type: ignore[misc]
    """Proxy of ``MessageStreamManager``: the call starts on ``__enter__`` and ends with its stream."""

    def __init__(self, wrapped: Any, start: Starter, request: Mapping[str, Any]) -> None:
        super().__init__(wrapped)
        self._self_start = start
        self._self_request = request
        self._self_proxy: MessagesStream | None = None
        self._self_invocation: LLMInvocation | None = None

    def __enter__(self) -> Any:
        invocation, calling = self._self_start()
        if invocation is None:
            return self.__wrapped__.__enter__()
        self._self_invocation = invocation
        try:
            with calling:
                message_stream = self.__wrapped__.__enter__()
        except BaseException as error:
            invocation.fail(error, response_attributes=_error_attributes(error))
            raise
        self._self_proxy = _guarded_attach(message_stream, MessagesStream, invocation, self._self_request)
        return message_stream

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        proxy = self._self_proxy
        if proxy is not None and exc is not None:
            # before the SDK's close() ends it: the app's exception (or a cancellation) left the block
            proxy._self_recorder.left_with(exc)
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            _finish_unrouted(proxy, self._self_invocation)


class AsyncMessageStreamManager(wrapt.ObjectProxy):  # type: ignore[misc]
    """Proxy of ``AsyncMessageStreamManager``."""

    def __init__(self, wrapped: Any, start: Starter, request: Mapping[str, Any]) -> None:
        super().__init__(wrapped)
        self._self_start = start
        self._self_request = request
        self._self_proxy: AsyncMessagesStream | None = None
        self._self_invocation: LLMInvocation | None = None

    async def __aenter__(self) -> Any:
        invocation, calling = self._self_start()
        if invocation is None:
            return await self.__wrapped__.__aenter__()
        self._self_invocation = invocation
        try:
            with calling:
                message_stream = await self.__wrapped__.__aenter__()
        except BaseException as error:
            invocation.fail(error, response_attributes=_error_attributes(error))
            raise
        self._self_proxy = _guarded_attach(
            message_stream, AsyncMessagesStream, invocation, self._self_request
        )
        return message_stream

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        proxy = self._self_proxy
        if proxy is not None and exc is not None:
            proxy._self_recorder.left_with(exc)
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            _finish_unrouted(proxy, self._self_invocation)


def _guarded_attach(
    message_stream: Any, proxy_type: type[Any], invocation: LLMInvocation, request: Mapping[str, Any]
) -> Any:
    try:
        return _attach(message_stream, proxy_type, invocation, request)
    except Exception:
        log_once(
            "anthropic.stream_helper.attach", "could not instrument a messages.stream() call", exc_info=True
        )
        return None


def _finish_unrouted(proxy: Any, invocation: LLMInvocation | None) -> None:
    """End the call when its events could not be routed through a proxy (nothing was seen)."""
    if proxy is None and invocation is not None:
        invocation.stop(None, stream_outcome=attr.STREAM_ABANDONED)
    elif proxy is not None:
        proxy._self_recorder.finish(attr.STREAM_ABANDONED)  # no-op when the stream already finished


def _error_attributes(error: BaseException) -> dict[str, Any]:
    request_id = _extract.get_request_id(error)
    return {attr.ANTHROPIC_REQUEST_ID: request_id} if request_id else {}
