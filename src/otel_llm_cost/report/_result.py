"""The finished report: every figure the renderers show, and its JSON-ready form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from otel_llm_cost.report._dict import report_dict
from otel_llm_cost.report._parts import PartTotals
from otel_llm_cost.report._read import ReadStats
from otel_llm_cost.report._sampling import SampleEstimate
from otel_llm_cost.report._stats import LogHistogram, Quantiles
from otel_llm_cost.report._steps import StepStats
from otel_llm_cost.report._timeline import Timeline
from otel_llm_cost.report._totals import Totals
from otel_llm_cost.report._trace_model import TraceCost

if TYPE_CHECKING:
    from otel_llm_cost.report._aggregate import Aggregator


class Latency(NamedTuple):
    """Per-call latency distributions, in seconds (tokens per second for the last)."""

    duration: Quantiles
    ttft: Quantiles
    generation: Quantiles
    tokens_per_second: Quantiles


@dataclass(frozen=True)
class Report:
    """What the input adds up to.

    Attributes:
        stats: files, lines, spans and malformed lines read.
        totals: all counted calls.
        cost_status: calls per ``llm_cost.cost.status`` (``missing``: no cost attributes at all).
        latency: duration, TTFT, generation time and output tokens per second of the calls.
        groups: cost breakdowns, each a list of ``(label, totals)``, most expensive first: ``provider``,
            ``model``, ``agent``, ``step``, then one per ``--by`` attribute.
        steps: agent steps by name, most total time first.
        top_traces: the most expensive traces (with their spans, for the trace view).
        slow_traces: the slowest traces with LLM calls (likewise).
        traces: how many traces had calls.
        unpriced: ``(provider, model, calls)`` of calls without a cost, most calls first.
        timeline: calls, tokens, cost and latency per time bucket.
        histogram: call durations on a log scale.
        pinned: the trace asked for by id (``build_report(trace=...)``), with its spans, if found.
    """

    stats: ReadStats
    totals: Totals
    cost_status: dict[str, int]
    latency: Latency
    groups: dict[str, list[tuple[str, Totals]]]
    steps: list[tuple[str, StepStats]]
    top_traces: list[TraceCost]
    slow_traces: list[TraceCost]
    traces: int
    unpriced: list[tuple[str, str, int]]
    timeline: Timeline
    histogram: LogHistogram
    sampling: SampleEstimate = field(default_factory=SampleEstimate)
    """Adjusted counts of the calls read: fleet totals estimated from sampled traces (#17)."""
    parts: PartTotals = field(default_factory=PartTotals)
    """Cost per billed part (``llm_cost.cost.<part>``) and the units left unpriced (#17)."""
    pinned: TraceCost | None = None

    @classmethod
    def build(cls, agg: Aggregator, stats: ReadStats) -> Report:
        """Freeze an aggregator's sums (after its traces are settled)."""
        groups = {
            "provider": agg.by_provider.rows(),
            "model": agg.by_model.rows(),
            "agent": agg.traces.by_agent.rows(),
            "step": agg.traces.by_step.rows(),
        }
        for name, table in agg.by_attribute.items():
            groups[name] = table.rows()
        steps = sorted(agg.steps.stats.items(), key=lambda item: (-item[1].durations.total, item[0]))
        unpriced = sorted(
            ((p, m, n) for (p, m), n in agg.unpriced.items()), key=lambda r: (-r[2], r[0], r[1])
        )
        return cls(
            stats,
            agg.totals,
            dict(sorted(agg.cost_status.items())),
            agg.latency,
            groups,
            steps,
            agg.traces.expensive.entries(),
            agg.traces.slowest.entries(),
            agg.traces.count,
            unpriced,
            agg.timeline,
            agg.histogram,
            agg.sampling,
            agg.parts,
            agg.traces.pinned,
        )

    @property
    def success_rate(self) -> float | None:
        """Share of calls without an error; ``None`` when there were no calls."""
        calls = self.totals.calls
        return None if not calls else (calls - self.totals.errors) / calls

    @property
    def cache_hit_ratio(self) -> float | None:
        """Cache-read tokens over all input tokens; ``None`` when no input tokens."""
        tokens = self.totals.input_tokens
        return None if not tokens else self.totals.cache_read_tokens / tokens

    def trace(self, trace_id: str) -> TraceCost | None:
        """A ranked trace by id (a prefix of at least 8 hex digits will do), or ``None``."""
        wanted = trace_id.strip().lower()
        pinned = (self.pinned,) if self.pinned is not None else ()
        for entry in (*pinned, *self.top_traces, *self.slow_traces):
            if entry.trace_id == wanted or (len(wanted) >= 8 and entry.trace_id.startswith(wanted)):
                return entry
        return None

    def as_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready values (money as ``Decimal``: serialise it as a string)."""
        return report_dict(self)
