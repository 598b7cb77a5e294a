"""The DuckDB engine's aggregates: their SQL (:data:`OUTPUTS`), and their rows as the report's objects.

Each output is one ``SELECT`` over the engine's tables (see :mod:`._duckdb_sql`); the engine runs them
all in one statement, so the span table is read by each but built once.

Percentiles are summarised as the Python path's :class:`Quantiles` would be after seeing the same
values: the exact values while a group has at most ``EXACT_LIMIT`` of them (``min(v, n)`` keeps only
that many per group), else the counts per DDSketch bin (``histogram`` of the bin key, computed with the
same formula). The result is a real :class:`Quantiles`, so groups merge and the two engines agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from otel_llm_cost.report._result import Latency
from otel_llm_cost.report._stats import (
    _LOG_BASE,
    _LOG_GAMMA,
    _MIN_VALUE,
    EXACT_LIMIT,
    LogHistogram,
    Quantiles,
)
from otel_llm_cost.report._steps import StepStats
from otel_llm_cost.report._timeline import Bucket, Timeline
from otel_llm_cost.report._totals import NONE, OTHER, Totals

from . import _duckdb_sql as sql

_MAX_GROUPS: Final = 1000
MAX_BUCKETS: Final = 120
_DIMENSIONS: Final = ("provider", "model", "agent", "step")
_LATENCY: Final = ("duration", "ttft", "generation", "rate")

Rows = list[dict[str, Any]]

# A summary of the values ``v`` of a group, read by _quantiles().
_SKETCH: Final = f"""count(v) AS count, sum(v) AS total, min(v) AS low, max(v) AS high,
  min(v, {EXACT_LIMIT}) AS smallest,
  histogram(CASE WHEN v > {_MIN_VALUE!r} THEN CAST(ceil(ln(v) / {_LOG_GAMMA!r}) AS INTEGER) END)
    AS positive,
  histogram(CASE WHEN v < -{_MIN_VALUE!r} THEN CAST(ceil(ln(-v) / {_LOG_GAMMA!r}) AS INTEGER) END)
    AS negative,
  count(*) FILTER (WHERE v BETWEEN -{_MIN_VALUE!r} AND {_MIN_VALUE!r}) AS zeros"""


def _sketches(value: str, label: str, source: str = "c", where: str = "true") -> str:
    return (
        f"SELECT label, {_SKETCH} FROM (SELECT {label} AS label, {value} AS v FROM {source} WHERE {where}) "
        "WHERE isfinite(v) GROUP BY label"
    )


_STEP_NAME: Final = f"coalesce(step, '{NONE}')"
_STEP_SPANS: Final = "is_step AND keeps"
# WIDTH_NS is replaced by the timeline's bucket width (see sql.WIDTH).
_BUCKET: Final = "st // WIDTH_NS"
_TIMED: Final = "ttft IS NOT NULL"

OUTPUTS: Final = {
    "groups": (
        "SELECT CASE " + " ".join(f"WHEN grouping({d}) = 0 THEN '{d}'" for d in _DIMENSIONS) + " ELSE '' END "
        f"AS dimension, coalesce({', '.join(_DIMENSIONS)}, '{NONE}') AS label, {sql.TOTALS} FROM c "
        f"GROUP BY GROUPING SETS ({', '.join(f'({d})' for d in _DIMENSIONS)}, ())"
    ),
    "model_durations": _sketches("dur", f"coalesce(model, '{NONE}')"),
    "latency": " UNION ALL ".join(
        _sketches(value, f"'{name}'", where=where)
        for name, value, where in (
            ("duration", "dur", "true"),
            ("ttft", "ttft", _TIMED),
            ("generation", "dur - ttft", _TIMED),
            ("rate", sql.RATE, "true"),
        )
    ),
    "statuses": "SELECT status, count(*) AS n FROM c GROUP BY 1",
    "unpriced": (
        f"SELECT coalesce(provider, '{NONE}') AS provider, coalesce(model, '{NONE}') AS model, count(*) AS n "
        "FROM c WHERE cost IS NULL GROUP BY 1, 2 ORDER BY n DESC, 1, 2 LIMIT 1000"
    ),
    "timeline": (
        f"SELECT {_BUCKET} AS bucket, count(*) AS calls, sum(err::INT) AS errors, sum(inp) AS inp, "
        "sum(out) AS out, sum(cost) AS cost FROM c GROUP BY 1"
    ),
    "timeline_durations": _sketches("dur", _BUCKET),
    "histogram": (
        f"SELECT CASE WHEN dur > 0 THEN floor(ln(dur) / {_LOG_BASE!r}) END AS key, count(*) AS n "
        "FROM c GROUP BY 1"
    ),
    "steps": (
        f"SELECT {_STEP_NAME} AS name, count(*) AS runs, sum(err::INT) AS errors, "
        "arg_max(agent, st) AS agent, "
        "count(*) FILTER (WHERE coalesce(pre, ttft_phase, gen, tool, post) IS NOT NULL) AS with_phases, "
        "[sum(coalesce(pre, 0)), sum(coalesce(ttft_phase, 0)), sum(coalesce(gen, 0)), "
        f"sum(coalesce(tool, 0)), sum(coalesce(post, 0))] AS sums FROM s WHERE {_STEP_SPANS} GROUP BY 1"
    ),
    "step_durations": _sketches("greatest(en - st, 0) / 1e9", _STEP_NAME, "s", _STEP_SPANS),
}


def quantiles(row: Mapping[str, Any] | None) -> Quantiles:
    """The :class:`Quantiles` of a row of :data:`_SKETCH`."""
    if row is None or not row["count"]:
        return Quantiles()
    return Quantiles.of_parts(
        row["count"], float(row["total"]), float(row["low"]), float(row["high"]), row["smallest"] or [],
        row["positive"] or {}, row["negative"] or {}, row["zeros"],
    )  # fmt: skip


def _by_label(rows: Rows) -> dict[Any, Quantiles]:
    return {row["label"]: quantiles(row) for row in rows}


def totals(row: Mapping[str, Any], durations: Quantiles | None = None) -> Totals:
    """:class:`Totals` from a row of :data:`sql.TOTALS`."""
    result = Totals()
    result.calls, result.unpriced = int(row["calls"]), int(row["unpriced"])
    result.errors = int(row["errors"] or 0)
    result.input_tokens, result.output_tokens = int(row["inp"] or 0), int(row["out"] or 0)
    result.cache_read_tokens, result.cache_write_tokens = int(row["cr"] or 0), int(row["cw"] or 0)
    result.reasoning_tokens = int(row["reasoning"] or 0)
    result.cost = cost(row["cost"])
    result.durations = durations
    return result


def cost(value: Any) -> Decimal:
    """A DuckDB sum of costs as the report's ``Decimal`` (0 when there is none)."""
    return Decimal(value).normalize() if value else Decimal(0)


def groups(out: Mapping[str, Rows]) -> tuple[Totals, dict[str, list[tuple[str, Totals]]]]:
    """All calls' totals, and the cost breakdowns by provider, model, agent and step."""
    durations = _by_label(out["model_durations"])
    grouped: dict[str, list[tuple[str, Totals]]] = {d: [] for d in ("", *_DIMENSIONS)}
    for row in out["groups"]:
        name, dimension = row["label"], row["dimension"]
        grouped[dimension].append((name, totals(row, durations.get(name) if dimension == "model" else None)))
    everything = grouped.pop("")
    return (everything[0][1] if everything else Totals()), {
        name: _bounded(grouped[name], latency=name == "model") for name in _DIMENSIONS
    }


def _bounded(rows: list[tuple[str, Totals]], latency: bool) -> list[tuple[str, Totals]]:
    """Most expensive first; past ``_MAX_GROUPS`` rows, the rest summed under ``(other)``."""
    ordered = sorted(rows, key=lambda item: (-item[1].cost, -item[1].calls, item[0]))
    if len(ordered) < _MAX_GROUPS:
        return ordered
    other = Totals(latency)
    for _, group in ordered[_MAX_GROUPS - 1 :]:
        other.merge(group)
    kept = [*ordered[: _MAX_GROUPS - 1], (OTHER, other)]
    return sorted(kept, key=lambda item: (-item[1].cost, -item[1].calls, item[0]))


def latency(out: Mapping[str, Rows]) -> Latency:
    """Duration, TTFT, generation time and output tokens per second of the counted calls."""
    found = _by_label(out["latency"])
    return Latency(*(found.get(name) or Quantiles() for name in _LATENCY))


def timeline(out: Mapping[str, Any]) -> Timeline:
    """Calls per time bucket, buckets as wide as the Python path's would end up."""
    result = Timeline(MAX_BUCKETS, int(out["width"]))
    durations = _by_label(out["timeline_durations"])
    for row in out["timeline"]:
        bucket = result.buckets[int(row["bucket"])] = Bucket()
        bucket.calls, bucket.errors = row["calls"], row["errors"]
        bucket.input_tokens, bucket.output_tokens = int(row["inp"]), int(row["out"])
        bucket.cost = cost(row["cost"])
        bucket.durations = durations.get(row["bucket"]) or Quantiles()
    return result


def histogram(out: Mapping[str, Rows]) -> LogHistogram:
    """Call durations on the Python path's log scale."""
    result = LogHistogram()
    for row in out["histogram"]:
        if row["key"] is None:
            result.zeros += row["n"]
        else:
            result.bins[int(row["key"])] = row["n"]
    return result


def steps(out: Mapping[str, Rows]) -> list[tuple[str, StepStats]]:
    """Agent steps by name: runs, errors, durations and summed phases, most total time first."""
    durations = _by_label(out["step_durations"])
    result = []
    for row in sorted(out["steps"], key=lambda r: (-r["runs"], r["name"]))[:_MAX_GROUPS]:
        step = StepStats()
        step.runs, step.errors, step.with_phases = row["runs"], row["errors"], row["with_phases"]
        step.agent = row["agent"]
        step.phase_sums = [float(v) if math.isfinite(v) else 0.0 for v in row["sums"]]
        step.durations = durations.get(row["name"]) or Quantiles()
        result.append((row["name"], step))
    return sorted(result, key=lambda item: (-item[1].durations.total, item[0]))


def unpriced(out: Mapping[str, Rows]) -> list[tuple[str, str, int]]:
    """``(provider, model, calls)`` of the calls without a cost, most calls first."""
    rows = [(r["provider"], r["model"], r["n"]) for r in out["unpriced"]]
    return sorted(rows, key=lambda r: (-r[2], r[0], r[1]))
