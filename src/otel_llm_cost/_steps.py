"""The agent step an LLM call runs under, kept in a context variable (read by metrics and stats).

Apart from :mod:`otel_llm_cost.agent` so that the metrics modules, which ``agent`` records into, can
read it without an import cycle.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Final, NamedTuple

__all__ = ["StepNames", "current_step"]


class StepNames(NamedTuple):
    """The agent and step an LLM call runs under (metric attributes)."""

    agent: str | None
    step: str | None


NO_STEP: Final = StepNames(None, None)
current: ContextVar[StepNames] = ContextVar("otel_llm_cost_step", default=NO_STEP)


def current_step() -> StepNames:
    """The innermost open :func:`~otel_llm_cost.agent_step` in this context (``(None, None)`` outside any)."""
    return current.get()
