"""The HTML report's tables: breakdowns, steps, traces, unpriced models, skipped lines."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

from otel_llm_cost.report import _fmt
from otel_llm_cost.report._result import Report
from otel_llm_cost.report._totals import Totals

_ROWS: Final = 25


def tables(report: Report) -> list[str]:
    """One ``<section>`` per non-empty table."""
    out = [_latency(report)]
    for name, rows in report.groups.items():
        out.append(_group(f"Cost by {name}", rows, report.totals))
    out += [_steps(report), _traces(report), _unpriced(report), _malformed(report)]
    return [t for t in out if t]


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<section><h2>{escape(title)}</h2><table><tr>{head}</tr>{body}</table></section>"


def _latency(report: Report) -> str:
    lat = report.latency
    rows = []
    for label, q, fmt in (
        ("duration", lat.duration, _fmt.seconds),
        ("time to first chunk", lat.ttft, _fmt.seconds),
        ("generation", lat.generation, _fmt.seconds),
        ("output tokens / s", lat.tokens_per_second, _fmt.rate),
    ):
        if q.count:
            values = [q.quantile(p) for p in (0.5, 0.95, 0.99)] + [q.maximum]
            rows.append([label, _fmt.count(q.count), *(fmt(v) for v in values)])
    return _table("Latency", ["", "calls", "p50", "p95", "p99", "max"], rows)


def _group(title: str, groups: Sequence[tuple[str, Totals]], total: Totals) -> str:
    rows = []
    for label, t in groups[:_ROWS]:
        share = float(t.cost / total.cost) if total.cost else None
        rows.append(
            [
                label,
                _fmt.count(t.calls),
                _fmt.count(t.errors),
                _fmt.count(t.input_tokens),
                _fmt.count(t.cache_read_tokens),
                _fmt.count(t.output_tokens),
                _fmt.money(t.cost),
                _fmt.share(share),
                _fmt.count(t.unpriced),
            ]
        )
    header = ["", "calls", "errors", "input", "cache read", "output", "cost", "share", "unpriced"]
    return _table(title, header, rows)


def _steps(report: Report) -> str:
    rows = []
    for name, s in report.steps[:_ROWS]:
        phases = s.mean_phases()
        cells = [_fmt.seconds(v) for v in phases.values()] if phases else ["-"] * 5
        rows.append(
            [name, s.agent or "", _fmt.count(s.runs), _fmt.seconds(s.durations.quantile(0.5)), *cells]
        )
    header = ["step", "agent", "runs", "p50", "pre", "TTFT", "generation", "tool", "post"]
    return _table("Agent steps (mean phase time)", header, rows)


def _traces(report: Report) -> str:
    rows = [
        [t.trace_id, t.root, _fmt.timestamp(t.start_ns), _fmt.count(t.calls), _fmt.money(t.cost)]
        for t in report.top_traces
    ]
    return _table("Most expensive traces", ["trace", "root", "start (UTC)", "calls", "cost"], rows)


def _unpriced(report: Report) -> str:
    rows = [[model, provider, _fmt.count(calls)] for provider, model, calls in report.unpriced[:_ROWS]]
    return _table("Unpriced models", ["model", "provider", "calls"], rows)


def _malformed(report: Report) -> str:
    stats = report.stats
    rows = [[example] for example in stats.examples]
    return _table(f"Skipped {stats.malformed:,} malformed lines or spans", ["first few"], rows)
