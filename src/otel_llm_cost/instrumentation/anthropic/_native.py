"""One span per call alongside the SDK's own tracing: the SDK's call span is folded into ours.

Since 1.x the ``anthropic`` SDK emits its own ``CLIENT`` span per API call (``anthropic.messages.create``)
unless the client is built with ``open_telemetry=False`` (or ``{"traces": False}``) or, for a client given
no option, ``ANTHROPIC_OPEN_TELEMETRY=false`` is set. Left alone, an instrumented call would produce two
LLM spans, and cost roll-ups would count it twice.

Design: for the calls we instrument, the SDK gets a stand-in span instead of a real one
(:class:`_FoldedSpan`). The SDK's request hook ``anthropic._base_client.start_api_call_span`` is wrapped;
inside an instrumented call it returns the stand-in, which carries *our* span's context, so the
``traceparent`` the SDK sends, and any HTTP-client spans, belong to our span. It ends nothing: our span
ends once, when the call (or its stream) does. Two modes:

- quiet (the SDK's default ``metadata_only`` content mode): the stand-in does not record, so the SDK
  skips its own tracing work (attribute reads of the request and response, a hook per stream event,
  a snapshot of every streamed message). The SDK's result hook ``finish_api_call_span`` is wrapped to
  read what users look for in the response instead: ``http.response.status_code``,
  ``http.request.resend_count``, ``anthropic.organization.id`` and ``anthropic.workspace.id``
  (``anthropic.request.id`` comes from our extractors, as always).
- recording (the client's content mode is ``content``): the stand-in records, and what the SDK writes
  (content, ``url.*``, ``anthropic.beta``, ``anthropic.thinking.*``...) reaches our span at its end,
  except the attributes we own (request parameters, usage, time to first chunk, response id/model/
  finish reasons, error.type): those come from our extractors, under the conventions every provider here
  shares. Anything the SDK writes after our span ended is dropped silently.

Why fold rather than enrich the SDK's span: the SDK's span may go to another tracer provider than the
one given to ``instrument()`` (the client's ``tracer_provider`` option, or the global one), which would
split cost roll-ups from the spans they belong to; it ends when the response body is read, which a
stream proxy cannot order against its own end; and SDKs before 1.x have no span at all. Folding gives
the same span, with the same attributes, whether the SDK's tracing is on, off, or absent.

What changes for users with the SDK's tracing on: instrumented calls' spans are named ``chat {model}``
and go to our tracer provider; the SDK's other spans (tool runners, sessions, batches, count_tokens) are
untouched. Calls with the SDK's tracing off get our span alone, from our extractors.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost.instrumentation._active import LLM_SPAN_OPEN

if TYPE_CHECKING:
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

    from otel_llm_cost.instrumentation._invocation import LLMInvocation

SDK_HOOK_MODULE = "anthropic._base_client"
SDK_HOOK = "start_api_call_span"
SDK_RESULT_HOOK = "finish_api_call_span"

# What our extractors decide, whatever the SDK says.
_OWNED: frozenset[str] = frozenset(
    {
        attr.GEN_AI_OPERATION_NAME,
        attr.GEN_AI_PROVIDER_NAME,
        attr.GEN_AI_REQUEST_MODEL,
        attr.GEN_AI_REQUEST_MAX_TOKENS,
        attr.GEN_AI_REQUEST_TEMPERATURE,
        attr.GEN_AI_REQUEST_TOP_P,
        attr.GEN_AI_REQUEST_TOP_K,
        attr.GEN_AI_REQUEST_STOP_SEQUENCES,
        attr.GEN_AI_REQUEST_STREAM,
        attr.GEN_AI_RESPONSE_ID,
        attr.GEN_AI_RESPONSE_MODEL,
        attr.GEN_AI_RESPONSE_FINISH_REASONS,
        attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
        attr.ANTHROPIC_REQUEST_ID,
        attr.SERVER_ADDRESS,
        attr.SERVER_PORT,
        attr.ERROR_TYPE,
    }
)
_OWNED_PREFIXES = ("gen_ai.usage.", "llm_cost.")

# Response headers worth a span attribute (the request id has its own extractor).
_RESPONSE_HEADERS = (
    ("anthropic.organization.id", "anthropic-organization-id"),
    ("anthropic.workspace.id", "anthropic-workspace-id"),
)
_STATUS_CODE = "http.response.status_code"
_RESEND_COUNT = "http.request.resend_count"

_active: contextvars.ContextVar[_Fold | None] = contextvars.ContextVar(
    "otel_llm_cost_anthropic_fold", default=None
)
# Whether the SDK's result hook is wrapped (quiet stand-ins rely on it for the response headers).
_result_hook = [False]


def hook_results(on: bool) -> None:
    """Tell the folding whether :func:`finish_api_call_span` is installed (by the instrumentor)."""
    _result_hook[0] = on


class _Fold:
    """The instrumented call in progress, waiting for the SDK to ask for its span."""

    __slots__ = ("claimed", "invocation", "quiet")

    def __init__(self, invocation: LLMInvocation, quiet: bool) -> None:
        self.invocation = invocation
        self.quiet = quiet
        self.claimed = False


class instrumented_call:  # lower case: used like the context-manager function it replaced
    """Run an SDK call as ``invocation``: its span is current, and the SDK's call span folds into it.

    A class rather than ``@contextmanager``: it runs on every call, and a generator costs more.
    """

    __slots__ = ("_context_token", "_fold", "_open_token", "_token")

    def __init__(self, invocation: LLMInvocation, client: object = None) -> None:
        self._fold = _Fold(invocation, _result_hook[0] and not _records_content(client))

    def __enter__(self) -> None:
        self._token = _active.set(self._fold)
        self._open_token = LLM_SPAN_OPEN.set(True)  # the wire capture beneath adds nothing
        self._context_token = otel_context.attach(trace.set_span_in_context(self._fold.invocation.span))

    def __exit__(self, *exc_info: object) -> None:
        otel_context.detach(self._context_token)
        LLM_SPAN_OPEN.reset(self._open_token)
        _active.reset(self._token)


def _records_content(client: object) -> bool:
    """Whether the client's tracing is in ``content`` mode (then the SDK records it on the stand-in)."""
    return getattr(getattr(client, "_otel", None), "records_content", False) is True


def start_api_call_span(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict
) -> Any:
    """Wrapper of the SDK's call-span factory: inside an instrumented call, hand it our stand-in."""
    fold = _active.get()
    if fold is None or fold.claimed:
        return wrapped(*args, **kwargs)
    fold.claimed = True  # the call's first request is its span; retries are not new calls
    if fold.quiet:
        options = args[2] if len(args) > 2 else kwargs.get("options")
        if getattr(options, "span_name", None):  # else the SDK has no span for it either
            return _FoldedSpan(fold.invocation, None, recording=False)
    tracer = _FoldingTracer(fold.invocation)
    if args:
        args = (tracer, *args[1:])
    else:
        kwargs = {**kwargs, "tracer": tracer}
    return wrapped(*args, **kwargs)


def finish_api_call_span(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict
) -> Any:
    """Wrapper of the SDK's result hook: a quiet stand-in takes the response's headers, the SDK nothing."""
    span = args[1] if len(args) > 1 else kwargs.get("span")
    if not isinstance(span, _FoldedSpan) or not span.quiet:
        return wrapped(*args, **kwargs)
    try:
        result = args[2] if len(args) > 2 else kwargs.get("result")
        span.invocation.add_attributes(response_attributes(result))
    except Exception:
        log_once("anthropic.native.result", "could not read an Anthropic response's headers", exc_info=True)
    return None


def response_attributes(result: object) -> dict[str, AttributeValue]:
    """Status code, resend count and account headers of the SDK's ``ApiCallResult``."""
    attributes: dict[str, AttributeValue] = {}
    response = getattr(result, "final_attempt", None)
    if response is not None:
        attributes[_STATUS_CODE] = response.status_code
        headers = response.headers
        for attribute, header in _RESPONSE_HEADERS:
            value = headers.get(header)
            if value:
                attributes[attribute] = value
    resends = getattr(result, "resend_count", 0)
    if resends:
        attributes[_RESEND_COUNT] = resends
    return attributes


def sdk_attributes(attributes: Mapping[str, AttributeValue] | None) -> dict[str, AttributeValue]:
    """The SDK's attributes that we keep: all but those our extractors own."""
    if not attributes:
        return {}
    return {key: value for key, value in attributes.items() if is_sdk_attribute(key)}


def is_sdk_attribute(key: str) -> bool:
    """Whether the SDK's value of ``key`` is kept (ours wins for the attributes our extractors own)."""
    return key not in _OWNED and not key.startswith(_OWNED_PREFIXES)


class _FoldingTracer(trace.Tracer):
    """A tracer with one span to give: the stand-in for the instrumented call's span."""

    def __init__(self, invocation: LLMInvocation) -> None:
        self._invocation = invocation

    def start_span(
        self, name: str, context: Any = None, kind: Any = None, attributes: Any = None, **_: Any
    ) -> Span:
        return _FoldedSpan(self._invocation, attributes, recording=True)

    @contextmanager
    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Iterator[Span]:
        span = self.start_span(name, *args, **kwargs)
        with trace.use_span(span, end_on_exit=False):
            yield span


class _FoldedSpan(NonRecordingSpan):
    """The SDK's view of our span: our context; what it records (when recording) reaches ours at its end."""

    def __init__(
        self,
        invocation: LLMInvocation,
        attributes: Mapping[str, AttributeValue] | None,
        *,
        recording: bool = True,
    ) -> None:
        super().__init__(invocation.span.get_span_context())
        self.invocation = invocation
        self.quiet = not recording
        self._recording = recording and invocation.span.is_recording()
        if attributes:
            self.set_attributes(attributes)

    def is_recording(self) -> bool:
        return self._recording and not self.invocation.ended

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        if self.is_recording():
            self.invocation.add_attributes(sdk_attributes(attributes))

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        if self.is_recording() and is_sdk_attribute(key):
            self.invocation.add_attributes({key: value})
