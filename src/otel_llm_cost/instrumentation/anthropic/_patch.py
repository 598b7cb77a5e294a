"""Wrapper factories for the Anthropic SDK's messages methods, sync and async twins side by side.

Each factory takes the tracer and returns a ``wrapt`` wrapper. A wrapper starts an
:class:`~otel_llm_cost.instrumentation._invocation.LLMInvocation`, runs the SDK call inside
:func:`~otel_llm_cost.instrumentation.anthropic._native.instrumented_call` (so that the SDK's own call
span folds into ours), and ends the invocation with the message, or hands it to a stream proxy.
Our failures are logged once and never reach the caller; the SDK's exceptions reach it untouched.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost._log import log_once
from otel_llm_cost.apis import _anthropic_fields as _extract
from otel_llm_cost.budget._hook import admit_request
from otel_llm_cost.instrumentation import _raw, _sent
from otel_llm_cost.instrumentation._caller import caller_trampoline
from otel_llm_cost.instrumentation._client_cache import ClientCache
from otel_llm_cost.instrumentation._invocation import LLMInvocation
from otel_llm_cost.instrumentation.anthropic import _content, _native, _streams

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from otel_llm_cost.budget import BudgetGuard, Ticket

Args = tuple[Any, ...]
Kwargs = dict[str, Any]
Wrapper = Callable[[Callable[..., Any], Any, Args, Kwargs], Any]

_CLIENTS: Final = ClientCache()  # client -> (provider, (host, port))
# The SDK's model base class (of Message, ParsedMessage: never a stream or a raw response), found on the
# first call: importing anthropic here would load it for apps that never do (#20).
_sdk_model: list[type] = []


def messages_create(tracer: Tracer, guard: BudgetGuard | None = None, capture: bool = False) -> Wrapper:
    """``Messages.create`` (and ``parse``): a ``Message``, or a ``Stream`` of events with ``stream=True``."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        ticket = None
        if guard is not None:  # may raise BudgetExceeded: refused before anything is sent
            ticket, kwargs = admit(guard, instance, kwargs)
        invocation = start_invocation(tracer, instance, kwargs, ticket=ticket, capture=capture)
        call = caller_trampoline()  # the SDK's warnings name our caller, not us
        if invocation is None:
            return call(wrapped, args, kwargs)
        with _calling(invocation, instance):
            try:
                result = call(wrapped, args, kwargs)
            except BaseException as error:
                fail(invocation, error)
                raise
        return finish(invocation, result, _streams.MessagesStream, kwargs)

    return wrapper


def async_messages_create(tracer: Tracer, guard: BudgetGuard | None = None, capture: bool = False) -> Wrapper:
    """``AsyncMessages.create`` (and ``parse``)."""

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        ticket = None
        if guard is not None:
            ticket, kwargs = admit(guard, instance, kwargs)
        invocation = start_invocation(tracer, instance, kwargs, ticket=ticket, capture=capture)
        if invocation is None:
            return await wrapped(*args, **kwargs)
        with _calling(invocation, instance):
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as error:
                fail(invocation, error)
                raise
        if _raw.raw_kind(result) == "AsyncAPIResponse" and not _extract.is_streaming(kwargs):
            # with_raw_response: the body is in memory, and parse() is a coroutine
            await _raw.parse_now_async(result, RawCall(invocation, _streams.AsyncMessagesStream, kwargs))
            return result
        return finish(invocation, result, _streams.AsyncMessagesStream, kwargs)

    return wrapper


def messages_stream(tracer: Tracer, guard: BudgetGuard | None = None, capture: bool = False) -> Wrapper:
    """``Messages.stream``: the request is sent, and the call starts, when its manager is entered."""
    return _stream_helper(tracer, _streams.MessageStreamManager, guard, capture)


def async_messages_stream(tracer: Tracer, guard: BudgetGuard | None = None, capture: bool = False) -> Wrapper:
    """``AsyncMessages.stream`` (a plain method returning an async context manager)."""
    return _stream_helper(tracer, _streams.AsyncMessageStreamManager, guard, capture)


def _stream_helper(
    tracer: Tracer, manager_type: type[Any], guard: BudgetGuard | None, capture: bool
) -> Wrapper:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        ticket = None
        if guard is not None:  # checked here, where the model can still be replaced
            ticket, kwargs = admit(guard, instance, kwargs)
        manager = caller_trampoline()(wrapped, args, kwargs)

        def start() -> tuple[LLMInvocation | None, AbstractContextManager[None]]:
            invocation = start_invocation(
                tracer, instance, kwargs, stream=True, ticket=ticket, capture=capture
            )
            if invocation is None:
                return None, nullcontext()
            return invocation, _calling(invocation, instance)

        try:
            return manager_type(manager, start, kwargs)
        except Exception:
            log_once("anthropic.stream_helper.proxy", "could not instrument messages.stream()", exc_info=True)
            return manager

    return wrapper


# --- the steps every wrapper shares ------------------------------------------------------------------------


def admit(guard: BudgetGuard, instance: Any, kwargs: Kwargs) -> tuple[Ticket | None, Kwargs]:
    """Reserve the call's worst case (kwargs back, maybe downgraded) or raise ``BudgetExceeded``."""
    try:
        provider = _CLIENTS.get(getattr(instance, "_client", None), _client_info)[0]
    except Exception:
        log_once(
            "anthropic.budget", "otel-llm-cost could not check an Anthropic call's budget", exc_info=True
        )
        return None, kwargs
    return admit_request(guard, provider, _extract.OPERATION, kwargs)


def _client_info(client: object) -> tuple[str, tuple[str | None, int | None]]:
    """The client's provider and (host, port), worked out once per client (``_CLIENTS``)."""
    return _extract.get_provider(client), _extract.get_server(client)


def start_invocation(
    tracer: Tracer,
    instance: Any,
    kwargs: Mapping[str, Any],
    *,
    stream: bool | None = None,
    ticket: Ticket | None = None,
    capture: bool = False,
) -> LLMInvocation | None:
    """Start the call's span from its request; ``None`` (call left uninstrumented) if that fails."""
    try:
        provider, server = _CLIENTS.get(getattr(instance, "_client", None), _client_info)
        params = _extract.request_params(kwargs)
        streaming = _extract.is_streaming(params) if stream is None else stream
        attributes = _extract.request_attributes(params, stream=streaming, server=server)
        if capture:
            attributes.update(_content.input_attributes(kwargs))
        invocation = LLMInvocation(
            tracer,
            operation=_extract.OPERATION,
            provider=provider,
            request_model=_extract.get_request_model(params),
            attributes=attributes,
        )
        invocation.capture_content = capture
        if ticket is not None:
            ticket.bind(invocation)
        return invocation
    except Exception:
        log_once("anthropic.start", "otel-llm-cost could not start an Anthropic span", exc_info=True)
        if ticket is not None:
            ticket.abandon()
        return None


class _calling:  # lower case: used like the context-manager function it replaced
    """The scope the SDK call runs in: the SDK's own span folded into ours, requests built marked.

    A class rather than ``@contextmanager``: it runs on every call, and a generator costs more.
    """

    __slots__ = ("_fold", "_sending")

    def __init__(self, invocation: LLMInvocation, instance: Any) -> None:
        self._fold = _native.instrumented_call(invocation, getattr(instance, "_client", None))
        self._sending = _sent.sending(invocation, _native.SDK_HOOK_MODULE)

    def __enter__(self) -> None:
        self._fold.__enter__()
        try:
            self._sending.__enter__()
        except BaseException:
            self._fold.__exit__(None, None, None)
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._sending.__exit__(*exc_info)
        finally:
            self._fold.__exit__(*exc_info)


def finish(invocation: LLMInvocation, result: Any, stream_type: type[Any], kwargs: Kwargs) -> Any:
    """End the call with its message, or return the proxy (stream, raw response) that will.

    Returns what the caller gets.
    """
    try:
        if _is_sdk_model(result):  # a Message: the common case, without the type probes below
            _stop_with_message(invocation, result, kwargs)
            return result
        if _is_event_stream(result):
            return stream_type(result, invocation, kwargs)
        kind = _raw.raw_kind(result)  # with_raw_response / with_streaming_response
        if kind is not None:
            call = RawCall(invocation, stream_type, kwargs)
            streaming = _extract.is_streaming(kwargs)
            if _raw.body_in_memory(kind, kwargs, streaming):
                _raw.parse_now(result, call)
                return result
            return _raw.wrap_raw(result, kind, call, streaming)
        _stop_with_message(invocation, result, kwargs)
    except Exception:
        log_once("anthropic.finish", "otel-llm-cost could not record an Anthropic call", exc_info=True)
        invocation.stop(None)
    return result


def fail(invocation: LLMInvocation, error: BaseException) -> None:
    if _sent.refused_locally(invocation, error):
        invocation.refused(error)  # e.g. "Streaming is required": nothing was sent
        return
    try:
        request_id = _extract.get_request_id(error)
        response = _extract.response_attributes(None, None, request_id)
    except Exception:
        response = None
    invocation.fail(error, response_attributes=response)


def _stop_with_message(invocation: LLMInvocation, message: Any, kwargs: Kwargs) -> None:
    usage_block = message.get("usage") if isinstance(message, dict) else getattr(message, "usage", None)
    usage = _extract.extract_usage(usage_block)
    if usage is None:  # a server that sends no usage block: estimated, as for OpenAI
        usage = _content.estimated_usage(kwargs, message)
    invocation.stop(
        usage,
        response_model=_extract.get_response_model(message),
        response_attributes=_response_attributes(invocation, message),
        service_tier=_extract.get_service_tier(usage_block) if usage_block is not None else None,
    )


def _response_attributes(invocation: LLMInvocation, message: Any) -> dict[str, Any]:
    attributes = _extract.message_attributes(message, _extract.get_request_id(message))
    if invocation.capture_content:
        attributes.update(_content.output_attributes(message))
    return attributes


class RawCall:
    """An Anthropic call answered raw: the callbacks of :mod:`otel_llm_cost.instrumentation._raw`."""

    __slots__ = ("invocation", "kwargs", "stream", "stream_type")

    def __init__(self, invocation: LLMInvocation, stream_type: type[Any], kwargs: Kwargs) -> None:
        self.invocation = invocation
        self.stream_type = stream_type
        self.kwargs = kwargs
        self.stream: Any = None

    def parsed(self, result: Any) -> Any:
        try:
            if _is_event_stream(result):
                if self.stream is None:
                    self.stream = self.stream_type(result, self.invocation, self.kwargs)
                    return self.stream
                return self.stream if self.stream.__wrapped__ is result else result
            if not self.invocation.ended:
                _stop_with_message(self.invocation, result, self.kwargs)
        except Exception:
            log_once("anthropic.parsed", "otel-llm-cost could not record a raw Anthropic call", exc_info=True)
            self.invocation.stop(None)
        return result

    def failed(self, error: BaseException) -> None:
        fail(self.invocation, error)

    def release(self, closed: bool = True) -> None:
        try:
            _raw.release(self.stream, self.invocation, closed, _extract.is_streaming(self.kwargs))
        except Exception:
            log_once("anthropic.release", "otel-llm-cost could not end a raw Anthropic call", exc_info=True)

    def decoded(self, body: object) -> None:
        if not self.invocation.ended:
            self.parsed(body)

    def raw_stream_recorder(self) -> Any:
        if self.invocation.ended:
            return None
        return _streams.events_recorder(self.invocation, None, self.kwargs)


def _is_sdk_model(result: Any) -> bool:
    if not _sdk_model:
        model = getattr(sys.modules.get("anthropic"), "BaseModel", None)
        if not isinstance(model, type):
            return False
        _sdk_model.append(model)
    return isinstance(result, _sdk_model[0])


def _is_event_stream(result: Any) -> bool:
    kind = type(result)
    return hasattr(kind, "__next__") or hasattr(kind, "__anext__")
