"""Metrics of agent steps and tool executions, recorded by :func:`~otel_llm_cost.agent_step` and
:func:`~otel_llm_cost.tool_call` when they end (sampled or not: they do not go through spans).

=========================================== ============ =============================================
instrument                                  unit         attributes
=========================================== ============ =============================================
``gen_ai.invoke_agent.duration`` (hist.)    s            agent, step, ``error.type``
``llm_cost.agent.tasks`` (counter)          {task}       agent, step, ``llm_cost.outcome``
``llm_cost.agent.active`` (up-down counter) {invocation} agent, step: steps running now
``gen_ai.execute_tool.duration`` (hist.)    s            tool, agent, ``error.type``
``llm_cost.tool.calls`` (counter)           {call}       tool, agent, ``llm_cost.outcome``
=========================================== ============ =============================================

Durations use :data:`AGENT_DURATION_BUCKETS`: the GenAI conventions' boundaries, continued to 45
minutes, since an agent on a slow local model runs for minutes. Outcomes: ``success``, ``failure``,
``timeout`` (a :class:`TimeoutError` left the block), ``cancelled`` (``asyncio.CancelledError``,
``KeyboardInterrupt``), or what the code set with ``step.set_outcome(...)``. Every attribute goes
through the same cardinality cap as the call metrics.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import metrics

from otel_llm_cost import attributes as attr
from otel_llm_cost._configured import get_configured
from otel_llm_cost.instrumentation._invocation import error_type
from otel_llm_cost.metrics import _SCHEMA_URL, DURATION_BUCKETS, PerMeterProvider, _Cap
from otel_llm_cost.version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = [
    "AGENT_DURATION_BUCKETS",
    "AgentMetrics",
    "get_agent_metrics",
    "outcome_of",
]

AGENT_DURATION_BUCKETS: Final = (*DURATION_BUCKETS, 163.84, 327.68, 655.36, 1310.72, 2621.44)

INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
AGENT_TASKS: Final = "llm_cost.agent.tasks"
AGENT_ACTIVE: Final = "llm_cost.agent.active"
EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
TOOL_CALLS: Final = "llm_cost.tool.calls"

SUCCESS: Final = "success"
FAILURE: Final = "failure"
TIMEOUT: Final = "timeout"
CANCELLED: Final = "cancelled"
_CANCELLATIONS: Final = (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)


def outcome_of(error: BaseException | None) -> str:
    """The outcome of a block that raised ``error`` (``None``: it did not)."""
    if error is None:
        return SUCCESS
    if isinstance(error, TimeoutError):  # asyncio.TimeoutError too, since Python 3.11
        return TIMEOUT
    if isinstance(error, _CANCELLATIONS):
        return CANCELLED
    return FAILURE


class AgentMetrics:
    """The agent and tool instruments of one meter provider.

    Args:
        meter_provider: Where the metrics go; default the global provider.
        max_values: Most distinct values kept per attribute; later ones are recorded as ``_other``.
    """

    def __init__(self, meter_provider: MeterProvider | None = None, *, max_values: int = 100) -> None:
        meter = metrics.get_meter(__name__, __version__, meter_provider, schema_url=_SCHEMA_URL)
        seconds: dict[str, Any] = {"unit": "s", "explicit_bucket_boundaries_advisory": AGENT_DURATION_BUCKETS}
        self._agent_duration = meter.create_histogram(
            INVOKE_AGENT_DURATION, description="Duration of an agent invocation.", **seconds
        )
        self._tasks = meter.create_counter(AGENT_TASKS, "{task}", "Agent invocations ended, by outcome.")
        self._active = meter.create_up_down_counter(
            AGENT_ACTIVE, "{invocation}", "Agent invocations running now."
        )
        self._tool_duration = meter.create_histogram(
            EXECUTE_TOOL_DURATION, description="Duration of a tool execution.", **seconds
        )
        self._tool_calls = meter.create_counter(TOOL_CALLS, "{call}", "Tool executions ended, by outcome.")
        self._cap = _Cap(max_values)

    def step_labels(self, agent: str, step: str) -> dict[str, str]:
        """The attributes a step's measurements share (made once, at its start)."""
        return {
            attr.GEN_AI_AGENT_NAME: self._cap(attr.GEN_AI_AGENT_NAME, agent),
            attr.LLM_COST_STEP_NAME: self._cap(attr.LLM_COST_STEP_NAME, step),
        }

    def tool_labels(self, tool: str, agent: str | None) -> dict[str, str]:
        labels = {attr.GEN_AI_TOOL_NAME: self._cap(attr.GEN_AI_TOOL_NAME, tool)}
        if agent:
            labels[attr.GEN_AI_AGENT_NAME] = self._cap(attr.GEN_AI_AGENT_NAME, agent)
        return labels

    def step_started(self, labels: dict[str, str]) -> None:
        self._active.add(1, labels)

    def step_ended(
        self, labels: dict[str, str], seconds: float, error: BaseException | None, outcome: str | None
    ) -> None:
        """Record an ended step; ``outcome`` overrides the one its error implies."""
        self._active.add(-1, labels)
        self._agent_duration.record(seconds, self._with_error(labels, error))
        self._tasks.add(1, self._with_outcome(labels, error, outcome))

    def tool_ended(
        self, labels: dict[str, str], seconds: float, error: BaseException | None, outcome: str | None
    ) -> None:
        self._tool_duration.record(seconds, self._with_error(labels, error))
        self._tool_calls.add(1, self._with_outcome(labels, error, outcome))

    def _with_error(self, labels: dict[str, str], error: BaseException | None) -> dict[str, str]:
        if error is None:
            return labels
        return {**labels, attr.ERROR_TYPE: self._cap(attr.ERROR_TYPE, error_type(error))}

    def _with_outcome(
        self, labels: dict[str, str], error: BaseException | None, outcome: str | None
    ) -> dict[str, str]:
        value = outcome if outcome is not None else outcome_of(error)
        return {**labels, attr.LLM_COST_OUTCOME: self._cap(attr.LLM_COST_OUTCOME, value)}


_agent_metrics: PerMeterProvider[AgentMetrics] = PerMeterProvider(AgentMetrics)


def get_agent_metrics(meter_provider: MeterProvider | None = None) -> AgentMetrics:
    """The :class:`AgentMetrics` of ``meter_provider``; by default the one ``configure()`` was given,
    else the global provider."""
    if meter_provider is None:
        meter_provider = get_configured().meter_provider
    return _agent_metrics.get(meter_provider)
