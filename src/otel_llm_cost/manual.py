"""``llm_call``: the span of an LLM call made without a supported SDK, the same as an instrumented one.

For Ollama's native API, a vLLM server, an internal gateway, anything reached with ``requests`` or
``httpx``::

    from otel_llm_cost import llm_call

    body = {"model": "llama3.1:8b", "messages": messages, "stream": True}
    with llm_call(url="http://localhost:11434/api/chat", model="llama3.1:8b", request=body) as call:
        with httpx.stream("POST", "http://localhost:11434/api/chat", json=call.request) as response:
            for line in response.iter_lines():
                chunk = json.loads(line)
                call.first_token()                      # the first call counts
                if chunk["done"]:
                    call.set_usage(chunk)               # Ollama's own counts, normalised
                    call.set_finish_reasons(chunk.get("done_reason"))

The span is built like an instrumented call's: ``gen_ai.*`` attributes (request ones from ``request``
when given), time to first chunk, usage normalised by the instrumentation's own extractors
(:mod:`otel_llm_cost.usage_shapes`), cost, budget admission (``BudgetExceeded`` is raised by the
``with`` line, before anything is sent; ``call.model`` / ``call.request`` carry a downgraded model),
and the call metrics and live stats (invocation listeners). An exception leaving the block fails the
span (``error.type``) and is re-raised unchanged; a streamed call that is cancelled ends ``cancelled``.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from array import array
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_llm_cost import _manual_request as request_fields
from otel_llm_cost import attributes as attr
from otel_llm_cost._config import SCHEMA_URL
from otel_llm_cost._configured import get_configured
from otel_llm_cost._log import log_once
from otel_llm_cost._provider_cache import ProviderCache
from otel_llm_cost._scrub import scrub_value
from otel_llm_cost.budget._hook import admit_request
from otel_llm_cost.instrumentation._active import LLM_SPAN_OPEN
from otel_llm_cost.instrumentation._invocation import LLMInvocation
from otel_llm_cost.instrumentation.anthropic import _extract as anthropic
from otel_llm_cost.instrumentation.openai import _extract as openai
from otel_llm_cost.providers import provider_for_host
from otel_llm_cost.usage_shapes import ANTHROPIC, OPENAI, detect_shape, normalise_usage, usage_block
from otel_llm_cost.version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue

    from otel_llm_cost.budget import BudgetGuard, Ticket
    from otel_llm_cost.usage import Usage

__all__ = ["LLMCall", "llm_call"]

_CANCELLATIONS: Final = (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)
_tracers: ProviderCache[Tracer] = ProviderCache()  # any provider, hashable or not


def llm_call(
    provider: str | None = None,
    model: str | None = None,
    operation: str = "chat",
    *,
    url: str | None = None,
    server_address: str | None = None,
    server_port: int | None = None,
    request: Mapping[str, Any] | None = None,
    stream: bool | None = None,
    shape: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    tracer_provider: TracerProvider | None = None,
    budget_guard: BudgetGuard | None = None,
) -> LLMCall:
    """One LLM call made by hand: a context manager (``with`` / ``async with``) yielding an :class:`LLMCall`.

    Args:
        provider: ``gen_ai.provider.name`` (``ollama``, ``openai``, ``cohere``, ``gcp.gemini``...);
            default: from the server's host, as the instrumentation names it; for a host it does not know,
            the API the URL's path speaks (``openai``, ``anthropic``, ``ollama``), else ``unknown``.
        model: the requested model (``gen_ai.request.model``); default: ``request["model"]``.
        operation: ``gen_ai.operation.name``: ``chat``, ``text_completion``, ``embeddings``...
        url: where the request goes; gives ``server.address`` / ``server.port`` (and the provider).
        server_address: the host, instead of ``url``; server_port: its port.
        request: the request body; gives the request attributes (``max_tokens``, ``temperature``...)
            and the budget guard's worst-case estimate.
        stream: whether the response is streamed (``gen_ai.request.stream``); default: from ``request``.
        shape: the API format of ``request`` and of the usage (``openai``, ``openai.responses``,
            ``anthropic``, ``ollama``, ``cohere``, ``gemini``); default: detected from the keys.
        attributes: more span attributes, set at start.
        tracer_provider: where the span goes; default the one ``configure()`` was given, else the global.
        budget_guard: checks the call before it is sent; default the one ``configure()`` was given, else
            ``OTEL_LLM_COST_BUDGETS``.
    """
    if model is None and request is not None and isinstance(request.get("model"), str):
        model = request["model"]
    address, port = _server(url, server_address, server_port)
    name = provider or provider_for_host(address, port, default=_api_of(url))
    return LLMCall(
        name,
        model,
        operation,
        address,
        port,
        request,
        stream,
        shape,
        attributes,
        tracer_provider,
        budget_guard,
    )


_OLLAMA_PATHS: Final = ("/api/chat", "/api/generate", "/api/embed", "/api/embeddings")


def _api_of(url: object) -> str:
    """The provider whose API a URL's path speaks, for a host not in the provider table (never the host)."""
    try:
        path = urllib.parse.urlsplit(url).path.rstrip("/") if isinstance(url, str) and url else ""
    except ValueError:  # a URL we cannot read names no API
        path = ""
    if not path:
        return "unknown"
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith(_OLLAMA_PATHS):
        return "ollama"
    return "openai"  # chat/completions, responses, embeddings: the OpenAI-compatible API


def _server(url: object, address: object, port: object) -> tuple[str | None, int | None]:
    """Host and port from ``url`` (or as given). Never raises: a URL we cannot read (not a string, a
    port out of range, a broken IPv6 literal) leaves them unknown, logged once without the URL's
    credentials."""
    if not isinstance(address, str) or not address:
        address = None
    if url is not None and address is None:
        try:
            parts = urllib.parse.urlsplit(url if isinstance(url, str) else str(url))
            address = parts.hostname
            try:
                url_port = parts.port
            except ValueError:  # "host:99999", "host:http"
                url_port = None
            port = port if port is not None else url_port
            if port is None and address:
                port = 80 if parts.scheme == "http" else 443
        except Exception as error:
            log_once("manual.url", "llm_call: unusable url (%s): %s", type(error).__name__, url)
            return None, port if isinstance(port, int) else None
    return address, port if isinstance(port, int) and not isinstance(port, bool) else None


class LLMCall:
    """One manual call: what the code reports during it becomes its span at the end of the block."""

    def __init__(
        self,
        provider: str,
        model: str | None,
        operation: str,
        address: str | None,
        port: int | None,
        request: Mapping[str, Any] | None,
        stream: bool | None,
        shape: str | None,
        attributes: Mapping[str, AttributeValue] | None,
        tracer_provider: TracerProvider | None,
        budget_guard: BudgetGuard | None,
    ) -> None:
        self.provider = provider
        self.operation = operation
        self._model = model
        self._address, self._port = address, port
        self._request = request
        self._stream = stream
        self._shape = shape
        self._attributes = attributes
        self._tracer_provider = tracer_provider
        self._guard = budget_guard
        self._invocation: LLMInvocation | None = None
        self._span: Span = trace.INVALID_SPAN
        self._context_token: object = None
        self._open_token: Any = None  # LLM_SPAN_OPEN: the wire capture beneath adds no second span
        self._usage: Usage | None = None
        self._provider_cost: object = None
        self._service_tier: str | None = None
        self._response_model: str | None = None
        self._response: dict[str, Any] = {}
        self._chunks = 0
        self._arrivals = array("q")  # arrival times of the chunks after the first content

    # --- what the code reads ------------------------------------------------------------------
    @property
    def model(self) -> str | None:
        """The model to send the request to (the budget guard may have downgraded it)."""
        return self._model

    @property
    def request(self) -> Mapping[str, Any] | None:
        """The request body to send: ``request`` with ``model`` replaced after a downgrade."""
        return self._request

    @property
    def usage(self) -> Usage | None:
        """The usage reported so far, normalised."""
        return self._usage

    @property
    def span(self) -> Span:
        """The call's span (a non-recording one before the block starts or when not recorded)."""
        return self._span

    # --- what the code reports ----------------------------------------------------------------
    def first_token(self) -> None:
        """The first content-bearing chunk has arrived (later calls are ignored): time to first chunk."""
        invocation = self._invocation
        if invocation is not None and invocation.first_chunk_ns is None:
            invocation.first_chunk()

    def chunk(self) -> None:
        """One more streamed chunk arrived (optional; ``llm_cost.stream.chunks`` and the time-per-chunk
        metric). Mark the first one that carries content with :meth:`first_token`."""
        self._chunks += 1
        invocation = self._invocation
        if invocation is not None and invocation.first_chunk_ns is not None:
            self._arrivals.append(time.monotonic_ns())

    def set_usage(self, raw: object, *, shape: str | None = None) -> Usage | None:
        """Report the usage: a :class:`~otel_llm_cost.Usage`, or the provider's usage block (or whole
        response body) in its own shape. Returns it normalised (``None``: not recognised, ignored).

        Raises:
            ValueError: ``shape`` names no known shape.
        """
        shape = shape or self._shape
        try:
            usage = normalise_usage(raw, shape, self.provider)
        except ValueError:
            raise
        except Exception:  # a malformed block must not break the caller
            log_once("manual.usage_error", "llm_call: could not read a usage block", exc_info=True)
            usage = None
        if usage is None:
            log_once("manual.usage", "llm_call: usage not recognised (give shape=...): %r", type(raw))
            return None
        self._usage = usage
        try:
            self._usage_extras(raw, shape)
        except Exception:
            log_once("manual.usage_extras", "llm_call: could not read a usage block's extras", exc_info=True)
        return usage

    def _usage_extras(self, raw: object, shape: str | None) -> None:
        """What a usage block says besides counts: a provider-reported price, Anthropic's service tier."""
        if not isinstance(raw, Mapping):
            return
        block = usage_block(raw)
        found = shape or detect_shape(block, self.provider)
        if found == OPENAI:
            self._provider_cost = openai.get_provider_cost(block)
        elif found == ANTHROPIC:
            self._service_tier = anthropic.get_service_tier(block)

    def set_response_model(self, model: str | None) -> None:
        """``gen_ai.response.model`` (also the model the call is priced as)."""
        self._response_model = model or None

    def set_response_id(self, response_id: str | None) -> None:
        self._set(attr.GEN_AI_RESPONSE_ID, response_id or None)

    def set_finish_reasons(self, *reasons: str | None) -> None:
        """``gen_ai.response.finish_reasons`` (one per choice; ``None`` values are left out)."""
        kept = [reason for reason in reasons if isinstance(reason, str) and reason]
        self._set(attr.GEN_AI_RESPONSE_FINISH_REASONS, kept or None)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Any other span attribute, set with the outcome at the end."""
        self._set(key, value)

    def _set(self, key: str, value: Any) -> None:
        if value is None:
            self._response.pop(key, None)
        else:
            self._response[key] = scrub_value(value)  # e.g. a url.full holding ?key=...

    # --- the block ----------------------------------------------------------------------------
    def __enter__(self) -> LLMCall:
        if self._invocation is None and is_instrumentation_enabled():
            self._start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        invocation, self._invocation = self._invocation, None
        if invocation is None:
            return
        try:
            self._finish(invocation, exc)
        finally:
            try:
                LLM_SPAN_OPEN.reset(self._open_token)
                otel_context.detach(self._context_token)  # type: ignore[arg-type]
            except Exception:
                log_once("manual.detach", "llm_call: could not restore the context", exc_info=True)

    async def __aenter__(self) -> LLMCall:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _start(self) -> None:
        configured = get_configured()
        ticket = self._admit(configured.budget_guard)  # may raise BudgetExceeded: nothing was sent
        try:
            request = self._request
            shape = request_fields.request_shape(request or {}, self._shape, self.provider)
            values = request_fields.request_attributes(
                request, shape=shape, operation=self.operation, provider=self.provider,
                address=self._address, port=self._port,
            )  # fmt: skip
            if self._stream is not None:
                values[attr.GEN_AI_REQUEST_STREAM] = self._stream
            values.update({key: scrub_value(value) for key, value in (self._attributes or {}).items()})
            tracer = _tracer(self._tracer_provider or configured.tracer_provider)
            invocation = LLMInvocation(
                tracer, operation=self.operation, provider=self.provider, request_model=self._model,
                attributes=values,
            )  # fmt: skip
            if ticket is not None:
                ticket.bind(invocation)
            self._context_token = otel_context.attach(trace.set_span_in_context(invocation.span))
            self._open_token = LLM_SPAN_OPEN.set(True)
            self._invocation = invocation
            self._span = invocation.span
        except Exception:
            log_once("manual.start", "llm_call: could not start recording a call", exc_info=True)
            if ticket is not None:
                ticket.abandon()

    def _admit(self, configured_guard: Any) -> Ticket | None:
        guard = self._guard or configured_guard
        if guard is None:
            from otel_llm_cost.budget._config import guard_for

            guard = guard_for({"meter_provider": get_configured().meter_provider})  # never raises
            if guard is None:
                return None
        shape = request_fields.request_shape(self._request or {}, self._shape, self.provider)
        body = request_fields.budget_request(self._request, self._model, shape)
        ticket, _ = admit_request(guard, self.provider, self.operation, body)
        if ticket is not None and ticket.model != self._model:
            self._model = ticket.model
            if self._request is not None:
                self._request = {**self._request, "model": ticket.model}
        return ticket

    def _finish(self, invocation: LLMInvocation, error: BaseException | None) -> None:
        streamed = self._stream is True or self._chunks > 0 or invocation.first_chunk_ns is not None
        response = dict(self._response)
        if self._chunks:
            response[attr.LLM_COST_STREAM_CHUNKS] = self._chunks
            invocation.output_chunks = self._chunks
        if self._arrivals:
            invocation.chunk_ns = self._arrivals
        if error is None or (streamed and isinstance(error, _CANCELLATIONS)):
            outcome = (
                None if not streamed else attr.STREAM_COMPLETED if error is None else attr.STREAM_CANCELLED
            )
            invocation.stop(
                self._usage, response_model=self._response_model, response_attributes=response,
                service_tier=self._service_tier, provider_cost=self._provider_cost, stream_outcome=outcome,
            )  # fmt: skip
            return
        if self._response_model:
            response[attr.GEN_AI_RESPONSE_MODEL] = self._response_model
        invocation.fail(
            error, self._usage, stream_outcome=attr.STREAM_ERROR if streamed else None,
            response_attributes=response,
        )  # fmt: skip


def _tracer(provider: TracerProvider | None) -> Tracer:
    if provider is None:  # not cached: the global provider may be set or replaced later
        return trace.get_tracer(__name__, __version__, schema_url=SCHEMA_URL)
    return _tracers.get_or_make(
        provider, lambda: trace.get_tracer(__name__, __version__, provider, schema_url=SCHEMA_URL)
    )
