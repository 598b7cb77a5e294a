"""What a group of LLM calls adds up to, and tables of such groups with a bounded number of rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final, NamedTuple

from otel_llm_cost.report._stats import Quantiles

OTHER: Final = "(other)"
NONE: Final = "(none)"


class Call(NamedTuple):
    """The figures of one LLM call that the report adds up."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost: Decimal | None
    error: bool
    duration: float


class Totals:
    """Calls, errors, tokens by type and cost (priced calls only) of a group of calls."""

    __slots__ = (
        "cache_read_tokens",
        "cache_write_tokens",
        "calls",
        "cost",
        "durations",
        "errors",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "unpriced",
    )

    def __init__(self, latency: bool = False) -> None:
        self.calls = 0
        self.errors = 0
        self.unpriced = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_read_tokens = 0
        self.cache_write_tokens = 0
        self.reasoning_tokens = 0
        self.cost = Decimal(0)
        self.durations = Quantiles() if latency else None

    def add(self, call: Call) -> None:
        """Count one call."""
        input_tokens, output_tokens, cache_read, cache_write, reasoning, cost, error, duration = call
        self.calls += 1
        self.errors += error
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cache_read_tokens += cache_read
        self.cache_write_tokens += cache_write
        self.reasoning_tokens += reasoning
        if cost is None:
            self.unpriced += 1
        else:
            self.cost += cost
        if self.durations is not None:
            self.durations.add(duration)

    def merge(self, other: Totals) -> None:
        """Add every call ``other`` counted (its latencies only if both keep them)."""
        self.calls += other.calls
        self.errors += other.errors
        self.unpriced += other.unpriced
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cost += other.cost
        if self.durations is not None and other.durations is not None:
            self.durations.merge(other.durations)

    @property
    def uncached_input_tokens(self) -> int:
        """Input tokens that were neither read from nor written to a cache."""
        return max(self.input_tokens - self.cache_read_tokens - self.cache_write_tokens, 0)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (cost as ``Decimal``) for the renderers."""
        result: dict[str, Any] = {
            "calls": self.calls,
            "errors": self.errors,
            "unpriced_calls": self.unpriced,
            "input_tokens": self.input_tokens,
            "uncached_input_tokens": self.uncached_input_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost": self.cost,
        }
        if self.durations is not None:
            result["duration_p50"] = self.durations.quantile(0.5)
            result["duration_p95"] = self.durations.quantile(0.95)
        return result


class GroupTable:
    """Totals per label; past ``max_groups`` labels, new ones are counted under ``(other)``."""

    def __init__(self, max_groups: int = 1000, latency: bool = False) -> None:
        self.max_groups = max_groups
        self.latency = latency
        self.groups: dict[str, Totals] = {}

    def get(self, label: str) -> Totals:
        """The totals of ``label``, created if there is room."""
        totals = self.groups.get(label)
        if totals is None:
            if len(self.groups) >= self.max_groups:
                label = OTHER
                totals = self.groups.get(label)
            if totals is None:
                totals = self.groups[label] = Totals(self.latency)
        return totals

    def rows(self) -> list[tuple[str, Totals]]:
        """Groups by cost, then calls, most first."""
        return sorted(self.groups.items(), key=lambda item: (-item[1].cost, -item[1].calls, item[0]))
