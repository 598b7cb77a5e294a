"""The agent step an LLM call runs under, kept in a context variable (read by metrics and stats).

Apart from :mod:`otel_llm_cost.agent` so that the metrics modules, which ``agent`` records into, can
read it without an import cycle.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Final, NamedTuple

__all__ = ["CallCounts", "StepNames", "count_inference_call", "count_tool_call", "current_step"]


class StepNames(NamedTuple):
    """The agent and step an LLM call runs under (metric attributes)."""

    agent: str | None
    step: str | None


NO_STEP: Final = StepNames(None, None)
current: ContextVar[StepNames] = ContextVar("otel_llm_cost_step", default=NO_STEP)


def current_step() -> StepNames:
    """The innermost open :func:`~otel_llm_cost.agent_step` in this context (``(None, None)`` outside any)."""
    return current.get()


class CallCounts:
    """What one agent invocation called itself: inference (LLM) calls and tool executions."""

    __slots__ = ("inference", "tools")

    def __init__(self) -> None:
        self.inference = 0
        self.tools = 0


# The innermost open invoke_agent step's counts; a nested agent counts its own calls, not its parent.
counts: ContextVar[CallCounts | None] = ContextVar("otel_llm_cost_step_counts", default=None)


def count_inference_call() -> None:
    """An LLM call started: count it for the agent invocation it runs in, if any."""
    found = counts.get()
    if found is not None:
        found.inference += 1


def count_tool_call() -> None:
    """A tool execution started: count it for the agent invocation it runs in, if any."""
    found = counts.get()
    if found is not None:
        found.tools += 1
