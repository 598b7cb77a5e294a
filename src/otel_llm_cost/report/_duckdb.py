"""An optional engine for large files: the same report, computed by DuckDB (``--engine duckdb``).

The pure-Python path reads a line at a time and is the reference; it is bounded by Python's
per-span cost (about three times a plain ``json.loads`` loop). DuckDB reads the JSONL in parallel,
typed, only the fields the report uses, and applies the same rules set-wise (:mod:`._duckdb_sql`):
wrappers and duplicate response ids are not counted, calls are labelled by their nearest step and
agent, percentiles are exact (``quantile_cont``). Its memory is capped (``memory_limit``); past the
cap DuckDB spills to a temporary directory instead of growing.

Differences from the Python path, by design: it reads our JSONL only (plain or gzip, not OTLP/JSON);
unreadable lines are skipped without being counted or listed; ``--by`` is not supported. The CLI
falls back to the Python path for those.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from otel_llm_cost.report._filters import Filters
from otel_llm_cost.report._read import _GZIP_MAGIC, MAX_LINE_BYTES, ReadStats
from otel_llm_cost.report._result import Latency, Report
from otel_llm_cost.report._stats import _LOG_BASE, FixedQuantiles, LogHistogram
from otel_llm_cost.report._steps import StepStats
from otel_llm_cost.report._timeline import Bucket, Timeline
from otel_llm_cost.report._totals import NONE, OTHER, Call, GroupTable, Totals
from otel_llm_cost.report._trace_model import CallRecord, SpanNode, TraceCost
from otel_llm_cost.report._trace_view import view_spans

from . import _duckdb_sql as sql

MEMORY_LIMIT: Final = "512MB"
_MAX_GROUPS: Final = 1000
_MAX_BUCKETS: Final = 120
_NS: Final = 1_000_000_000
_Q: Final = (0.5, 0.95, 0.99)


class EngineUnsupported(ValueError):
    """The input or options need the Python path."""


def duckdb_report(
    paths: Sequence[str | Path], filters: Filters | None = None, top: int = 10,
    max_line_bytes: int = MAX_LINE_BYTES, threads: int | None = None, trace: str | None = None,
) -> Report:  # fmt: skip
    """The report of our JSONL ``paths``, computed by DuckDB (arguments as :func:`build_report`'s).

    Raises:
        EngineUnsupported: an input is not our JSONL, or the files mix gzip and plain text.
        ModuleNotFoundError: duckdb is not installed.
    """
    import duckdb

    compression = _compression(paths)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = {_literal(tempfile.gettempdir())}")
    con.execute(
        "SET preserve_insertion_order = false"
    )  # faster; which of two copies of a call counts is moot
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    f = filters or Filters()
    spans_sql = sql.SPANS.replace("READER", _reader(paths, max_line_bytes, compression))
    con.execute(
        spans_sql,
        [f.model, f.model, f.model, f.since_ns, f.since_ns, f.until_ns, f.until_ns, f.service, f.service],
    )
    con.execute(sql.WRAPPERS)
    con.execute(sql.LABELS)
    con.execute(sql.CALLS)
    con.execute(sql.TRACES)
    try:
        return _build(con, paths, top, trace)
    finally:
        con.close()


def _compression(paths: Sequence[str | Path]) -> str:
    kinds = set()
    for path in paths:
        with open(path, "rb") as probe:
            head = probe.read(2)
            kinds.add("gzip" if head == _GZIP_MAGIC else "none")
            if head != _GZIP_MAGIC and b"resourceSpans" in probe.read(4096):
                raise EngineUnsupported(f"{path} is OTLP/JSON: the duckdb engine reads otel-llm-cost JSONL")
    if len(kinds) > 1:
        raise EngineUnsupported("the duckdb engine needs all inputs gzip or all plain")
    return kinds.pop() if kinds else "none"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reader(paths: Sequence[str | Path], max_line_bytes: int, compression: str) -> str:
    files = "[" + ", ".join(_literal(str(p)) for p in paths) + "]"
    columns = "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in sql.COLUMNS.items()) + "}"
    return (
        f"read_ndjson({files}, columns = {columns}, ignore_errors = true, "
        f"maximum_object_size = {int(max_line_bytes)}, compression = {_literal(compression)})"
    )


def _build(con: Any, paths: Sequence[str | Path], top: int, trace: str | None) -> Report:
    spans = con.execute("SELECT count(*) FROM s").fetchone()[0]
    stats = ReadStats(files=[str(p) for p in paths], lines=spans, spans=spans)
    totals = _totals(con.execute(f"SELECT {sql.TOTALS} FROM c").fetchone())
    groups = {
        "provider": _groups(con, "provider"),
        "model": _groups(con, "model", latency=True),
        "agent": _groups(con, "agent"),
        "step": _groups(con, "step"),
    }
    statuses = dict(con.execute("SELECT status, count(*) FROM c GROUP BY 1 ORDER BY 1").fetchall())
    unpriced = con.execute(
        "SELECT coalesce(provider, '(none)'), coalesce(model, '(none)'), count(*) AS n FROM c "
        "WHERE cost IS NULL GROUP BY 1, 2 ORDER BY n DESC, 1, 2 LIMIT 1000"
    ).fetchall()
    expensive = _traces(con, "cost DESC, calls DESC, t", top)
    slowest = _traces(con, "duration DESC, cost DESC, t", top)
    count = con.execute("SELECT count(*) FROM tr").fetchone()[0]
    pinned = None
    if trace and len(trace.strip()) >= 8:
        found = _traces(con, "t", 1, f"starts_with(t, {_literal(trace.strip().lower())})")
        pinned = found[0] if found else None
    return Report(
        stats, totals, statuses, _latency(con), groups, _steps(con), expensive, slowest, count,
        [tuple(row) for row in unpriced], _timeline(con), _histogram(con), pinned=pinned,
    )  # fmt: skip


def _totals(row: Sequence[Any], durations: FixedQuantiles | None = None) -> Totals:
    totals = Totals()
    (totals.calls, totals.errors, totals.unpriced, totals.input_tokens, totals.output_tokens,
     totals.cache_read_tokens, totals.cache_write_tokens, totals.reasoning_tokens, cost) = (
        int(v or 0) if i < 8 else v for i, v in enumerate(row)
    )  # fmt: skip
    totals.cost = Decimal(cost or 0).normalize() if cost else Decimal(0)
    totals.durations = durations
    return totals


def _summary(row: Sequence[Any]) -> FixedQuantiles:
    count, total, low, high, values = row
    quantiles = dict(zip(_Q, values or (None, None, None), strict=True))
    return FixedQuantiles(int(count or 0), float(total or 0.0), low or 0.0, high or 0.0, quantiles)


def _groups(con: Any, column: str, latency: bool = False) -> list[tuple[str, Totals]]:
    summary = ", " + sql.SUMMARY.format(v="dur") if latency else ""
    rows = con.execute(
        f"SELECT coalesce({column}, '{NONE}') AS label, {sql.TOTALS}{summary} FROM c GROUP BY 1"
    ).fetchall()
    table = GroupTable(max_groups=_MAX_GROUPS, latency=latency)
    ordered = sorted(rows, key=lambda r: (-(r[9] or 0), -r[1], r[0]))
    for row in ordered[: _MAX_GROUPS - 1]:
        table.groups[row[0]] = _totals(row[1:10], _summary(row[10:15]) if latency else None)
    if len(ordered) >= _MAX_GROUPS:  # the rest, as the Python path does, under (other)
        other = table.groups[OTHER] = Totals()
        for row in ordered[_MAX_GROUPS - 1 :]:
            other.merge(_totals(row[1:10]))
    return table.rows()


def _latency(con: Any) -> Latency:
    def summary(value: str, where: str = "true") -> FixedQuantiles:
        return _summary(con.execute(f"SELECT {sql.SUMMARY.format(v=value)} FROM c WHERE {where}").fetchone())

    rate = sql.RATE
    return Latency(
        summary("dur"), summary("ttft", "ttft IS NOT NULL"), summary("dur - ttft", "ttft IS NOT NULL"),
        summary(rate, f"{rate} IS NOT NULL"),
    )  # fmt: skip


def _timeline(con: Any) -> Timeline:
    low, high = con.execute("SELECT min(st), max(st) FROM c").fetchone()
    timeline = Timeline(_MAX_BUCKETS)
    if low is None:
        return timeline
    while high // timeline.width_ns - low // timeline.width_ns + 1 > _MAX_BUCKETS:
        timeline.width_ns *= 2
    rows = con.execute(
        f"SELECT st // {timeline.width_ns} AS k, count(*), sum(err::INT), sum(inp), sum(out), "
        f"coalesce(sum(cost), 0), {sql.SUMMARY.format(v='dur')} FROM c GROUP BY 1"
    ).fetchall()
    for key, calls, errors, inp, out, cost, *summary in rows:
        bucket = timeline.buckets[int(key)] = Bucket()
        bucket.calls, bucket.errors, bucket.input_tokens, bucket.output_tokens = (
            calls,
            errors,
            int(inp),
            int(out),
        )
        bucket.cost = Decimal(cost).normalize() if cost else Decimal(0)
        bucket.durations = _summary(summary)
    return timeline


def _histogram(con: Any) -> LogHistogram:
    histogram = LogHistogram()
    rows = con.execute(
        f"SELECT CASE WHEN dur > 0 THEN floor(ln(dur) / {_LOG_BASE!r}) END AS k, count(*) FROM c GROUP BY 1"
    ).fetchall()
    for key, n in rows:
        if key is None:
            histogram.zeros += n
        else:
            histogram.bins[int(key)] = n
    return histogram


def _steps(con: Any) -> list[tuple[str, StepStats]]:
    rows = con.execute(
        f"SELECT coalesce(step, '{NONE}'), count(*), sum(err::INT), any_value(agent), "
        "count(*) FILTER (WHERE coalesce(pre, ttft_phase, gen, tool, post) IS NOT NULL), "
        "sum(coalesce(pre, 0)), sum(coalesce(ttft_phase, 0)), sum(coalesce(gen, 0)), sum(coalesce(tool, 0)), "
        f"sum(coalesce(post, 0)), {sql.SUMMARY.format(v='dur')} FROM s WHERE is_step AND keeps GROUP BY 1"
    ).fetchall()
    steps = []
    for name, runs, errors, agent, with_phases, *rest in rows[:_MAX_GROUPS]:
        step = StepStats()
        step.runs, step.errors, step.agent, step.with_phases = runs, errors, agent, with_phases
        step.phase_sums = [float(v) if math.isfinite(v) else 0.0 for v in rest[:5]]
        step.durations = _summary(rest[5:])
        steps.append((name, step))
    return sorted(steps, key=lambda item: (-item[1].durations.total, item[0]))


def _traces(con: Any, order: str, top: int, where: str = "true") -> list[TraceCost]:
    if top <= 0:
        return []
    rows = con.execute(
        f"SELECT t, cost, calls, unpriced, root, st, duration FROM tr WHERE {where} "
        f"ORDER BY {order} LIMIT {int(top)}"
    ).fetchall()
    if not rows:
        return []
    ids = "[" + ", ".join(_literal(row[0]) for row in rows) + "]"
    spans = con.execute(
        "SELECT s.t, s.id, s.p, s.name, s.kind, s.st, s.en, s.err, s.step, s.agent, s.pre, s.ttft_phase, "
        "s.gen, s.tool, s.post, c.k IS NOT NULL, s.kept, s.inp, s.out, s.cost, s.model FROM s "
        f"LEFT JOIN c USING (k) WHERE s.th IN (SELECT hash(unnest({ids})))"
    ).fetchall()
    by_trace: dict[str, list[Any]] = {}
    for span in spans:
        by_trace.setdefault(span[0], []).append(span[1:])
    return [_trace(row, by_trace.get(row[0], [])) for row in rows]


def _trace(row: Sequence[Any], spans: list[Any]) -> TraceCost:
    trace_id, cost, calls, unpriced, root, start, duration = row
    nodes, counted = [], set()
    for sid, parent, name, kind, st, en, err, step, agent, *rest in spans:
        phases, (is_counted, kept, inp, out, span_cost, model) = tuple(rest[:5]), rest[5:]
        record = None
        if kept:
            figures = Call(inp, out, 0, 0, 0, Decimal(span_cost) if span_cost is not None else None, err, 0.0)
            record = CallRecord(figures, None, model, "", st, None, None, (), None)
            if is_counted:
                counted.add(id(record))
        has_phases = any(v is not None for v in phases)
        nodes.append(
            SpanNode(
                sid, parent, name, kind, st, en, err, step, agent, record, phases if has_phases else None
            )
        )
    view, dropped = view_spans(nodes, counted)
    total = Decimal(cost).normalize() if cost else Decimal(0)
    return TraceCost(total, trace_id, calls, unpriced, root or "", start, duration, view, dropped)
