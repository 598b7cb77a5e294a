"""Wrapper factories for ``AsyncModels._generate_content`` / ``_generate_content_stream``: a span for each
request the async client sends over ``aiohttp``; the Gemini room reads the SDK's response objects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Tracer

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost.apis import WireRequest
from otel_llm_cost.apis.gemini import EMBED_CONTENT, GENERATE_CONTENT
from otel_llm_cost.budget._hook import admit_request
from otel_llm_cost.instrumentation._active import LLM_SPAN_OPEN, covering
from otel_llm_cost.instrumentation._invocation import LLMInvocation, record_end
from otel_llm_cost.instrumentation._stream import StreamRecorder, observe_async

if TYPE_CHECKING:
    from otel_llm_cost.apis import WireApi
    from otel_llm_cost.budget.guard import BudgetGuard

Wrapper = Callable[..., Awaitable[Any]]


def _sends_over_aiohttp(instance: Any) -> bool:
    """Whether this client's async requests bypass httpx (else the wire capture records them)."""
    use = getattr(getattr(instance, "_api_client", None), "_use_aiohttp", None)
    try:
        return bool(use()) if callable(use) else False
    except Exception:
        return False


def _wire_request(instance: Any, kwargs: dict[str, Any], method: str) -> WireRequest:
    """The request as a Gemini room reads it: the model in the path, the config as ``generationConfig``,
    the texts to embed as ``requests`` (what an estimate needs)."""
    client = getattr(instance, "_api_client", None)
    model = kwargs.get("model")
    model = model.rsplit("/", 1)[-1] if isinstance(model, str) else ""
    url = urlsplit(str(getattr(getattr(client, "_http_options", None), "base_url", "") or ""))
    config = kwargs.get("config")
    if hasattr(config, "model_dump"):
        config = config.model_dump(exclude_none=True)
    body: dict[str, Any] = {"generationConfig": config} if isinstance(config, dict) else {}
    if method == "batchEmbedContents":
        texts = _texts(kwargs.get("contents", kwargs.get("content")))
        body["requests"] = [{"content": {"parts": [{"text": t}]}} for t in texts]
    return WireRequest(
        "POST",
        url.hostname,
        url.port or (443 if url.scheme == "https" else None),
        f"/models/{model}:{method}",
        body=body,
        provider="gcp.vertex_ai" if getattr(client, "vertexai", False) else "gcp.gemini",
    )


def _texts(contents: object) -> list[str]:
    """The texts of ``contents`` as the SDK takes them: a string, a Content, or a list of either."""
    if isinstance(contents, str):
        return [contents]
    if isinstance(contents, list | tuple):
        return [text for item in contents for text in _texts(item)]
    parts = getattr(contents, "parts", None) or (
        contents.get("parts") if isinstance(contents, dict) else None
    )
    if isinstance(parts, list):
        return [
            t
            for t in (
                getattr(p, "text", None) or (p.get("text") if isinstance(p, dict) else None) for p in parts
            )
            if isinstance(t, str)
        ]
    return []


def _start(tracer: Tracer, guard: BudgetGuard | None, room: WireApi, request: WireRequest) -> LLMInvocation:
    """Admit the call against the budgets (``BudgetExceeded`` propagates: nothing is sent), start its span."""
    model = room.request_model(request)
    ticket = None
    if guard is not None:
        config = (request.body or {}).get("generationConfig") or {}
        budget_view = {"model": model, "max_tokens": config.get("max_output_tokens")}
        ticket, _ = admit_request(guard, request.provider, room.operation, budget_view)
    attributes = room.request_attributes(request)
    if request.host:
        attributes[attr.SERVER_ADDRESS] = request.host
        if request.port:
            attributes[attr.SERVER_PORT] = request.port
    invocation = LLMInvocation(
        tracer,
        operation=room.operation,
        provider=request.provider,
        request_model=model,
        attributes=attributes,
    )
    if ticket is not None:
        ticket.bind(invocation)
    return invocation


def _call_wrapper(tracer: Tracer, guard: BudgetGuard | None, room: WireApi, method: str) -> Wrapper:
    async def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if LLM_SPAN_OPEN.get() or not is_instrumentation_enabled() or not _sends_over_aiohttp(instance):
            return await wrapped(*args, **kwargs)
        request = _wire_request(instance, kwargs, method)
        invocation = _start(tracer, guard, room, request)
        with covering(invocation.span):
            try:
                response = await wrapped(*args, **kwargs)
            except BaseException as error:
                invocation.fail(error)
                raise
        try:
            record_end(invocation, room.response_fields(response, request))
        except Exception:
            log_once("google_genai.response", "otel-llm-cost could not read a Gemini response", exc_info=True)
            invocation.stop(None)
        return response

    return wrapper


def async_generate_content(tracer: Tracer, guard: BudgetGuard | None = None) -> Wrapper:
    return _call_wrapper(tracer, guard, GENERATE_CONTENT, "generateContent")


def async_embed_content(tracer: Tracer, guard: BudgetGuard | None = None) -> Wrapper:
    return _call_wrapper(tracer, guard, EMBED_CONTENT, "batchEmbedContents")


class _StreamEnd(StreamRecorder):
    __slots__ = ("request",)

    def __init__(self, invocation: LLMInvocation, request: WireRequest) -> None:
        super().__init__(invocation, GENERATE_CONTENT.is_content_event)
        self.request = request

    def on_end(self, outcome: str, error: BaseException | None) -> None:
        fields = GENERATE_CONTENT.stream_fields(self.chunks, self.dropped, self.request)
        fields.attributes.pop(attr.LLM_COST_STREAM_OUTCOME, None)  # the iteration's own outcome wins
        record_end(self.invocation, fields, outcome, error)


def async_generate_content_stream(tracer: Tracer, guard: BudgetGuard | None = None) -> Wrapper:
    async def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if LLM_SPAN_OPEN.get() or not is_instrumentation_enabled() or not _sends_over_aiohttp(instance):
            return await wrapped(*args, **kwargs)
        request = _wire_request(instance, kwargs, "streamGenerateContent")
        invocation = _start(tracer, guard, GENERATE_CONTENT, request)
        with covering(invocation.span):
            try:
                chunks = await wrapped(*args, **kwargs)
            except BaseException as error:
                invocation.fail(error)
                raise
        return observe_async(chunks, _StreamEnd(invocation, request))

    return wrapper
