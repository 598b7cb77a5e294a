"""Wrapper factories for the Anthropic SDK's messages methods, sync and async twins side by side.

Each factory takes the tracer and returns a ``wrapt`` wrapper. A wrapper starts an
:class:`~otel_llm_cost.instrumentation._invocation.LLMInvocation`, runs the SDK call inside
:func:`~otel_llm_cost.instrumentation.anthropic._native.instrumented_call` (so that the SDK's own call
span folds into ours), and ends the invocation with the message, or hands it to a stream proxy.
Our failures are logged once and never reach the caller; the SDK's exceptions reach it untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from otel_llm_cost._log import log_once
from otel_llm_cost.budget._hook import admit_request
from otel_llm_cost.instrumentation._caller import caller_trampoline
from otel_llm_cost.instrumentation._invocation import LLMInvocation
from otel_llm_cost.instrumentation.anthropic import _extract, _native, _streams

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from otel_llm_cost.budget import BudgetGuard, Ticket

Args = tuple[Any, ...]
Kwargs = dict[str, Any]
Wrapper = Callable[[Callable[..., Any], Any, Args, Kwargs], Any]


def messages_create(tracer: Tracer, guard: BudgetGuard | None = None) -> Wrapper:
    """``Messages.create`` (and ``parse``): a ``Message``, or a ``Stream`` of events with ``stream=True``."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        ticket = None
        if guard is not None:  # may raise BudgetExceeded: refused before anything is sent
            ticket, kwargs = admit(guard, instance, kwargs)
        invocation = start_invocation(tracer, instance, kwargs, ticket=ticket)
        call = caller_trampoline()  # the SDK's warnings name our caller, not us
        if invocation is None:
            return call(wrapped, args, kwargs)
        with _native.instrumented_call(invocation, getattr(instance, "_client", None)):
            try:
                result = call(wrapped, args, kwargs)
            except BaseException as error:
                fail(invocation, error)
                raise
        return finish(invocation, result, _streams.MessagesStream)

    return wrapper


def async_messages_create(tracer: Tracer, guard: BudgetGuard | None = None) -> Wrapper:
    """``AsyncMessages.create`` (and ``parse``)."""

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        ticket = None
        if guard is not None:
            ticket, kwargs = admit(guard, instance, kwargs)
        invocation = start_invocation(tracer, instance, kwargs, ticket=ticket)
        if invocation is None:
            return await wrapped(*args, **kwargs)
        with _native.instrumented_call(invocation, getattr(instance, "_client", None)):
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as error:
                fail(invocation, error)
                raise
        return finish(invocation, result, _streams.AsyncMessagesStream)

    return wrapper


def messages_stream(tracer: Tracer, guard: BudgetGuard | None = None) -> Wrapper:
    """``Messages.stream``: the request is sent, and the call starts, when its manager is entered."""
    return _stream_helper(tracer, _streams.MessageStreamManager, guard)


def async_messages_stream(tracer: Tracer, guard: BudgetGuard | None = None) -> Wrapper:
    """``AsyncMessages.stream`` (a plain method returning an async context manager)."""
    return _stream_helper(tracer, _streams.AsyncMessageStreamManager, guard)


def _stream_helper(tracer: Tracer, manager_type: type[Any], guard: BudgetGuard | None) -> Wrapper:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        ticket = None
        if guard is not None:  # checked here, where the model can still be replaced
            ticket, kwargs = admit(guard, instance, kwargs)
        manager = caller_trampoline()(wrapped, args, kwargs)

        def start() -> tuple[LLMInvocation | None, AbstractContextManager[None]]:
            invocation = start_invocation(tracer, instance, kwargs, stream=True, ticket=ticket)
            if invocation is None:
                return None, nullcontext()
            return invocation, _native.instrumented_call(invocation, getattr(instance, "_client", None))

        try:
            return manager_type(manager, start)
        except Exception:
            log_once("anthropic.stream_helper.proxy", "could not instrument messages.stream()", exc_info=True)
            return manager

    return wrapper


# --- the steps every wrapper shares ------------------------------------------------------------------------


def admit(guard: BudgetGuard, instance: Any, kwargs: Kwargs) -> tuple[Ticket | None, Kwargs]:
    """Reserve the call's worst case (kwargs back, maybe downgraded) or raise ``BudgetExceeded``."""
    try:
        provider = _extract.get_provider(getattr(instance, "_client", None))
    except Exception:
        log_once(
            "anthropic.budget", "otel-llm-cost could not check an Anthropic call's budget", exc_info=True
        )
        return None, kwargs
    return admit_request(guard, provider, _extract.OPERATION, kwargs)


def start_invocation(
    tracer: Tracer,
    instance: Any,
    kwargs: Mapping[str, Any],
    *,
    stream: bool | None = None,
    ticket: Ticket | None = None,
) -> LLMInvocation | None:
    """Start the call's span from its request; ``None`` (call left uninstrumented) if that fails."""
    try:
        client = getattr(instance, "_client", None)
        params = _extract.request_params(kwargs)
        streaming = _extract.is_streaming(params) if stream is None else stream
        attributes = _extract.request_attributes(params, stream=streaming, server=_extract.get_server(client))
        invocation = LLMInvocation(
            tracer,
            operation=_extract.OPERATION,
            provider=_extract.get_provider(client),
            request_model=_extract.get_request_model(params),
            attributes=attributes,
        )
        if ticket is not None:
            ticket.bind(invocation)
        return invocation
    except Exception:
        log_once("anthropic.start", "otel-llm-cost could not start an Anthropic span", exc_info=True)
        if ticket is not None:
            ticket.abandon()
        return None


def finish(invocation: LLMInvocation, result: Any, stream_type: type[Any]) -> Any:
    """End the call with its message, or return the stream proxy that will. Returns what the caller gets."""
    try:
        if _is_event_stream(result):
            return stream_type(result, invocation)
        _stop_with_message(invocation, result)
    except Exception:
        log_once("anthropic.finish", "otel-llm-cost could not record an Anthropic call", exc_info=True)
        invocation.stop(None)
    return result


def fail(invocation: LLMInvocation, error: BaseException) -> None:
    try:
        request_id = _extract.get_request_id(error)
        response = _extract.response_attributes(None, None, request_id)
    except Exception:
        response = None
    invocation.fail(error, response_attributes=response)


def _stop_with_message(invocation: LLMInvocation, message: Any) -> None:
    usage_block = getattr(message, "usage", None)
    if usage_block is None:
        # A raw response (``with_raw_response``) or an unknown type: the span ends without usage.
        invocation.stop(None)
        return
    invocation.stop(
        _extract.extract_usage(usage_block),
        response_model=_extract.get_response_model(message),
        response_attributes=_extract.message_attributes(message, _extract.get_request_id(message)),
        service_tier=_extract.get_service_tier(usage_block),
    )


def _is_event_stream(result: Any) -> bool:
    kind = type(result)
    return hasattr(kind, "__next__") or hasattr(kind, "__anext__")
