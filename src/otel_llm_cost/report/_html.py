"""The report as one self-contained HTML page: inline CSS and SVG charts, no script, nothing fetched.

Charts: latency over time (p50/p95 per time bucket), the latency histogram, tokens and cost by model,
cost by agent and by step, and the phase breakdown per agent step; then the tables of the text report,
and a trace view (a waterfall) for each of the most expensive and slowest traces, opened from their ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape
from typing import Final

from otel_llm_cost.report import _fmt, _svg
from otel_llm_cost.report._html_tables import tables
from otel_llm_cost.report._html_trace import CSS as TRACE_CSS
from otel_llm_cost.report._html_trace import trace_views
from otel_llm_cost.report._result import Report
from otel_llm_cost.report._steps import PHASES
from otel_llm_cost.report._totals import NONE, Totals

_ROWS: Final = 15
_CSS: Final = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1400px;padding:0 1rem;color:#222}
*{box-sizing:border-box}
h1{font-size:1.4rem}h2{font-size:1.05rem;margin:0 0 .5rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.3rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr));gap:1.2rem}
.tables{display:grid;grid-template-columns:minmax(0,1fr);gap:1.2rem;margin-top:1.2rem}
section{border:1px solid #e4e4e4;border-radius:6px;padding:1rem;min-width:0;overflow-x:auto}
svg.chart{width:100%;height:auto}
table{border-collapse:collapse;font-size:.85rem;width:100%;table-layout:fixed}
th,td{padding:.2rem .5rem;border-bottom:1px solid #eee;text-align:right;white-space:nowrap;
 overflow:hidden;text-overflow:ellipsis}
th.t,td.t{text-align:left}
td a{font-family:ui-monospace,monospace;font-size:.8rem}
.note{color:#777;font-size:.85rem}
"""


def to_html(report: Report, title: str = "otel-llm-cost report") -> str:
    """The whole report as an HTML document."""
    charts = [c for c in _charts(report) if c]
    body = [
        f"<h1>{escape(title)}</h1>",
        _cards(report),
        '<div class="grid">' + "".join(charts) + "</div>",
        '<div class="tables">' + "".join(tables(report)) + "</div>",
        _footer(report),
        trace_views([*report.top_traces, *report.slow_traces]),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><style>{_CSS}{TRACE_CSS}</style></head><body id="top">'
        + "\n".join(body)
        + "</body></html>\n"
    )


def _section(title: str, content: str, note: str = "") -> str:
    extra = f'<p class="note">{escape(note)}</p>' if note else ""
    return f"<section><h2>{escape(title)}</h2>{content}{extra}</section>"


def _cards(report: Report) -> str:
    t, lat = report.totals, report.latency.duration
    cards = [
        ("LLM calls", _fmt.count(t.calls)),
        ("success", _fmt.share(report.success_rate)),
        ("total cost", _fmt.money(t.cost)),
        ("input tokens", _fmt.count(t.input_tokens)),
        ("output tokens", _fmt.count(t.output_tokens)),
        ("cache hits", _fmt.share(report.cache_hit_ratio)),
        ("p50 duration", _fmt.seconds(lat.quantile(0.5))),
        ("p95 duration", _fmt.seconds(lat.quantile(0.95))),
        ("p50 TTFT", _fmt.seconds(report.latency.ttft.quantile(0.5))),
    ]
    inner = "".join(f'<div class="card">{escape(name)}<b>{escape(value)}</b></div>' for name, value in cards)
    return f'<div class="cards">{inner}</div>'


def _charts(report: Report) -> list[str]:
    return [
        _latency_over_time(report),
        _histogram(report),
        _tokens_by_model(report),
        _cost_by(report, "model", "Cost by model"),
        _cost_by(report, "agent", "Cost by agent"),
        _cost_by(report, "step", "Cost by step"),
        _phases(report),
    ]


def _latency_over_time(report: Report) -> str:
    buckets = report.timeline.ordered()
    if not buckets:
        return ""
    labels = [_fmt.timestamp(start) for start, _ in buckets]
    p50 = [b.durations.quantile(0.5) for _, b in buckets]
    p95 = [b.durations.quantile(0.95) for _, b in buckets]
    # p50 is listed first: lines() draws it last, on top of p95 where the two meet.
    chart = _svg.lines(labels, [("p50", p50), ("p95", p95)], _fmt.seconds, "latency over time")
    width = _fmt.seconds(report.timeline.width_ns / 1e9)
    return _section("Latency over time", chart, f"call duration per {width} bucket (UTC)")


def _histogram(report: Report) -> str:
    rows = report.histogram.rows(30)
    if not rows:
        return ""
    labels = [_fmt.seconds(low) for low, _, _ in rows]
    chart = _svg.columns(labels, [n for _, _, n in rows], lambda v: f"{v:,.0f} calls", "latency histogram")
    return _section("Latency histogram", chart, "calls per duration range (log scale)")


def _tokens_by_model(report: Report) -> str:
    rows = [
        (label, [t.uncached_input_tokens, t.cache_read_tokens + t.cache_write_tokens, t.output_tokens])
        for label, t in _by_tokens(report.groups.get("model", []))
    ]
    if not rows:
        return ""
    series = ("uncached input", "cached input (read + write)", "output")
    chart = _svg.hbars(rows, series, _fmt.compact, "tokens by model")
    return _section("Tokens by model", chart)


def _cost_by(report: Report, group: str, title: str) -> str:
    rows = [(label, [float(t.cost)]) for label, t in report.groups.get(group, [])[:_ROWS] if t.cost]
    if not rows or (len(rows) == 1 and rows[0][0] == NONE):
        return ""
    chart = _svg.hbars(rows, ("cost",), lambda v: _fmt.money(Decimal(str(v))), title)
    return _section(title, chart, "USD, priced calls only")


def _phases(report: Report) -> str:
    rows = [(name, list(s.mean_phases().values())) for name, s in report.steps[:_ROWS] if s.with_phases]
    if not rows:
        return ""
    series = [short.replace("_", " ") for _, short in PHASES]
    chart = _svg.hbars(rows, series, _fmt.seconds, "phase breakdown per step")
    return _section("Phase breakdown per step", chart, "mean seconds per phase of each agent step")


def _by_tokens(rows: Sequence[tuple[str, Totals]]) -> list[tuple[str, Totals]]:
    ordered = sorted(rows, key=lambda r: -(r[1].input_tokens + r[1].output_tokens))
    return [r for r in ordered if r[1].input_tokens + r[1].output_tokens][:_ROWS]


def _footer(report: Report) -> str:
    stats = report.stats
    text = f"{len(stats.files)} file(s), {stats.spans:,} spans, {stats.malformed:,} malformed lines skipped"
    return f'<p class="note">{escape(text)} · generated by otel-llm-cost</p>'
