"""Metrics of agent steps and tool executions, recorded by :func:`~otel_llm_cost.agent_step` and
:func:`~otel_llm_cost.tool_call` when they end (sampled or not: they do not go through spans).

=========================================== ============ =============================================
instrument                                  unit         attributes
=========================================== ============ =============================================
``gen_ai.invoke_agent.duration`` (hist.)    s            agent, step, ``error.type``
``gen_ai.invoke_agent.inference_calls`` (h.) {inference_call} agent, step: LLM calls the agent made itself
``gen_ai.invoke_agent.tool_calls`` (hist.)  {tool_call}  agent, step: tools the agent executed itself
``llm_cost.agent.tasks`` (counter)          {task}       agent, step, ``llm_cost.outcome``
``llm_cost.agent.active`` (up-down counter) {invocation} agent, step: steps running now
``gen_ai.execute_tool.duration`` (hist.)    s            tool, agent, ``error.type``
``llm_cost.tool.calls`` (counter)           {call}       tool, agent, ``llm_cost.outcome``
=========================================== ============ =============================================

Buckets are the GenAI conventions' advice: :data:`AGENT_DURATION_BUCKETS` (0.1 s to 409.6 s) for
agent invocations, the client-call boundaries (0.01 s to 81.92 s) for tools, 1 to 128 for the call
counts. The three ``gen_ai.invoke_agent.*`` metrics are recorded for ``invoke_agent`` steps only (see
:func:`~otel_llm_cost.agent_step` for the steps that are not agents). Outcomes: ``success``, ``failure``,
``timeout`` (a :class:`TimeoutError` left the block), ``cancelled`` (``asyncio.CancelledError``,
``KeyboardInterrupt``), or what the code set with ``step.set_outcome(...)``. Every attribute goes
through the same cardinality cap as the call metrics.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from opentelemetry import metrics

from otel_llm_cost import attributes as attr
from otel_llm_cost._config import SCHEMA_URL
from otel_llm_cost._configured import get_configured
from otel_llm_cost.instrumentation._invocation import error_type
from otel_llm_cost.metrics import DURATION_BUCKETS, PerMeterProvider, _Cap
from otel_llm_cost.version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from otel_llm_cost._steps import CallCounts

__all__ = [
    "AGENT_DURATION_BUCKETS",
    "CALL_COUNT_BUCKETS",
    "AgentMetrics",
    "get_agent_metrics",
    "outcome_of",
]

AGENT_DURATION_BUCKETS: Final = tuple(round(0.1 * 2**n, 1) for n in range(13))  # 0.1 .. 409.6 s
CALL_COUNT_BUCKETS: Final = tuple(2**n for n in range(8))  # 1 .. 128

INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
INVOKE_AGENT_INFERENCE_CALLS: Final = "gen_ai.invoke_agent.inference_calls"
INVOKE_AGENT_TOOL_CALLS: Final = "gen_ai.invoke_agent.tool_calls"
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
        meter = metrics.get_meter(__name__, __version__, meter_provider, schema_url=SCHEMA_URL)
        self._agent_duration = meter.create_histogram(
            INVOKE_AGENT_DURATION,
            unit="s",
            description="Duration of an agent invocation.",
            explicit_bucket_boundaries_advisory=AGENT_DURATION_BUCKETS,
        )
        self._inference_calls = meter.create_histogram(
            INVOKE_AGENT_INFERENCE_CALLS,
            unit="{inference_call}",
            description="Inference calls an agent made during one invocation.",
            explicit_bucket_boundaries_advisory=CALL_COUNT_BUCKETS,
        )
        self._tool_calls_made = meter.create_histogram(
            INVOKE_AGENT_TOOL_CALLS,
            unit="{tool_call}",
            description="Tool calls an agent made during one invocation.",
            explicit_bucket_boundaries_advisory=CALL_COUNT_BUCKETS,
        )
        self._tasks = meter.create_counter(AGENT_TASKS, "{task}", "Agent invocations ended, by outcome.")
        self._active = meter.create_up_down_counter(
            AGENT_ACTIVE, "{invocation}", "Agent invocations running now."
        )
        self._tool_duration = meter.create_histogram(
            EXECUTE_TOOL_DURATION,
            unit="s",
            description="Duration of a tool execution.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
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
        self,
        labels: dict[str, str],
        seconds: float,
        error: BaseException | None,
        outcome: str | None,
        counts: CallCounts | None = None,
    ) -> None:
        """Record an ended step; ``outcome`` overrides the one its error implies.

        ``counts``: the calls of an ``invoke_agent`` step (``None``: the step is not an agent invocation,
        and records no ``gen_ai.invoke_agent.*`` metric).
        """
        self._active.add(-1, labels)
        if counts is not None:
            self._agent_duration.record(seconds, self._with_error(labels, error))
            self._inference_calls.record(counts.inference, labels)
            self._tool_calls_made.record(counts.tools, labels)
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
