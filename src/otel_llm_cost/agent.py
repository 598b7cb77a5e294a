"""Spans for agent code: ``agent_step`` around a step, ``tool_call`` around a tool execution.

Both are context managers (sync and async) and decorators (of sync and async functions), and follow
the GenAI agent conventions: an ``invoke_agent {gen_ai.agent.name}`` span with ``gen_ai.operation.name``
= ``invoke_agent``, the step's own name in ``llm_cost.step.name``; an ``execute_tool {name}`` span with
``execute_tool`` and ``gen_ai.tool.name``.

**Steps that are not agents.** A step is an agent invocation by default. A step that is not one says
which of the conventions' other operations it is with ``operation=``: ``"plan"`` (an agent planning or
decomposing its task: span ``plan {agent}``) or ``"invoke_workflow"`` (a coordinated process over several
agents: span ``invoke_workflow {name}`` with ``gen_ai.workflow.name``). Their LLM calls still roll up to
them, and their phases and outcome are recorded, but not the ``gen_ai.invoke_agent.*`` metrics; calls
under them count towards the enclosing agent.

The cost span processor rolls the cost of the LLM calls below a step up to it and splits its duration
into phases (:mod:`otel_llm_cost.phases`)::

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

**Metrics and outcomes.** Each step and tool records its duration, its outcome and (steps) how many
are running now (:mod:`otel_llm_cost._agent_metrics`). The outcome is ``success``, ``failure``,
``timeout`` (a ``TimeoutError``) or ``cancelled``, from how the block ended, unless the code says
otherwise; the value of the ``with`` is the span, with two more methods::

    with agent_step("answer") as step:
        if not found:
            step.set_outcome("timeout")      # also set on the span as llm_cost.outcome
        spent = step.stats().cost          # this run's spend so far (otel_llm_cost.live_stats)
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, NamedTuple, ParamSpec, TypeVar

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_llm_cost import attributes as attr
from otel_llm_cost._agent_metrics import AgentMetrics, get_agent_metrics
from otel_llm_cost._config import SCHEMA_URL
from otel_llm_cost._configured import get_configured
from otel_llm_cost._log import log_once
from otel_llm_cost._provider_cache import ProviderCache
from otel_llm_cost._scrub import describe_error, exception_attributes
from otel_llm_cost._steps import CallCounts, StepNames, count_tool_call, current_step
from otel_llm_cost._steps import counts as _counts
from otel_llm_cost._steps import current as _current
from otel_llm_cost.instrumentation._invocation import error_type
from otel_llm_cost.version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue

    from otel_llm_cost.live_stats import LiveStats, Totals

__all__ = ["StepNames", "StepSpan", "agent_step", "bind_context", "current_step", "tool_call"]

P = ParamSpec("P")
R = TypeVar("R")

INVOKE_AGENT: Final = "invoke_agent"
INVOKE_WORKFLOW: Final = "invoke_workflow"
PLAN: Final = "plan"
STEP_OPERATIONS: Final = frozenset({INVOKE_AGENT, INVOKE_WORKFLOW, PLAN})
EXECUTE_TOOL: Final = "execute_tool"
SPAN_TYPE_STEP: Final = "agent_step"
SPAN_TYPE_TOOL: Final = "tool"


_tracers: ProviderCache[Tracer] = ProviderCache()  # any provider, hashable or not


class StepSpan(wrapt.ObjectProxy):  # type: ignore[misc]
    """The span of an ``agent_step`` / ``tool_call`` (every span method works), and two more methods."""

    _self_outcome: str | None

    def __init__(self, span: Span) -> None:
        super().__init__(span)
        self._self_outcome = None

    def set_outcome(self, outcome: str) -> None:
        """How the task ended (``success``, ``failure``, ``timeout``, or a few words of your own):
        counted by the outcome metrics instead of the outcome the block's exit implies."""
        self._self_outcome = outcome
        if self.__wrapped__.is_recording():
            self.__wrapped__.set_attribute(attr.LLM_COST_OUTCOME, outcome)

    @property
    def outcome(self) -> str | None:
        """The outcome set with :meth:`set_outcome`, if any."""
        return self._self_outcome

    def stats(self, live: LiveStats | None = None) -> Totals:
        """This run's (trace's) totals so far: calls, cost, tokens (:mod:`otel_llm_cost.live_stats`).

        Args:
            live: the statistics to read; default the process's (:func:`~otel_llm_cost.stats`).
        """
        from otel_llm_cost.live_stats import Totals, install_stats

        context = self.__wrapped__.get_span_context()
        if not context.is_valid:
            return Totals()
        return (live or install_stats()).run_totals(format(context.trace_id, "032x"))


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
    meter_provider: MeterProvider | None = None,
    operation: str = INVOKE_AGENT,
) -> _Scope:
    """A span for one agent step: ``invoke_agent {agent}``; a context manager or a decorator.

    Args:
        name: The step's name (``llm_cost.step.name``; low cardinality: it labels metrics).
        agent: ``gen_ai.agent.name``; default: the enclosing step's agent, else ``name``.
        conversation_id: ``gen_ai.conversation.id``.
        operation: ``invoke_agent`` (default), ``plan`` or ``invoke_workflow``: see the module's notes.
        attributes: More span attributes, set at start.
        tracer_provider: Where the span goes; default the one ``configure()`` was given, else the global.
        meter_provider: Where its metrics go; default the one ``configure()`` was given, else the global.

    Returns:
        A scope: ``with`` / ``async with`` it (the value is a :class:`StepSpan`), or decorate a function.
    """
    if operation not in STEP_OPERATIONS:
        raise ValueError(f"operation={operation!r}: use one of {sorted(STEP_OPERATIONS)}")
    spec = _StepSpec(name, agent, conversation_id, attributes, tracer_provider, meter_provider, operation)
    return _Scope(spec)


def tool_call(
    name: str,
    *,
    call_id: str | None = None,
    tool_type: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> _Scope:
    """A span for one tool execution: ``execute_tool {name}``; a context manager or a decorator.

    Args:
        name: ``gen_ai.tool.name``.
        call_id: ``gen_ai.tool.call.id``, the id the model gave the tool call.
        tool_type: ``gen_ai.tool.type`` (``function``, ``extension``, ``datastore``).
        attributes: More span attributes, set at start.
        tracer_provider: Where the span goes; default the one ``configure()`` was given, else the global.
        meter_provider: Where its metrics go; default the one ``configure()`` was given, else the global.

    Returns:
        A scope: ``with`` / ``async with`` it (the value is a :class:`StepSpan`), or decorate a function.
    """
    return _Scope(_ToolSpec(name, call_id, tool_type, attributes, tracer_provider, meter_provider))


class _StepSpec(NamedTuple):
    name: str
    agent: str | None
    conversation_id: str | None
    attributes: Mapping[str, AttributeValue] | None
    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None
    operation: str = INVOKE_AGENT

    def start(self) -> tuple[Span, StepNames | None]:
        outer = _current.get()
        agent = self.agent or outer.agent or self.name
        values: dict[str, AttributeValue] = dict(self.attributes or {})
        values[attr.GEN_AI_OPERATION_NAME] = self.operation
        values[attr.LLM_COST_STEP_NAME] = self.name
        values[attr.LLM_COST_SPAN_TYPE] = SPAN_TYPE_STEP
        if self.operation == INVOKE_WORKFLOW:
            values[attr.GEN_AI_WORKFLOW_NAME] = self.name
            span_name = f"{INVOKE_WORKFLOW} {self.name}"
        else:
            values[attr.GEN_AI_AGENT_NAME] = agent
            span_name = f"{self.operation} {agent}"
        if self.conversation_id is not None:
            values[attr.GEN_AI_CONVERSATION_ID] = self.conversation_id
        span = _tracer(self.tracer_provider).start_span(span_name, kind=SpanKind.INTERNAL, attributes=values)
        return span, StepNames(agent, self.name)


class _ToolSpec(NamedTuple):
    name: str
    call_id: str | None
    tool_type: str | None
    attributes: Mapping[str, AttributeValue] | None
    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None

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
        count_tool_call()
        return span, None


class _Active(NamedTuple):
    span: StepSpan
    context_token: object
    step_token: contextvars.Token[StepNames] | None
    measure: _Measure | None
    counts_token: contextvars.Token[CallCounts | None] | None = None


class _Measure(NamedTuple):
    """What a step's or tool's metrics need at its end."""

    metrics: AgentMetrics
    labels: dict[str, str]
    started_ns: int
    is_step: bool
    counts: CallCounts | None = None  # an invoke_agent step's own calls


class _Scope:
    """One ``agent_step`` / ``tool_call``: a context manager (sync and async) and a decorator.

    As a context manager it may be entered once at a time per scope object (nested ``with`` of the
    same object would share one stack); as a decorator each call opens a fresh span.
    """

    def __init__(self, spec: _StepSpec | _ToolSpec) -> None:
        self._spec = spec
        self._stack: list[_Active | None] = []

    def __enter__(self) -> StepSpan:
        active = _open(self._spec)
        self._stack.append(active)
        return active.span if active is not None else StepSpan(trace.INVALID_SPAN)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        active = self._stack.pop() if self._stack else None
        if active is not None:
            _close(active, exc)

    async def __aenter__(self) -> StepSpan:
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
        counts = CallCounts() if isinstance(spec, _StepSpec) and spec.operation == INVOKE_AGENT else None
        counts_token = _counts.set(counts) if counts is not None else None
        measure = _start_measure(spec, names, counts)
        return _Active(StepSpan(span), context_token, step_token, measure, counts_token)
    except Exception:
        log_once("agent.open", "otel-llm-cost could not start an agent span", exc_info=True)
        return None


def _start_measure(
    spec: _StepSpec | _ToolSpec, names: StepNames | None, counts: CallCounts | None
) -> _Measure | None:
    """Count the step as running (never raises: metrics must not cost the user their step)."""
    try:
        metrics = get_agent_metrics(spec.meter_provider)
        if names is not None:
            labels = metrics.step_labels(names.agent or spec.name, spec.name)
            metrics.step_started(labels)
        else:
            labels = metrics.tool_labels(spec.name, _current.get().agent)
        return _Measure(metrics, labels, time.monotonic_ns(), names is not None, counts)
    except Exception:
        log_once("agent.metrics.start", "otel-llm-cost could not record an agent metric", exc_info=True)
        return None


def _close(active: _Active, error: BaseException | None) -> None:
    span = active.span.__wrapped__
    try:
        if active.step_token is not None:
            _current.reset(active.step_token)
        if active.counts_token is not None:
            _counts.reset(active.counts_token)
        otel_context.detach(active.context_token)  # type: ignore[arg-type]
        if error is not None and span.is_recording():
            span.set_attribute(attr.ERROR_TYPE, error_type(error))
            span.set_status(Status(StatusCode.ERROR, describe_error(error)))
            span.add_event("exception", exception_attributes(error))
    except Exception:
        log_once("agent.close", "otel-llm-cost could not record an agent span's end", exc_info=True)
    finally:
        span.end()
        if active.measure is not None:
            _end_measure(active.measure, error, active.span.outcome)


def _end_measure(measure: _Measure, error: BaseException | None, outcome: str | None) -> None:
    try:
        seconds = (time.monotonic_ns() - measure.started_ns) / 1e9
        if measure.is_step:
            measure.metrics.step_ended(measure.labels, seconds, error, outcome, measure.counts)
        else:
            measure.metrics.tool_ended(measure.labels, seconds, error, outcome)
    except Exception:
        log_once("agent.metrics.end", "otel-llm-cost could not record an agent metric", exc_info=True)


def _tracer(provider: TracerProvider | None) -> Tracer:
    """The tracer of ``provider``, else of the one ``configure()`` was given (as ``llm_call``), else
    of the global provider."""
    if provider is None:
        provider = get_configured().tracer_provider
    if provider is None:  # not cached: the global provider may be set or replaced later
        return trace.get_tracer(__name__, __version__, schema_url=SCHEMA_URL)
    return _tracers.get_or_make(
        provider, lambda: trace.get_tracer(__name__, __version__, provider, schema_url=SCHEMA_URL)
    )
