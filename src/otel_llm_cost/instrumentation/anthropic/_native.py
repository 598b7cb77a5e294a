"""One span per call alongside the SDK's own tracing: the SDK's call span is folded into ours.

Since 1.x the ``anthropic`` SDK emits its own ``CLIENT`` span per API call (``anthropic.messages.create``)
unless the client is built with ``open_telemetry=False`` (or ``{"traces": False}``) or, for a client given
no option, ``ANTHROPIC_OPEN_TELEMETRY=false`` is set. Left alone, an instrumented call would produce two
LLM spans, and cost roll-ups would count it twice.

Design: for the calls we instrument, the SDK gets a stand-in span instead of a real one
(:class:`_FoldedSpan`). The SDK's request hook ``anthropic._base_client.start_api_call_span`` is wrapped;
inside an instrumented call it is handed a tracer whose only span is the stand-in. The stand-in:

- carries *our* span's context, so the ``traceparent`` the SDK sends, and any HTTP-client spans,
  belong to our span;
- copies what the SDK records onto our span as the SDK records it (``anthropic.request.id``,
  ``anthropic.organization.id``, ``http.response.status_code``, ``url.*``, ``anthropic.beta``,
  ``anthropic.thinking.*``, service tiers, content in the SDK's content mode...), except the attributes
  we own (request parameters, usage, time to first chunk, response id/model/finish reasons, error.type):
  those come from our extractors, under the conventions every provider here shares;
- ends nothing: our span ends once, when the call (or its stream) does, and anything the SDK writes
  after that is dropped silently.

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

if TYPE_CHECKING:
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

    from otel_llm_cost.instrumentation._invocation import LLMInvocation

SDK_HOOK_MODULE = "anthropic._base_client"
SDK_HOOK = "start_api_call_span"

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

_active: contextvars.ContextVar[_Fold | None] = contextvars.ContextVar(
    "otel_llm_cost_anthropic_fold", default=None
)


class _Fold:
    """The instrumented call in progress, waiting for the SDK to ask for its span."""

    __slots__ = ("claimed", "invocation")

    def __init__(self, invocation: LLMInvocation) -> None:
        self.invocation = invocation
        self.claimed = False


@contextmanager
def instrumented_call(invocation: LLMInvocation) -> Iterator[None]:
    """Run an SDK call as ``invocation``: its span is current, and the SDK's call span folds into it."""
    token = _active.set(_Fold(invocation))
    context_token = otel_context.attach(trace.set_span_in_context(invocation.span))
    try:
        yield
    finally:
        otel_context.detach(context_token)
        _active.reset(token)


def start_api_call_span(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict
) -> Any:
    """Wrapper of the SDK's call-span factory: inside an instrumented call, hand it our stand-in."""
    fold = _active.get()
    if fold is None or fold.claimed:
        return wrapped(*args, **kwargs)
    fold.claimed = True  # the call's first request is its span; retries are not new calls
    tracer = _FoldingTracer(fold.invocation)
    if args:
        args = (tracer, *args[1:])
    else:
        kwargs = {**kwargs, "tracer": tracer}
    return wrapped(*args, **kwargs)


def sdk_attributes(attributes: Mapping[str, AttributeValue] | None) -> dict[str, AttributeValue]:
    """The SDK's attributes that we keep: all but those our extractors own."""
    if not attributes:
        return {}
    return {
        key: value
        for key, value in attributes.items()
        if key not in _OWNED and not key.startswith(_OWNED_PREFIXES)
    }


class _FoldingTracer(trace.Tracer):
    """A tracer with one span to give: the stand-in for the instrumented call's span."""

    def __init__(self, invocation: LLMInvocation) -> None:
        self._invocation = invocation

    def start_span(
        self, name: str, context: Any = None, kind: Any = None, attributes: Any = None, **_: Any
    ) -> Span:
        return _FoldedSpan(self._invocation, attributes)

    @contextmanager
    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Iterator[Span]:
        span = self.start_span(name, *args, **kwargs)
        with trace.use_span(span, end_on_exit=False):
            yield span


class _FoldedSpan(NonRecordingSpan):
    """The SDK's view of our span: our context; its attributes copied to ours while ours is open."""

    def __init__(self, invocation: LLMInvocation, attributes: Mapping[str, AttributeValue] | None) -> None:
        super().__init__(invocation.span.get_span_context())
        self._invocation = invocation
        self.set_attributes(attributes or {})

    def is_recording(self) -> bool:
        return not self._invocation.ended and self._invocation.span.is_recording()

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        if not self.is_recording():
            return
        kept = sdk_attributes(attributes)
        if kept:
            try:
                self._invocation.span.set_attributes(kept)
            except Exception:
                log_once(
                    "anthropic.native.attributes", "could not copy the SDK's span attributes", exc_info=True
                )

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self.set_attributes({key: value})
