"""Agent steps: how often each ran, how long it took, and where that time went (its phases)."""

from __future__ import annotations

from typing import Final

from otel_llm_cost import attributes as attr
from otel_llm_cost.report._stats import Quantiles
from otel_llm_cost.report._totals import OTHER

# Phase attributes (seconds) as the processor writes them on agent steps, with their short names.
PHASES: Final = (
    (attr.LLM_COST_PHASE_PRE_PROCESSING, "pre_processing"),
    (attr.LLM_COST_PHASE_TIME_TO_FIRST_TOKEN, "time_to_first_token"),
    (attr.LLM_COST_PHASE_GENERATION, "generation"),
    (attr.LLM_COST_PHASE_TOOL, "tool"),
    (attr.LLM_COST_PHASE_POST_PROCESSING, "post_processing"),
)


class StepStats:
    """Runs, errors, durations and summed phase seconds of one step name."""

    __slots__ = ("agent", "durations", "errors", "phase_sums", "runs", "with_phases")

    def __init__(self) -> None:
        self.runs = 0
        self.errors = 0
        self.with_phases = 0
        self.durations = Quantiles()
        self.phase_sums = [0.0] * len(PHASES)
        self.agent: str | None = None

    def add(
        self, phases: tuple[float | None, ...] | None, duration: float, error: bool, agent: str | None
    ) -> None:
        """Count one run of the step (``phases``: seconds per phase of :data:`PHASES`, if recorded)."""
        self.runs += 1
        self.errors += error
        self.durations.add(duration)
        if agent is not None:
            self.agent = agent
        if phases is None:
            return
        for index, value in enumerate(phases):
            if value is not None:
                self.phase_sums[index] += value
        self.with_phases += 1

    def mean_phases(self) -> dict[str, float]:
        """Mean seconds per phase over the runs that recorded phases (empty when none did)."""
        if not self.with_phases:
            return {}
        return {
            short: total / self.with_phases for (_, short), total in zip(PHASES, self.phase_sums, strict=True)
        }


class Steps:
    """:class:`StepStats` per step name, at most ``max_steps`` names (then ``(other)``)."""

    def __init__(self, max_steps: int = 1000) -> None:
        self.max_steps = max_steps
        self.stats: dict[str, StepStats] = {}

    def get(self, name: str) -> StepStats:
        """The statistics of step ``name``."""
        found = self.stats.get(name)
        if found is None:
            if len(self.stats) >= self.max_steps:
                name = OTHER
            found = self.stats.get(name)
            if found is None:
                found = self.stats[name] = StepStats()
        return found
