"""Reports from span files: what the LLM calls cost, how long they took, where the tokens went.

Reads our JSONL span files and the SDK's and the Collector's file exporter output (OTLP/JSON lines, or
length-prefixed binary OTLP and zstd records), plain, gzip or zstd, and directories of them, in one
streaming pass in bounded memory, spans in any order (see :mod:`._records`, :mod:`._traces`). Used by the
``otel-llm-cost report`` and ``otel-llm-cost tail`` commands; usable from Python::

    from otel_llm_cost.report import build_report, render_table, render_trace

    report = build_report(["spans.jsonl"])
    print(render_table(report))
    print(report.totals.cost, report.latency.duration.quantile(0.95))
    print(render_trace(report.top_traces[0]))   # the most expensive trace, span by span
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from otel_llm_cost.report._aggregate import Aggregator
from otel_llm_cost.report._filters import Filters, parse_time
from otel_llm_cost.report._formats import to_csv, to_json
from otel_llm_cost.report._html import to_html
from otel_llm_cost.report._read import MAX_LINE_BYTES, ReadStats, read_spans
from otel_llm_cost.report._result import Report
from otel_llm_cost.report._trace_text import render_trace
from otel_llm_cost.report.render import render_table

__all__ = [
    "Filters",
    "Report",
    "build_report",
    "parse_time",
    "render_table",
    "render_trace",
    "to_csv",
    "to_html",
    "to_json",
]


def build_report(
    paths: Iterable[str | Path],
    *,
    filters: Filters | None = None,
    by: Iterable[str] = (),
    top: int = 10,
    progress: Callable[[int], None] | None = None,
    trace: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Report:
    """Read ``paths`` and add up their LLM calls.

    Args:
        paths: span files (our JSONL, or any file the Collector's file exporter writes), or directories
            of them (read oldest first).
        filters: which calls to count (time range, service, model).
        by: extra attributes to break cost down by (span attributes, else resource attributes).
        top: how many of the most expensive traces to list.
        progress: called now and then with the number of bytes read so far.
        trace: a trace id (or a prefix of at least 8 hex digits) to keep the spans of, for
            :func:`render_trace`, whatever its rank.
        max_line_bytes: longer lines are skipped and counted (``report.stats.oversized``).

    Returns:
        The report; malformed lines are skipped and counted in ``report.stats``.

    Raises:
        OSError: a file cannot be opened.
        ValueError: a file needs an optional package that is not installed (``zstandard`` for zstd,
            ``opentelemetry-proto`` for binary OTLP); the message names it.
    """
    stats = ReadStats(max_line_bytes=max_line_bytes)
    aggregator = Aggregator(filters, by, top, trace)
    add = aggregator.add
    for span in read_spans(paths, stats, progress):
        add(span)
    return aggregator.report(stats)
