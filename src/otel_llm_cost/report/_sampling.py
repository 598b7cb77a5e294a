"""Fleet totals estimated from sampled traces, and how sure the estimate is (#17).

A head sampler keeps a trace with probability ``p`` (``llm_cost.sampling.probability`` on its LLM
spans); each kept trace then stands for ``1 / p`` traces. The report's estimate is the Horvitz-Thompson
sum over kept traces, ``sum(C_t / p_t)``, unbiased whatever the costs. Its standard error comes from
the same sample: traces are kept or dropped whole, independently, so
``Var = sum((1 - p_t) / p_t**2 * C_t**2)``, and the report states ``±1.96`` standard errors (a 95%
interval). Calls whose probability is unknown (a custom sampler, a remote parent without a tracestate
threshold, spans from before #17) are counted once each; the report then says its totals cover sampled
traces only, and points to the metrics, which count every call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from otel_llm_cost import attributes as attr

Z_95: Final = 1.96
_MAX_TRACES: Final = (
    1_000_000  # past this, traces are folded into one running sum (variance stays an estimate)
)


@dataclass(slots=True)
class _Trace:
    probability: float
    cost: float = 0.0
    calls: int = 0


@dataclass(slots=True)
class SampleEstimate:
    """Adjusted counts of the calls a report reads."""

    traces: dict[str, _Trace] = field(default_factory=dict)
    unknown_calls: int = 0
    known_calls: int = 0
    min_probability: float = 1.0
    max_probability: float = 1.0
    _folded_cost: float = 0.0
    _folded_calls: float = 0.0
    _folded_variance: float = 0.0

    def add(self, trace_id: str, attributes: dict[str, Any], cost: Decimal | None) -> None:
        """Count one call of trace ``trace_id``."""
        self.add_call(trace_id, attributes.get(attr.LLM_COST_SAMPLING_PROBABILITY), cost)

    def add_call(self, trace_id: str, probability: Any, cost: Decimal | None) -> None:
        """Count one call of trace ``trace_id``, sampled with ``probability`` (as the span recorded it)."""
        if (
            not isinstance(probability, int | float)
            or isinstance(probability, bool)
            or not 0 < probability <= 1
        ):
            self.unknown_calls += 1
            return
        if not self.known_calls:
            self.min_probability = self.max_probability = float(probability)
        self.known_calls += 1
        self.min_probability = min(self.min_probability, probability)
        self.max_probability = max(self.max_probability, probability)
        trace = self.traces.get(trace_id)
        if trace is None:
            if len(self.traces) >= _MAX_TRACES:
                self._fold()
            trace = self.traces[trace_id] = _Trace(float(probability))
        trace.calls += 1
        trace.cost += float(cost) if cost is not None else 0.0

    @classmethod
    def from_sums(
        cls, unknown: int, known: int, probabilities: tuple[float, float], sums: tuple[float, float, float]
    ) -> SampleEstimate:
        """An estimate summed elsewhere (the DuckDB engine): calls without and with a probability, the
        lowest and highest probability, and the sums of ``C_t / p_t``, ``calls_t / p_t`` and the variance."""
        estimate = cls(unknown_calls=unknown, known_calls=known)
        if known:
            estimate.min_probability, estimate.max_probability = probabilities
        estimate._folded_cost, estimate._folded_calls, estimate._folded_variance = sums
        return estimate

    def _fold(self) -> None:
        for trace in self.traces.values():
            self._folded_cost += trace.cost / trace.probability
            self._folded_calls += trace.calls / trace.probability
            self._folded_variance += _variance(trace)
        self.traces.clear()

    @property
    def sampled(self) -> bool:
        """Whether some calls were kept with a probability below 1 (totals are then estimates)."""
        return self.known_calls > 0 and self.min_probability < 1

    def estimate(self) -> Estimate:
        cost = self._folded_cost + sum(t.cost / t.probability for t in self.traces.values())
        calls = self._folded_calls + sum(t.calls / t.probability for t in self.traces.values())
        variance = self._folded_variance + sum(_variance(t) for t in self.traces.values())
        return Estimate(
            cost=cost,
            cost_error=Z_95 * math.sqrt(variance),
            calls=calls,
            sampled_calls=self.known_calls,
            min_probability=self.min_probability,
            max_probability=self.max_probability,
            unknown_calls=self.unknown_calls,
        )


def _variance(trace: _Trace) -> float:
    p = trace.probability
    return (1 - p) / (p * p) * trace.cost * trace.cost


@dataclass(frozen=True, slots=True)
class Estimate:
    """Estimated fleet totals of the calls with a known sampling probability.

    Attributes:
        cost: estimated USD of all calls the kept ones stand for.
        cost_error: half-width of the 95% interval around ``cost`` (1.96 standard errors).
        calls: estimated number of calls.
        sampled_calls: calls read that carry a probability.
        min_probability, max_probability: the range of sampling probabilities seen.
        unknown_calls: calls read without a probability (counted once each, outside the estimate).
    """

    cost: float
    cost_error: float
    calls: float
    sampled_calls: int
    min_probability: float
    max_probability: float
    unknown_calls: int

    def sample_label(self) -> str:
        """``"10% sample"``, or ``"1%–10% samples"`` when probabilities differ."""
        low, high = _percent(self.min_probability), _percent(self.max_probability)
        return f"{low} sample" if low == high else f"{low}–{high} samples"

    def as_dict(self) -> dict[str, Any]:
        return {
            "estimated_cost": self.cost,
            "cost_error_95": self.cost_error,
            "estimated_calls": self.calls,
            "sampled_calls": self.sampled_calls,
            "min_probability": self.min_probability,
            "max_probability": self.max_probability,
            "calls_without_probability": self.unknown_calls,
        }


def _percent(probability: float) -> str:
    return f"{probability * 100:.3g}%"


def sampling_lines(sample: SampleEstimate, calls: int) -> list[str]:
    """What the report's summary says about sampling (80 columns): nothing when every call was kept."""
    lines: list[str] = []
    if sample.sampled:
        estimate = sample.estimate()
        cost, error = f"{estimate.cost:.6f}", f"{estimate.cost_error:.6f}"
        lines.append(f"Estimated   {cost} ± {error} USD (95%) · ~{estimate.calls:,.0f} calls")
        label, calls_read = estimate.sample_label(), f"{estimate.sampled_calls:,}"
        lines.append(f"            from a {label} of {calls_read} calls (adjusted counts)")
    if sample.unknown_calls and (sample.sampled or sample.unknown_calls < calls):
        lines.append(f"Sampling    unknown for {sample.unknown_calls:,} calls: counted once each")
    elif sample.unknown_calls:
        lines.append("Sampling    unknown: the totals cover sampled traces only; for exact totals")
        lines.append("            see the cost and token metrics (llm_cost.client.cost) or stats()")
    return lines
