"""One LLM call as a span: started with the sampling-relevant attributes, ended exactly once.

Wrappers never touch spans directly: they start an :class:`LLMInvocation`, report the first streamed
chunk, and finish it with :meth:`LLMInvocation.stop` (a :class:`~otel_llm_cost.usage.Usage` and the
response fields) or :meth:`LLMInvocation.fail`. Usage and cost are set before the span ends, because
attributes freeze at ``end()``.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Status, StatusCode

from otel_llm_cost import _calls
from otel_llm_cost import attributes as attr
from otel_llm_cost._calls import InvocationListener as InvocationListener  # re-exported
from otel_llm_cost._calls import add_invocation_listener as add_invocation_listener  # re-exported
from otel_llm_cost._calls import remove_invocation_listener as remove_invocation_listener  # re-exported
from otel_llm_cost._log import log_once
from otel_llm_cost._sampling import span_sampling_probability
from otel_llm_cost._scrub import describe_error
from otel_llm_cost._span_attributes import set_plain_attributes
from otel_llm_cost._span_usage import SpanUsage, hand_over
from otel_llm_cost._steps import count_inference_call
from otel_llm_cost._values import drop_none as drop_none  # re-exported
from otel_llm_cost.instrumentation._open_calls import track, untrack
from otel_llm_cost.instrumentation._span_start import start_span
from otel_llm_cost.pricing import get_pricer
from otel_llm_cost.pricing._cost import add_cost_attributes

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer
    from opentelemetry.util.types import AttributeValue

    from otel_llm_cost.pricing import Cost
    from otel_llm_cost.usage import Usage


class LLMInvocation:
    """The span of one LLM call and the clock readings that go with it."""

    __slots__ = (
        "__weakref__",
        "_ended",
        "budget_ticket",
        "capture_content",
        "chunk_ns",
        "end_ns",
        "exit_hook",
        "first_chunk_ns",
        "late_attributes",
        "operation",
        "output_chunks",
        "provider",
        "request_model",
        "request_sent",
        "response_model",
        "server_address",
        "server_port",
        "span",
        "start_ns",
        "tracer",
    )

    def __init__(
        self,
        tracer: Tracer,
        *,
        operation: str,
        provider: str,
        request_model: str | None,
        attributes: dict[str, AttributeValue],
    ) -> None:
        """Start the span.

        Args:
            tracer: the instrumentation's tracer.
            operation: ``gen_ai.operation.name`` (``chat``, ``embeddings``...).
            provider: ``gen_ai.provider.name``.
            request_model: the model the caller asked for.
            attributes: request attributes known before the call (server address, parameters);
                passed at start so that samplers can see them. Taken over: the span starts with this dict.
        """
        self.operation = operation
        self.tracer = tracer
        self.provider = provider
        self.request_model = request_model
        self.response_model: str | None = None
        self.first_chunk_ns: int | None = None
        self.end_ns: int | None = None
        # Items a stream delivered, set by the stream proxy when it ends (None: not streamed).
        self.output_chunks: int | None = None
        # Arrival times (monotonic ns) of the chunks after the first content, set by the stream at its end.
        self.chunk_ns: Sequence[int] | None = None
        address, port = attributes.get(attr.SERVER_ADDRESS), attributes.get(attr.SERVER_PORT)
        self.server_address = address if isinstance(address, str) else None
        self.server_port = port if type(port) is int else None
        self._ended = False
        self.budget_ticket: Any = None  # the budget guard's reservation for this call, settled at the end
        # What other sources learn during the call (e.g. response headers), recorded with the outcome.
        self.late_attributes: dict[str, AttributeValue] | None = None
        # Whether the SDK built a request for this call (None: not known; see _sent.py).
        self.request_sent: bool | None = None
        self.capture_content = False  # whether the call records message content (the user opted in)
        attributes[attr.GEN_AI_OPERATION_NAME] = operation
        attributes[attr.GEN_AI_PROVIDER_NAME] = provider
        if request_model:
            attributes[attr.GEN_AI_REQUEST_MODEL] = request_model
        name = f"{operation} {request_model}" if request_model else operation
        self.span: Span = start_span(tracer, name, attributes)
        count_inference_call()
        self.start_ns = time.monotonic_ns()
        if self.span.is_recording():
            self._note_sampling(tracer)
        # How to end this call if the interpreter exits first (a weak method: a stream's recorder).
        self.exit_hook: weakref.WeakMethod[Callable[[], None]] | None = None
        track(self)

    def _note_sampling(self, tracer: Tracer) -> None:
        """Record the probability the span was sampled with, when known: the report's adjusted counts."""
        try:
            span = self.span
            probability = span_sampling_probability(
                getattr(tracer, "sampler", None), span.get_span_context(), span
            )
        except Exception:
            log_once(
                "invocation.sampling", "otel-llm-cost could not read the sampling probability", exc_info=True
            )
            return
        if probability is not None:
            self.late_attributes = {attr.LLM_COST_SAMPLING_PROBABILITY: probability}

    def first_chunk(self) -> None:
        """Mark the arrival of the first content-bearing chunk of a stream (first call wins)."""
        if self.first_chunk_ns is None:
            self.first_chunk_ns = time.monotonic_ns()

    @property
    def ended(self) -> bool:
        return self._ended

    def add_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        """Attributes learnt during the call, set on the span (with the outcome, in one pass) at its end.

        The outcome wins over them where both name an attribute. Ignored once the call has ended.
        """
        if self._ended or not attributes:
            return
        if self.late_attributes is None:
            self.late_attributes = dict(attributes)
        else:
            self.late_attributes.update(attributes)

    def stop(
        self,
        usage: Usage | None,
        *,
        response_model: str | None = None,
        response_attributes: dict[str, AttributeValue] | None = None,
        service_tier: str | None = None,
        provider_cost: object = None,
        stream_outcome: str | None = None,
    ) -> None:
        """Record the outcome of a successful (or abandoned) call and end the span.

        ``response_attributes`` is taken over (extended in place): pass a dict made for this call.
        """
        if self._ended:
            return
        self._ended = True
        self.response_model = response_model
        cost = None
        try:
            span = self.span
            recording = span.is_recording()
            if recording or _calls.listeners_after_end or _calls.listeners_before_end:
                cost = self._price(usage, response_model, service_tier, provider_cost)
            if recording:
                attributes = self._outcome_attributes(
                    usage, response_model, response_attributes, stream_outcome, cost
                )
                set_plain_attributes(span, attributes)
                self._hand_over(usage, cost, response_model, attributes)
        except Exception:  # our bug must not become the caller's
            log_once("invocation.stop", "otel-llm-cost could not record an LLM call", exc_info=True)
        self._end(usage, cost, None)

    def fail(
        self,
        error: BaseException,
        usage: Usage | None = None,
        *,
        stream_outcome: str | None = None,
        response_attributes: dict[str, AttributeValue] | None = None,
        error_type_name: str | None = None,
    ) -> None:
        """Record a failed call (the SDK's exception is re-raised by the caller, untouched).

        ``error_type_name`` replaces the exception's class name as ``error.type`` (an HTTP status code,
        where the wire capture sees an error response and no exception).
        """
        if self._ended:
            return
        self._ended = True
        cost = None
        try:
            span = self.span
            if span.is_recording():
                if usage is not None:
                    cost = self._price(usage, None, None, None)
                attributes = self._outcome_attributes(usage, None, response_attributes, stream_outcome, cost)
                attributes[attr.ERROR_TYPE] = error_type_name or error_type(error)
                set_plain_attributes(span, attributes)
                self._hand_over(usage, cost, None, attributes)
                span.set_status(Status(StatusCode.ERROR, describe_error(error)))
        except Exception:
            log_once("invocation.fail", "otel-llm-cost could not record a failed LLM call", exc_info=True)
        self._end(usage, cost, error)

    def refused(self, error: BaseException) -> None:
        """The SDK refused the call before sending any request (see ``_sent.py``): not an LLM call.

        The span ends without an error status, marked ``llm_cost.request.sent=false``; no metric or
        listener sees it (nothing was billed, no server failed); a budget reservation is released.
        """
        if self._ended:
            return
        self._ended = True
        try:
            if self.span.is_recording():
                self.span.set_attribute(attr.LLM_COST_REQUEST_SENT, False)
            if self.budget_ticket is not None:
                self.budget_ticket.settle(None, None, error)
        except Exception:
            log_once("invocation.refused", "otel-llm-cost could not record a refused call", exc_info=True)
        self.end_ns = time.monotonic_ns()
        try:
            self.span.end()
        except Exception:
            log_once("invocation.end", "otel-llm-cost could not end an LLM span", exc_info=True)

    def _end(self, usage: Usage | None, cost: Cost | None, error: BaseException | None) -> None:
        self.end_ns = time.monotonic_ns()
        untrack(self)
        for listener in _calls.listeners_before_end:
            try:
                listener(self, usage, cost, error)
            except Exception:
                log_once(f"invocation.listener.{listener!r}", "an invocation listener failed", exc_info=True)
        try:
            self.span.end()
        except Exception:
            log_once("invocation.end", "otel-llm-cost could not end an LLM span", exc_info=True)
        for listener in _calls.listeners_after_end:
            try:
                listener(self, usage, cost, error)
            except Exception:
                log_once(f"invocation.listener.{listener!r}", "an invocation listener failed", exc_info=True)

    def _hand_over(
        self,
        usage: Usage | None,
        cost: Cost | None,
        response_model: str | None,
        attributes: Mapping[str, Any],
    ) -> None:
        """Tell the cost processor what the span records, as it would read it back from the attributes."""
        if usage is None or cost is None:
            return
        response_id = attributes.get(attr.GEN_AI_RESPONSE_ID)
        found = SpanUsage(
            usage,
            response_model or self.request_model,
            self.provider.lower() if self.provider else None,
            cost_status=cost.status,
            cost_amount=cost.amount,
            response_id=response_id if isinstance(response_id, str) and response_id else None,
            cost_parts=cost.parts,
        )
        hand_over(self.span, found)

    def _price(
        self, usage: Usage | None, response_model: str | None, service_tier: str | None, provider_cost: object
    ) -> Cost | None:
        if usage is None:
            return None
        return get_pricer().price(
            usage,
            response_model or self.request_model,
            self.provider,
            service_tier=service_tier,
            provider_cost=provider_cost,  # type: ignore[arg-type]
        )

    def _outcome_attributes(
        self,
        usage: Usage | None,
        response_model: str | None,
        response_attributes: dict[str, AttributeValue] | None,
        stream_outcome: str | None,
        cost: Cost | None,
    ) -> dict[str, Any]:
        """Everything the span learns at its end, in one dict (one pass of the SDK's attribute checks)."""
        attributes: dict[str, Any] = self.late_attributes or response_attributes or {}
        if response_attributes and attributes is not response_attributes:
            attributes.update(response_attributes)
        if response_model:
            attributes[attr.GEN_AI_RESPONSE_MODEL] = response_model
        if self.first_chunk_ns is not None:
            attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (self.first_chunk_ns - self.start_ns) / 1e9
        if stream_outcome is not None:
            attributes[attr.LLM_COST_STREAM_OUTCOME] = stream_outcome
        # Generation: from the first chunk (a call not streamed has none: from its start) to now.
        generation = (time.monotonic_ns() - (self.first_chunk_ns or self.start_ns)) / 1e9
        attributes[attr.LLM_COST_PHASE_GENERATION] = generation
        if usage is not None:
            add_usage_attributes(attributes, usage)
            if generation > 0 and usage.output_tokens > 0:
                attributes[attr.LLM_COST_OUTPUT_TOKENS_PER_SECOND] = usage.output_tokens / generation
        if cost is not None:
            add_cost_attributes(attributes, cost)
        return attributes


def record_end(
    invocation: LLMInvocation,
    fields: Any,
    outcome: str | None = None,
    error: BaseException | None = None,
) -> None:
    """Stop (or, given an error, fail) an invocation with what a response or stream reported.

    ``fields`` is a room's :class:`~otel_llm_cost.apis.ResponseFields` (usage, model, attributes, service
    tier, provider cost); its attributes dict is taken over.
    """
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


def usage_attributes(usage: Usage) -> dict[str, AttributeValue]:
    """The span attributes of a usage record (semantic-convention names, inclusive totals)."""
    return add_usage_attributes({}, usage)


def add_usage_attributes(attributes: dict[str, Any], usage: Usage) -> dict[str, Any]:
    """Add :func:`usage_attributes` to ``attributes`` (in place, and returned): input and output
    tokens always, the other counts only when not zero."""
    (
        input_tokens,
        output_tokens,
        cache_read,
        cache_write,
        reasoning,
        write_5m,
        write_1h,
        source,
        units,
        steps,
    ) = usage
    attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
    attributes[attr.LLM_COST_USAGE_SOURCE] = source
    if cache_read:
        attributes[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cache_read
    if cache_write:
        attributes[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = cache_write
    if reasoning:
        attributes[attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = reasoning
    if write_5m is not None:
        attributes[attr.LLM_COST_USAGE_CACHE_WRITE_5M] = write_5m
    if write_1h is not None:
        attributes[attr.LLM_COST_USAGE_CACHE_WRITE_1H] = write_1h
    if units:
        for key, count in units.items():
            attributes[attr.LLM_COST_USAGE_UNIT_PREFIX + key] = count
    if steps:
        add_iteration_attributes(attributes, usage)
    return attributes


def add_iteration_attributes(attributes: dict[str, Any], usage: Usage) -> None:
    """The iterations billed on top of the totals: token sums and models (``llm_cost.usage.iterations.*``)."""
    extra = usage.extra_iterations
    if not extra:
        return
    attributes[attr.LLM_COST_USAGE_ITERATIONS_KINDS] = [step.kind for step in extra]
    attributes[attr.LLM_COST_USAGE_ITERATIONS_MODELS] = [step.model or "" for step in extra]
    attributes[attr.LLM_COST_USAGE_ITERATIONS_INPUT] = sum(step.usage.input_tokens for step in extra)
    attributes[attr.LLM_COST_USAGE_ITERATIONS_OUTPUT] = sum(step.usage.output_tokens for step in extra)
    cache_read = sum(step.usage.cache_read_tokens for step in extra)
    cache_write = sum(step.usage.cache_write_tokens for step in extra)
    if cache_read:
        attributes[attr.LLM_COST_USAGE_ITERATIONS_CACHE_READ] = cache_read
    if cache_write:
        attributes[attr.LLM_COST_USAGE_ITERATIONS_CACHE_WRITE] = cache_write


def error_type(error: BaseException) -> str:
    """``error.type``: the exception's fully qualified class name."""
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
