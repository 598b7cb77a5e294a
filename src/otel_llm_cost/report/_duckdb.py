"""The fast engine for our JSONL: the same report, computed by DuckDB (``--engine duckdb``; the CLI's default
for inputs of 64 MiB and more when DuckDB is installed).

The pure-Python path reads a line at a time and is the reference; it is bounded by Python's per-span
cost. DuckDB reads the JSONL once, in parallel, typed, only the fields the report uses, into one narrow
table, and applies the same rules set-wise (:mod:`._duckdb_sql`): wrappers and duplicate response ids
are not counted, calls are labelled by their nearest step and agent. Percentiles come out as the Python
path computes them (exact up to ``EXACT_LIMIT`` values a group, else the same DDSketch bins, see
:mod:`._duckdb_stats`), so the two engines agree figure for figure. Its memory is bounded: the table
lives in a scratch database file (compressed), and DuckDB's memory is capped at :data:`MEMORY_LIMIT`;
past it, blocks are dropped and read back or spilled to the scratch directory, instead of growing.

Differences from the Python path, by design: it reads our JSONL only (plain or gzip, not OTLP/JSON);
unreadable lines are skipped without being counted or listed; ``--by`` and the cost per billed part are
not computed; a trace's sampling probability is its calls' lowest (the Python path takes its first
call's); traces are whole however far apart their spans are (the Python path closes a trace after
``linger`` seconds of input without its spans).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from otel_llm_cost.report import _duckdb_stats as stats_
from otel_llm_cost.report._duckdb_stats import MAX_BUCKETS, OUTPUTS
from otel_llm_cost.report._duckdb_traces import rankings
from otel_llm_cost.report._filters import Filters
from otel_llm_cost.report._read import _GZIP_MAGIC, MAX_LINE_BYTES, ReadStats
from otel_llm_cost.report._result import Report
from otel_llm_cost.report._sampling import SampleEstimate

from . import _duckdb_sql as sql

# DuckDB's own memory (buffers, tables, hash tables): what the engine's memory stops growing at.
MEMORY_LIMIT: Final = "256MB"
# DuckDB's JSON reader holds buffers of this size per thread; longer lines are still read.
_READ_BUFFER: Final = 16 * 1024 * 1024
# Spans fetched per ranked trace for its view (which shows fewer): bounds a hostile trace's cost.
_VIEW_SPANS: Final = 20_000


class EngineUnsupported(ValueError):
    """The input or options need the Python path."""


def available() -> bool:
    """Whether DuckDB (the ``duckdb`` extra) is installed."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


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
    # A scratch database file, not memory: the span table is stored compressed (about a fifth of its size
    # in memory), and under the memory limit its blocks are dropped and read back, not spilled.
    with tempfile.TemporaryDirectory(prefix="otel-llm-cost-") as scratch:
        config = {"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False, "temp_directory": scratch}
        if threads:
            config["threads"] = int(threads)
        con = duckdb.connect(os.path.join(scratch, "report.duckdb"), config=config)
        try:
            return _run(con, paths, filters or Filters(), (max_line_bytes, top, trace, compression))
        finally:
            con.close()


def _run(
    con: Any, paths: Sequence[str | Path], f: Filters, options: tuple[int, int, str | None, str]
) -> Report:
    """Build the engine's tables (:mod:`._duckdb_sql`), then read every output in one statement."""
    max_line_bytes, top, trace, compression = options
    keeps, model = _conditions(f)
    spans = sql.SPANS.replace("READER", _reader(paths, max_line_bytes, compression))
    con.execute(spans.replace("KEEPS", keeps).replace("MODEL", model), _parameters(f))
    for statement in (sql.WRAPPERS, sql.TWINS, sql.LABELS):
        con.execute(statement)
    pin = _literal(trace.strip().lower()) if trace else "NULL"
    ctes = [
        sql.CALLS,
        sql.TRACES.replace("TOP", str(max(int(top), 0))).replace("PIN", pin),
    ]
    width = con.execute(sql.WIDTH.replace("BUCKETS", str(MAX_BUCKETS))).fetchone()[0]
    outputs = {
        **OUTPUTS,
        "views": sql.VIEWS.replace("VIEW_SPANS", str(_VIEW_SPANS)),
        "ranked": "FROM ranked",
        "sampling": sql.SAMPLING,
    }
    columns = [
        "(SELECT count(*) FROM s) AS spans", "(SELECT count(*) FROM tr) AS traces",
        *(f"(SELECT list(q) FROM ({select.replace('WIDTH_NS', str(width))}) AS q) AS {name}"
          for name, select in outputs.items()),
    ]  # fmt: skip
    statement = "WITH " + ",\n".join(c.strip() for c in ctes) + "\nSELECT " + ",\n  ".join(columns)
    result = con.execute(statement)
    names = [column[0] for column in result.description]
    return _build((*result.fetchone(), width), [*names, "width"], paths)


def _conditions(f: Filters) -> tuple[str, str]:
    """The time/service and the model conditions (``true`` when unset), on :func:`_parameters`."""
    keeps = []
    if f.since_ns is not None:
        keeps.append("start_time_unix_nano >= $since")
    if f.until_ns is not None:
        keeps.append("start_time_unix_nano < $until")
    if f.service is not None:
        keeps.append('coalesce(resource."service.name" GLOB $service, false)')
    model = "coalesce(model GLOB $model OR req_model GLOB $model, false)" if f.model is not None else "true"
    return " AND ".join(keeps) or "true", model


def _parameters(f: Filters) -> dict[str, Any]:
    named = {"since": f.since_ns, "until": f.until_ns, "service": f.service, "model": f.model}
    return {k: v for k, v in named.items() if v is not None}


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
    buffer = min(int(max_line_bytes), _READ_BUFFER)
    return (
        f"read_ndjson({files}, columns = {columns}, ignore_errors = true, "
        f"compression = {_literal(compression)}, maximum_object_size = {buffer})"
    )


def _build(row: Sequence[Any], names: Sequence[str], paths: Sequence[str | Path]) -> Report:
    out = {name: value if value is not None else [] for name, value in zip(names, row, strict=True)}
    stats = ReadStats(files=[str(p) for p in paths], lines=out["spans"], spans=out["spans"])
    totals, groups = stats_.groups(out)
    traces = rankings(out)
    statuses = dict(sorted((r["status"], r["n"]) for r in out["statuses"]))
    return Report(
        stats, totals, statuses, stats_.latency(out), groups, stats_.steps(out), traces["expensive"],
        traces["slowest"], out["traces"], stats_.unpriced(out), stats_.timeline(out), stats_.histogram(out),
        pinned=next(iter(traces["pinned"]), None), sampling=_sampling(out["sampling"]),
    )  # fmt: skip


def _sampling(rows: Sequence[dict[str, Any]]) -> SampleEstimate:
    row = rows[0] if rows else {}
    known = int(row.get("known") or 0)
    return SampleEstimate.from_sums(
        int(row.get("unknown") or 0),
        known,
        (float(row.get("low") or 1.0), float(row.get("high") or 1.0)),
        (float(row.get("cost") or 0.0), float(row.get("calls") or 0.0), float(row.get("variance") or 0.0)),
    )
