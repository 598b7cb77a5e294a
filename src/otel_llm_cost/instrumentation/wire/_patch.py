"""Wrappers of ``Client.send`` / ``AsyncClient.send`` (httpx and httpx2): one LLM span per recognised call.

A request is recognised by its host (:mod:`._hosts`) and its path (an ``apis/`` room). It is recorded
unless a capture layer above already covers it: our SDK wrappers (the shared
:data:`~otel_llm_cost.instrumentation._active.LLM_SPAN_OPEN` flag), or another instrumentation's LLM
span, current while the request is sent (the ``anthropic`` SDK's own tracing, OpenLLMetry, the OTel GenAI
instrumentations); the cost processor prices theirs.

While ``send`` runs our span is current (HTTP client spans nest under it, ``traceparent`` is ours). Then:
a body ``send`` already read (``stream=False``) is decoded once, from the bytes httpx decoded; a body not
read yet gets an observer (:mod:`._observer`) in place of the response's byte stream, which records the
end when the application has read it, closed it, or dropped it. The request body is decoded once and
never changed. Nothing of ours reaches the application but ``BudgetExceeded``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost.apis import WireRequest
from otel_llm_cost.apis.openai_media import form_fields
from otel_llm_cost.budget._hook import admit_request
from otel_llm_cost.instrumentation._active import LLM_SPAN_OPEN, covering
from otel_llm_cost.instrumentation._invocation import LLMInvocation
from otel_llm_cost.instrumentation.wire import _frames
from otel_llm_cost.instrumentation.wire._hosts import HostTable, api_provider, find_api
from otel_llm_cost.instrumentation.wire._observer import WireBody, WireStream
from otel_llm_cost.instrumentation.wire._streams import content_decoder, stream_classes

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from otel_llm_cost.apis import WireApi
    from otel_llm_cost.budget import BudgetGuard

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]

HTTP_STATUS_CODE: Final = "http.response.status_code"
# Operations of another instrumentation's span that make it the call's LLM span (agent and tool spans
# carry gen_ai.operation.name too, and must not hide the calls inside them).
_LLM_OPERATIONS: Final = frozenset(
    {"chat", "text_completion", "generate_content", "embeddings", "completion", "image_generation"}
)
_STREAM_TYPES: Final = (
    "text/event-stream",
    "application/x-ndjson",
    "application/jsonl",
    "application/stream+json",  # Cohere v1 chat streams
)
_IDENTITY: Final = frozenset({"", "identity"})


@dataclass(frozen=True, slots=True)
class Recorder:
    """What every wrapper of one ``instrument()`` shares."""

    tracer: Tracer
    hosts: HostTable
    guard: BudgetGuard | None = None


def client_send(recorder: Recorder, module: ModuleType) -> Wrapper:
    """``Client.send`` of ``module`` (``httpx`` or ``httpx2``)."""

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        request = args[0] if args else kwargs.get("request")
        call = _start(recorder, module, request) if not LLM_SPAN_OPEN.get() else None
        if call is None:
            return wrapped(*args, **kwargs)
        with covering(call.invocation.span):
            try:
                response = wrapped(*args, **kwargs)
            except BaseException as error:
                call.invocation.fail(error)
                raise
        call.returned(response, is_async=False)
        return response

    return wrapper


def async_client_send(recorder: Recorder, module: ModuleType) -> Wrapper:
    """``AsyncClient.send`` of ``module``."""

    async def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        request = args[0] if args else kwargs.get("request")
        call = _start(recorder, module, request) if not LLM_SPAN_OPEN.get() else None
        if call is None:
            return await wrapped(*args, **kwargs)
        with covering(call.invocation.span):
            try:
                response = await wrapped(*args, **kwargs)
            except BaseException as error:
                call.invocation.fail(error)
                raise
        call.returned(response, is_async=True)
        return response

    return wrapper


# --- recognising and starting a call -------------------------------------------------------------------


def _start(recorder: Recorder, module: ModuleType, request: Any) -> _Call | None:
    """The call a request starts, or ``None`` to send it untouched. Raises only ``BudgetExceeded``."""
    try:
        url = request.url
        host = recorder.hosts.find(url.host, url.port)
        if host is None:
            return None
        api = find_api(request.method, url.path)
        if api is None or not is_instrumentation_enabled() or _covered_by_another_span():
            return None
        provider = host.provider or api_provider(api)
        wire = _wire_request(request, url, provider)
        model = api.request_model(wire)
        if model is None and host.private:
            return None  # a private service's path that only looks like an LLM API's
    except Exception:
        log_once("wire.recognise", "otel-llm-cost could not look at an HTTP request", exc_info=True)
        return None
    ticket = _admit(recorder.guard, provider, api, wire) if recorder.guard is not None else None
    try:
        attributes = api.request_attributes(wire)
        attributes[attr.SERVER_ADDRESS] = url.host
        if url.port is not None:
            attributes[attr.SERVER_PORT] = url.port
        invocation = LLMInvocation(
            recorder.tracer,
            operation=api.operation,
            provider=provider,
            request_model=model,
            attributes=attributes,
        )
        if ticket is not None:
            ticket.bind(invocation)
    except Exception:
        log_once("wire.start", "otel-llm-cost could not start recording an LLM call", exc_info=True)
        if ticket is not None:
            ticket.abandon()
        return None
    return _Call(invocation, api, wire, module)


def _wire_request(request: Any, url: Any, provider: str) -> WireRequest:
    try:
        content = request.content  # built from bytes or JSON: already in memory; a stream is not read
    except Exception:
        content = None
    body = _frames.decode_json(content, _frames.REQUEST_LIMIT)
    if body is None:  # a multipart upload (audio): its plain fields, the upload itself never read
        body = form_fields(getattr(request, "stream", None))
    return WireRequest(
        method=request.method,
        host=url.host,
        port=url.port,
        path=url.path,
        query=url.query.decode("ascii", "replace") if isinstance(url.query, bytes) else str(url.query),
        body=body if isinstance(body, dict) else None,
        provider=provider,
        headers=request.headers,
    )


def _covered_by_another_span() -> bool:
    """Whether the current span is another instrumentation's LLM call span (then it is the call's)."""
    span = trace.get_current_span()
    if getattr(span, "kind", None) is not SpanKind.CLIENT or not span.is_recording():
        return False
    attributes = getattr(span, "attributes", None) or {}
    operation = attributes.get(attr.GEN_AI_OPERATION_NAME)
    return operation in _LLM_OPERATIONS or (operation is None and "gen_ai.system" in attributes)


def _admit(guard: BudgetGuard, provider: str, api: WireApi, wire: WireRequest) -> Any:
    """Reserve the call's worst case or raise ``BudgetExceeded``; the body is never rewritten here."""
    body = dict(wire.body) if wire.body is not None else {}
    ticket, sent = admit_request(guard, provider, api.operation, body)
    if sent is not body:
        log_once(
            "wire.budget.downgrade",
            "otel-llm-cost: a budget asked to downgrade a call seen only on the wire; it is sent as made",
        )
    return ticket


# --- one call ------------------------------------------------------------------------------------------


class _Call:
    """One recorded request, from ``send`` to the end of its response body."""

    __slots__ = ("api", "invocation", "module", "wire")

    def __init__(
        self, invocation: LLMInvocation, api: WireApi, wire: WireRequest, module: ModuleType
    ) -> None:
        self.invocation = invocation
        self.api = api
        self.wire = wire
        self.module = module

    def returned(self, response: Any, *, is_async: bool) -> None:
        """Record the response, now or when its body ends. Never raises."""
        try:
            self._dispatch(response, is_async)
        except Exception:
            log_once("wire.response", "otel-llm-cost could not record an LLM response", exc_info=True)
            self.invocation.stop(None)

    def _dispatch(self, response: Any, is_async: bool) -> None:
        status = response.status_code
        self.invocation.add_attributes({HTTP_STATUS_CODE: status})
        wire = dataclasses.replace(self.wire, headers=response.headers)
        if status >= 400:
            error = _HTTPStatusError(status)
            self.invocation.fail(error, error_type_name=str(status))
            return
        try:
            content = response.content  # read by send (stream=False): decoded by httpx already
        except Exception:  # not read yet: watch it as the application reads it
            self._observe(response, wire, is_async)
            return
        # Read whole (a stream the client did not stream included): one chunk to the same recorder.
        recorder = self._recorder(response.headers.get("content-type", ""), wire)
        if recorder.testing:
            recorder.feed_head(content)
        else:
            recorder.keep(content)
        recorder.finish(attr.STREAM_COMPLETED)

    def _observe(self, response: Any, wire: WireRequest, is_async: bool) -> None:
        headers = response.headers
        encoding = headers.get("content-encoding", "").strip().lower()
        decode = None if encoding in _IDENTITY else content_decoder(self.module, encoding)
        sync_type, async_type = stream_classes(self.module)
        recorder = self._recorder(headers.get("content-type", ""), wire)
        response.stream = (async_type if is_async else sync_type)(response.stream, recorder, decode)

    def _recorder(self, content_type: str, wire: WireRequest) -> WireStream | WireBody:
        """Events framed in the body (SSE, NDJSON), one JSON array of events, or a plain JSON body."""
        api = self.api
        if api.stream_format == "json" and api.is_streaming(wire):  # Gemini without alt=sse
            return WireBody(self.invocation, api, wire, streamed=True)
        if content_type.startswith(_STREAM_TYPES) or ("json" not in content_type and api.is_streaming(wire)):
            return WireStream(self.invocation, api, wire)
        return WireBody(self.invocation, api, wire)


class _HTTPStatusError(Exception):
    """An error response seen on the wire (the client raises its own exception, if any, later)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
