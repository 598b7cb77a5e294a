"""The report as plain, JSON-ready values (the ``json`` format, and what the CSV and HTML read)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from otel_llm_cost.report._steps import StepStats
from otel_llm_cost.report._timeline import Timeline
from otel_llm_cost.report._totals import Totals
from otel_llm_cost.report._trace_model import TraceCost

if TYPE_CHECKING:
    from otel_llm_cost.report._result import Report

SCHEMA = "otel-llm-cost/report/v1"


def report_dict(report: Report) -> dict[str, Any]:
    """All figures of ``report``; money stays ``Decimal`` (see :func:`json_default`)."""
    stats = report.stats
    totals = report.totals
    return {
        "schema": SCHEMA,
        "input": {
            "files": stats.files,
            "lines": stats.lines,
            "spans": stats.spans,
            "malformed": stats.malformed,
            "oversized_lines": stats.oversized,
            "traces_split_by_memory_limit": stats.split_traces,
            "malformed_examples": stats.examples,
        },
        "calls": {
            "total": totals.calls,
            "errors": totals.errors,
            "success_rate": report.success_rate,
            "traces": report.traces,
        },
        "tokens": {**_tokens(totals), "cache_hit_ratio": report.cache_hit_ratio},
        "cost": {
            "total": totals.cost,
            "currency": "USD",
            "unpriced_calls": totals.unpriced,
            "by_status": report.cost_status,
            "sampling": report.sampling.estimate().as_dict(),
            **report.parts.as_dict(),
        },
        "latency": {
            "duration_seconds": report.latency.duration.summary(),
            "time_to_first_chunk_seconds": report.latency.ttft.summary(),
            "generation_seconds": report.latency.generation.summary(),
            "output_tokens_per_second": report.latency.tokens_per_second.summary(),
        },
        "by": {name: [group_dict(label, t) for label, t in rows] for name, rows in report.groups.items()},
        "steps": [_step_dict(name, step) for name, step in report.steps],
        "top_traces": [_trace_dict(trace) for trace in report.top_traces],
        "slowest_traces": [_trace_dict(trace) for trace in report.slow_traces],
        "unpriced_models": [{"provider": p, "model": m, "calls": n} for p, m, n in report.unpriced],
        "timeline": _timeline_dict(report.timeline),
        "duration_histogram": [
            {"low_seconds": low, "high_seconds": high, "calls": n}
            for low, high, n in report.histogram.rows(40)
        ],
    }


def json_default(value: object) -> object:
    """``json.dumps`` hook: ``Decimal`` as an exact string."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def group_dict(label: str, totals: Totals) -> dict[str, Any]:
    """One row of a cost breakdown."""
    return {"label": label, **totals.as_dict()}


def _tokens(totals: Totals) -> dict[str, int]:
    return {
        "input": totals.input_tokens,
        "uncached_input": totals.uncached_input_tokens,
        "cache_read": totals.cache_read_tokens,
        "cache_write": totals.cache_write_tokens,
        "output": totals.output_tokens,
        "reasoning": totals.reasoning_tokens,
    }


def _step_dict(name: str, step: StepStats) -> dict[str, Any]:
    return {
        "step": name,
        "agent": step.agent,
        "runs": step.runs,
        "errors": step.errors,
        "duration_seconds": step.durations.summary(),
        "mean_phase_seconds": step.mean_phases(),
    }


def _trace_dict(trace: TraceCost) -> dict[str, Any]:
    return {
        "trace_id": trace.trace_id,
        "cost": trace.cost,
        "calls": trace.calls,
        "unpriced_calls": trace.unpriced_calls,
        "root": trace.root,
        "start_unix_nano": trace.start_ns,
        "duration_seconds": trace.duration_s,
    }


def _timeline_dict(timeline: Timeline) -> dict[str, Any]:
    return {
        "bucket_seconds": timeline.width_ns / 1e9,
        "buckets": [
            {
                "start_unix_nano": start,
                "calls": b.calls,
                "errors": b.errors,
                "input_tokens": b.input_tokens,
                "output_tokens": b.output_tokens,
                "cost": b.cost,
                "duration_p50": b.durations.quantile(0.5),
                "duration_p95": b.durations.quantile(0.95),
            }
            for start, b in timeline.ordered()
        ],
    }
