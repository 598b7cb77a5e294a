"""Spans for agent code: ``agent_step`` around a step, ``tool_call`` around a tool execution.

Both are context managers (sync and async) and decorators (of sync and async functions), and follow
the GenAI agent conventions: an ``invoke_agent {name}`` span with ``gen_ai.operation.name`` =
``invoke_agent`` and ``gen_ai.agent.name``, an ``execute_tool {name}`` span with ``execute_tool`` and
``gen_ai.tool.name``. The cost span processor rolls the cost of the LLM calls below a step up to it
and splits its duration into phases (:mod:`otel_llm_cost.phases`)::

    from otel_llm_cost import agent_step, tool_call

    @agent_step("plan", agent="researcher")
    def plan(question: str) -> str:
        with tool_call("search"):
            hits = search(question)
        return client.chat.completions.create(...).choices[0].message.content

    async with agent_step("answer", conversation_id=session_id) as span:
        ...

**Nesting.** Steps, tools and LLM calls nest through the OpenTelemetry context, which lives in
``contextvars``: asyncio tasks inherit it when they are created, but a new thread starts with an
empty context. Run work in another thread with :func:`bind_context` (or
``contextvars.copy_context().run``) so that its calls land under the step::

    with agent_step("fan out"), ThreadPoolExecutor() as pool:
        results = list(pool.map(bind_context(fetch), urls))

**Errors.** An exception leaving the block sets the span's status to ERROR with ``error.type`` and is
re-raised unchanged.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
import weakref
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, NamedTuple, ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost.instrumentation._invocation import error_type
from otel_llm_cost.version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue

__all__ = ["StepNames", "agent_step", "bind_context", "current_step", "tool_call"]

P = ParamSpec("P")
R = TypeVar("R")

INVOKE_AGENT: Final = "invoke_agent"
EXECUTE_TOOL: Final = "execute_tool"
SPAN_TYPE_STEP: Final = "agent_step"
SPAN_TYPE_TOOL: Final = "tool"


class StepNames(NamedTuple):
    """The agent and step an LLM call runs under (metric attributes)."""

    agent: str | None
    step: str | None


_NO_STEP: Final = StepNames(None, None)
_current: ContextVar[StepNames] = ContextVar("otel_llm_cost_step", default=_NO_STEP)

_tracers: weakref.WeakKeyDictionary[Any, Tracer] = weakref.WeakKeyDictionary()
_tracers_lock = threading.Lock()


def current_step() -> StepNames:
    """The innermost open :func:`agent_step` in this context (``(None, None)`` outside any)."""
    return _current.get()


def bind_context(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, run in (a copy of) the context current now: for work handed to other threads.

    Each call runs in its own copy, so the result may be called from several threads at once.
    """
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return captured.copy().run(fn, *args, **kwargs)

    return run


def agent_step(
    name: str,
    *,
    agent: str | None = None,
    conversation_id: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> _Scope:
    """A span for one agent step: ``invoke_agent {name}``; a context manager or a decorator.

    Args:
        name: The step's name (``llm_cost.step.name``; low cardinality: it labels metrics).
        agent: ``gen_ai.agent.name``; default: the enclosing step's agent, else ``name``.
        conversation_id: ``gen_ai.conversation.id``.
        attributes: More span attributes, set at start.
        tracer_provider: Where the span goes; default the global provider.

    Returns:
        A scope: ``with`` / ``async with`` it (the value is the span), or decorate a function with it.
    """
    return _Scope(_StepSpec(name, agent, conversation_id, attributes, tracer_provider))


def tool_call(
    name: str,
    *,
    call_id: str | None = None,
    tool_type: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> _Scope:
    """A span for one tool execution: ``execute_tool {name}``; a context manager or a decorator.

    Args:
        name: ``gen_ai.tool.name``.
        call_id: ``gen_ai.tool.call.id``, the id the model gave the tool call.
        tool_type: ``gen_ai.tool.type`` (``function``, ``extension``, ``datastore``).
        attributes: More span attributes, set at start.
        tracer_provider: Where the span goes; default the global provider.

    Returns:
        A scope: ``with`` / ``async with`` it (the value is the span), or decorate a function with it.
    """
    return _Scope(_ToolSpec(name, call_id, tool_type, attributes, tracer_provider))


class _StepSpec(NamedTuple):
    name: str
    agent: str | None
    conversation_id: str | None
    attributes: Mapping[str, AttributeValue] | None
    tracer_provider: TracerProvider | None

    def start(self) -> tuple[Span, StepNames | None]:
        outer = _current.get()
        agent = self.agent or outer.agent or self.name
        values: dict[str, AttributeValue] = dict(self.attributes or {})
        values[attr.GEN_AI_OPERATION_NAME] = INVOKE_AGENT
        values[attr.GEN_AI_AGENT_NAME] = agent
        values[attr.LLM_COST_STEP_NAME] = self.name
        values[attr.LLM_COST_SPAN_TYPE] = SPAN_TYPE_STEP
        if self.conversation_id is not None:
            values[attr.GEN_AI_CONVERSATION_ID] = self.conversation_id
        span = _tracer(self.tracer_provider).start_span(
            f"{INVOKE_AGENT} {self.name}", kind=SpanKind.INTERNAL, attributes=values
        )
        return span, StepNames(agent, self.name)


class _ToolSpec(NamedTuple):
    name: str
    call_id: str | None
    tool_type: str | None
    attributes: Mapping[str, AttributeValue] | None
    tracer_provider: TracerProvider | None

    def start(self) -> tuple[Span, StepNames | None]:
        values: dict[str, AttributeValue] = dict(self.attributes or {})
        values[attr.GEN_AI_OPERATION_NAME] = EXECUTE_TOOL
        values[attr.GEN_AI_TOOL_NAME] = self.name
        values[attr.LLM_COST_SPAN_TYPE] = SPAN_TYPE_TOOL
        if self.call_id is not None:
            values[attr.GEN_AI_TOOL_CALL_ID] = self.call_id
        if self.tool_type is not None:
            values[attr.GEN_AI_TOOL_TYPE] = self.tool_type
        span = _tracer(self.tracer_provider).start_span(
            f"{EXECUTE_TOOL} {self.name}", kind=SpanKind.INTERNAL, attributes=values
        )
        return span, None


class _Active(NamedTuple):
    span: Span
    context_token: object
    step_token: contextvars.Token[StepNames] | None


class _Scope:
    """One ``agent_step`` / ``tool_call``: a context manager (sync and async) and a decorator.

    As a context manager it may be entered once at a time per scope object (nested ``with`` of the
    same object would share one stack); as a decorator each call opens a fresh span.
    """

    def __init__(self, spec: _StepSpec | _ToolSpec) -> None:
        self._spec = spec
        self._stack: list[_Active | None] = []

    def __enter__(self) -> Span:
        active = _open(self._spec)
        self._stack.append(active)
        return active.span if active is not None else trace.INVALID_SPAN

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        active = self._stack.pop() if self._stack else None
        if active is not None:
            _close(active, exc)

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        spec = self._spec
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                async with _Scope(spec):
                    return await fn(*args, **kwargs)  # type: ignore[misc]

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with _Scope(spec):
                return fn(*args, **kwargs)

        return run


def _open(spec: _StepSpec | _ToolSpec) -> _Active | None:
    """Start the span and make it current; ``None`` (and the user's code runs bare) if that failed."""
    try:
        span, names = spec.start()
        context_token = otel_context.attach(trace.set_span_in_context(span))
        step_token = _current.set(names) if names is not None else None
        return _Active(span, context_token, step_token)
    except Exception:
        log_once("agent.open", "otel-llm-cost could not start an agent span", exc_info=True)
        return None


def _close(active: _Active, error: BaseException | None) -> None:
    span = active.span
    try:
        if active.step_token is not None:
            _current.reset(active.step_token)
        otel_context.detach(active.context_token)  # type: ignore[arg-type]
        if error is not None and span.is_recording():
            span.set_attribute(attr.ERROR_TYPE, error_type(error))
            span.set_status(Status(StatusCode.ERROR, str(error)[:500]))
            span.record_exception(error)
    except Exception:
        log_once("agent.close", "otel-llm-cost could not record an agent span's end", exc_info=True)
    finally:
        span.end()


def _tracer(provider: TracerProvider | None) -> Tracer:
    if provider is None:  # not cached: the global provider may be set or replaced later
        return trace.get_tracer(__name__, __version__)
    tracer = _tracers.get(provider)
    if tracer is None:
        with _tracers_lock:
            tracer = _tracers.get(provider)
            if tracer is None:
                tracer = _tracers[provider] = trace.get_tracer(__name__, __version__, provider)
    return tracer
