"""Wrapper factories for the OpenAI SDK's methods, sync and async twins side by side.

Each factory returns a ``wrapt`` wrapper that starts an :class:`LLMInvocation`, calls the SDK, and hands
the result to a :class:`_Call`, which records it, or wraps it (streams, raw responses) so that the span
ends where the body is finally read. The SDK call itself is never inside our ``try``: its exceptions
reach the caller untouched, ours are logged once and swallowed.

While the SDK sends the request our span is the current one (HTTP client spans nest under it), and a
context flag makes nested instrumented calls (a helper calling ``create``) record one span only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from openai import BaseModel
from openai._streaming import AsyncStream, Stream
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_llm_cost._log import log_once
from otel_llm_cost.apis import _openai_fields as _extract
from otel_llm_cost.apis._openai_fields import ResponseFields, Server
from otel_llm_cost.budget._hook import admit_request
from otel_llm_cost.instrumentation import _raw, _sent
from otel_llm_cost.instrumentation._active import LLM_SPAN_OPEN, covering
from otel_llm_cost.instrumentation._caller import Trampoline, caller_trampoline
from otel_llm_cost.instrumentation._client_cache import ClientCache
from otel_llm_cost.instrumentation._invocation import LLMInvocation
from otel_llm_cost.instrumentation.openai import _content
from otel_llm_cost.instrumentation.openai._streams import (
    AsyncChatStream,
    AsyncResponsesStream,
    ChatStream,
    ResponsesStream,
    record_end,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer
    from opentelemetry.util.types import AttributeValue

    from otel_llm_cost.budget import BudgetGuard, Ticket
    from otel_llm_cost.instrumentation._stream import StreamProxy, StreamRecorder

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]
Attributes = dict[str, "AttributeValue"]

_STREAMS: Final = (Stream, AsyncStream)
_SDK_BASE: Final = "openai._base_client"  # where requests are built (see instrumentation/_sent.py)
# The client's server and provider: its base URL is parsed once per client.
_SERVERS: Final = ClientCache()
# Servers that rejected ``stream_options``: we stop injecting it there.
_NO_STREAM_OPTIONS: set[tuple[str | None, int | None]] = set()


@dataclass(frozen=True, slots=True)
class Recorder:
    """What every wrapper of one ``instrument()`` shares."""

    tracer: Tracer
    capture_content: bool
    guard: BudgetGuard | None = None


@dataclass(frozen=True, slots=True)
class Surface:
    """How one API (chat completions, responses, embeddings) is read."""

    operation: str
    request_attributes: Callable[[Mapping[str, Any], Server], Attributes]
    input_content: Callable[[Mapping[str, Any]], dict[str, str]]
    response_fields: Callable[[Any, Mapping[str, Any]], ResponseFields]
    output_content: Callable[[Any], dict[str, str]]
    sync_stream: type[StreamProxy] | None = None
    async_stream: type[StreamProxy] | None = None
    injects_usage: bool = False


def _chat_input(kwargs: Mapping[str, Any]) -> dict[str, str]:
    return _content.chat_input_attributes(kwargs.get("messages"))


def _chat_fields(completion: Any, kwargs: Mapping[str, Any]) -> ResponseFields:
    return _extract.chat_completion_fields(completion, kwargs.get("messages"))


def _responses_fields(response: Any, kwargs: Mapping[str, Any]) -> ResponseFields:
    return _extract.responses_fields(response, kwargs)


def _no_content(_: object) -> dict[str, str]:
    return {}


CHAT: Final = Surface(
    _extract.CHAT,
    _extract.chat_request_attributes,
    _chat_input,
    _chat_fields,
    _content.chat_output_attributes,
    ChatStream,
    AsyncChatStream,
    injects_usage=True,
)
RESPONSES: Final = Surface(
    _extract.CHAT,  # the GenAI conventions name Responses API calls "chat" too
    _extract.responses_request_attributes,
    _content.responses_input_attributes,
    _responses_fields,
    _content.responses_output_attributes,
    ResponsesStream,
    AsyncResponsesStream,
)
EMBEDDINGS: Final = Surface(
    _extract.EMBEDDINGS,
    _extract.embeddings_request_attributes,
    _no_content,
    _extract.embeddings_fields,
    _no_content,
)


# --- wrapper factories --------------------------------------------------------------------------------


def chat_completions_create(recorder: Recorder) -> Wrapper:
    """``Completions.create`` (also reached by ``.stream()`` and ``with_raw_response``)."""
    return _sync_wrapper(recorder, CHAT)


def async_chat_completions_create(recorder: Recorder) -> Wrapper:
    return _async_wrapper(recorder, CHAT)


def chat_completions_parse(recorder: Recorder) -> Wrapper:
    """``Completions.parse``, which posts the request itself rather than calling ``create``."""
    return _sync_wrapper(recorder, CHAT)


def async_chat_completions_parse(recorder: Recorder) -> Wrapper:
    return _async_wrapper(recorder, CHAT)


def responses_create(recorder: Recorder) -> Wrapper:
    """``Responses.create`` (also reached by ``.stream()``)."""
    return _sync_wrapper(recorder, RESPONSES)


def async_responses_create(recorder: Recorder) -> Wrapper:
    return _async_wrapper(recorder, RESPONSES)


def responses_parse(recorder: Recorder) -> Wrapper:
    return _sync_wrapper(recorder, RESPONSES)


def async_responses_parse(recorder: Recorder) -> Wrapper:
    return _async_wrapper(recorder, RESPONSES)


def embeddings_create(recorder: Recorder) -> Wrapper:
    return _sync_wrapper(recorder, EMBEDDINGS)


def async_embeddings_create(recorder: Recorder) -> Wrapper:
    return _async_wrapper(recorder, EMBEDDINGS)


def _sync_wrapper(recorder: Recorder, surface: Surface) -> Wrapper:
    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        via = caller_trampoline()  # the SDK's warnings name our caller, not us
        if LLM_SPAN_OPEN.get() or not is_instrumentation_enabled():
            return via(wrapped, args, kwargs)
        call = _start(recorder, surface, instance, kwargs)
        if call is None:
            return via(wrapped, args, kwargs)
        with covering(call.invocation.span):
            try:
                with _sent.sending(call.invocation, _SDK_BASE):
                    result = call.send(wrapped, args, via)
            except BaseException as error:
                call.failed(error)
                raise
        return call.returned(result)

    return wrapper


def _async_wrapper(recorder: Recorder, surface: Surface) -> Wrapper:
    async def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if LLM_SPAN_OPEN.get() or not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        call = _start(recorder, surface, instance, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        with covering(call.invocation.span):
            try:
                with _sent.sending(call.invocation, _SDK_BASE):
                    result = await call.send_async(wrapped, args)
            except BaseException as error:
                call.failed(error)
                raise
        return await call.returned_async(result)

    return wrapper


# --- one call -----------------------------------------------------------------------------------------


def _start(recorder: Recorder, surface: Surface, instance: Any, kwargs: dict[str, Any]) -> _Call | None:
    ticket = None
    if recorder.guard is not None:  # may raise BudgetExceeded: refused before anything is sent
        ticket, kwargs = _admit(recorder.guard, surface, instance, kwargs)
    try:
        server = _server_of(getattr(instance, "_client", None))
        attributes = surface.request_attributes(kwargs, server)
        if recorder.capture_content:
            attributes.update(surface.input_content(kwargs))
        sent = None
        # Never into a raw request: its caller may read the bytes, usage chunk and all (see _raw.py).
        injectable = _raw.raw_mode(kwargs) is None and (server.address, server.port) not in _NO_STREAM_OPTIONS
        if surface.injects_usage and injectable:
            sent = _extract.with_usage_requested(kwargs)
        invocation = LLMInvocation(
            recorder.tracer,
            operation=surface.operation,
            provider=server.provider,
            request_model=_extract.get_request_model(kwargs),
            attributes=attributes,
        )
        if ticket is not None:
            ticket.bind(invocation)
    except Exception:
        log_once("openai.start", "otel-llm-cost could not start recording an OpenAI call", exc_info=True)
        if ticket is not None:
            ticket.abandon()
        return None
    return _Call(invocation, surface, server, kwargs, sent, recorder.capture_content)


def _admit(
    guard: BudgetGuard, surface: Surface, instance: Any, kwargs: dict[str, Any]
) -> tuple[Ticket | None, dict[str, Any]]:
    try:
        provider = _server_of(getattr(instance, "_client", None)).provider
    except Exception:
        log_once("openai.budget", "otel-llm-cost could not check an OpenAI call's budget", exc_info=True)
        return None, kwargs
    return admit_request(guard, provider, surface.operation, kwargs)


def _server_of(client: object) -> Server:
    return _SERVERS.get(client, _extract.get_server)


def _rejects_stream_options(error: Exception) -> bool:
    if getattr(error, "status_code", None) not in (400, 422):
        return False
    message = str(error)
    return "stream_options" in message or "include_usage" in message


class _Call:
    """One instrumented call, from the request to the end of its span."""

    __slots__ = ("capture", "invocation", "kwargs", "sent", "server", "stream", "surface")

    def __init__(
        self,
        invocation: LLMInvocation,
        surface: Surface,
        server: Server,
        kwargs: dict[str, Any],
        sent: dict[str, Any] | None,
        capture: bool,
    ) -> None:
        self.invocation = invocation
        self.surface = surface
        self.server = server
        self.kwargs = kwargs
        self.sent = sent  # the kwargs with include_usage injected, if we did
        self.capture = capture
        self.stream: StreamProxy | None = None

    # --- sending ----------------------------------------------------------------------------------
    def send(self, wrapped: Callable[..., Any], args: tuple[Any, ...], via: Trampoline) -> Any:
        if self.sent is None:
            return via(wrapped, args, self.kwargs)
        try:
            return via(wrapped, args, self.sent)
        except Exception as error:
            if not _rejects_stream_options(error):
                raise
        self._stop_injecting()  # the server refused the option we added: send the caller's request
        return via(wrapped, args, self.kwargs)

    async def send_async(self, wrapped: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if self.sent is None:
            return await wrapped(*args, **self.kwargs)
        try:
            return await wrapped(*args, **self.sent)
        except Exception as error:
            if not _rejects_stream_options(error):
                raise
        self._stop_injecting()
        return await wrapped(*args, **self.kwargs)

    def _stop_injecting(self) -> None:
        log_once(
            f"openai.stream_options.{self.server.address}",
            "%s rejected stream_options.include_usage; its stream usage will be estimated",
            self.server.address,
        )
        _NO_STREAM_OPTIONS.add((self.server.address, self.server.port))
        self.sent = None

    # --- results ----------------------------------------------------------------------------------
    def returned(self, result: Any) -> Any:
        """What the caller gets: the result itself, or a proxy that ends the span later."""
        try:
            return self._dispatch(result)
        except Exception:
            log_once("openai.result", "otel-llm-cost could not record an OpenAI response", exc_info=True)
            self.invocation.stop(None)
            return result

    def _dispatch(self, result: Any) -> Any:
        if isinstance(result, BaseModel):
            self.record(result)
            return result
        if isinstance(result, _STREAMS):
            return self.adopt(result)
        kind = _raw.raw_kind(result)  # with_raw_response / with_streaming_response
        if kind is not None:
            streaming = _extract.is_streaming(self.kwargs)
            if _raw.body_in_memory(kind, self.kwargs, streaming) and kind != "AsyncAPIResponse":
                _raw.parse_now(result, self)
                return result
            return _raw.wrap_raw(result, kind, self, streaming)
        self.invocation.stop(None)  # an unexpected type: keep it, end the span
        return result

    async def returned_async(self, result: Any) -> Any:
        """:meth:`returned`, for an async call whose raw body may need an awaited ``parse()``."""
        try:
            kind = _raw.raw_kind(result)
            if kind == "AsyncAPIResponse" and _raw.body_in_memory(
                kind, self.kwargs, _extract.is_streaming(self.kwargs)
            ):
                await _raw.parse_now_async(result, self)
                return result
        except Exception:
            log_once("openai.result", "otel-llm-cost could not record an OpenAI response", exc_info=True)
            self.invocation.stop(None)
            return result
        return self.returned(result)

    def record(self, parsed: Any) -> None:
        fields = self.surface.response_fields(parsed, self.kwargs)
        if self.capture:
            fields.attributes.update(self.surface.output_content(parsed))
        record_end(self.invocation, fields)

    def adopt(self, stream: Any) -> Any:
        """Wrap a stream in the surface's proxy, which ends the span when the stream ends."""
        proxy_class = (
            self.surface.async_stream if isinstance(stream, AsyncStream) else self.surface.sync_stream
        )
        if proxy_class is None:
            self.invocation.stop(None)
            return stream
        proxy = proxy_class(stream, self.invocation, self.kwargs, self.sent is not None, self.capture)  # type: ignore[call-arg]
        self.stream = proxy
        return proxy

    # --- raw-response callbacks (see instrumentation/_raw.py); never raise ----------------------
    def parsed(self, result: Any) -> Any:
        try:
            if isinstance(result, _STREAMS):
                if self.stream is None:
                    return self.adopt(result)
                return self.stream if self.stream.__wrapped__ is result else result
            if not self.invocation.ended:
                self.record(result)
        except Exception:
            log_once(
                "openai.parsed", "otel-llm-cost could not record a parsed OpenAI response", exc_info=True
            )
            self.invocation.stop(None)
        return result

    def decoded(self, body: object) -> None:
        """The caller read the JSON body as bytes: record from the decoded value."""
        try:
            if not self.invocation.ended:
                self.record(body)
        except Exception:
            log_once("openai.decoded", "otel-llm-cost could not record a raw OpenAI body", exc_info=True)
            self.invocation.stop(None)

    def raw_stream_recorder(self) -> StreamRecorder | None:
        """A recorder for the event stream the caller reads as bytes (none was injected into it)."""
        stream_type = self.surface.sync_stream
        if stream_type is None or self.invocation.ended:
            return None
        return stream_type.recorder_type(self.invocation, self.kwargs, False, self.capture)  # type: ignore[attr-defined,no-any-return]

    def failed(self, error: BaseException) -> None:
        if _sent.refused_locally(self.invocation, error):
            self.invocation.refused(error)  # the SDK refused it before sending: not an LLM call
            return
        try:
            # LengthFinishReasonError and friends carry the completion that was billed.
            completion = getattr(error, "completion", None)
            fields = (
                _extract.chat_completion_fields(completion) if completion is not None else ResponseFields()
            )
            record_end(self.invocation, fields, error=error)
        except Exception:
            log_once("openai.failed", "otel-llm-cost could not record a failed OpenAI call", exc_info=True)
            self.invocation.fail(error)

    def release(self, closed: bool = True) -> None:
        """The raw response was closed (or dropped, ``closed=False``): end whatever is still open."""
        try:
            _raw.release(self.stream, self.invocation, closed, _extract.is_streaming(self.kwargs))
        except Exception:
            log_once("openai.release", "otel-llm-cost could not end a raw OpenAI response", exc_info=True)
