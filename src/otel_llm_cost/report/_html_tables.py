"""The HTML report's tables: breakdowns, steps, traces, unpriced models, skipped lines.

Every table fits its card: fixed column widths for figures, the label column takes the rest and cuts
long text with an ellipsis, its full text in a tooltip. Trace ids link to their trace views.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

from otel_llm_cost.report import _fmt
from otel_llm_cost.report._html_trace import trace_link
from otel_llm_cost.report._result import Report
from otel_llm_cost.report._totals import Totals
from otel_llm_cost.report._trace_model import TraceCost

_ROWS: Final = 25


class Html(str):
    """A cell that is markup already (not escaped again)."""

    __slots__ = ()


# Column widths in the table's em; a negative width is a left-aligned text column; None: the label
# column, left-aligned, which takes what the others leave.
_NUM: Final = 7.0
_TEXT: Final = -9.0
_ID: Final = -19.5
_TIME: Final = 11.5


def tables(report: Report) -> list[str]:
    """One ``<section>`` per non-empty table."""
    out = [_latency(report)]
    for name, rows in report.groups.items():
        out.append(_group(f"Cost by {name}", rows, report.totals))
    out += [
        _steps(report),
        _traces("Most expensive traces", report.top_traces),
        _traces("Slowest traces", report.slow_traces),
        _unpriced(report),
        _malformed(report),
    ]
    return [t for t in out if t]


def _cell(value: str, tag: str = "td", left: bool = False) -> str:
    open_tag = f'<{tag} class="t"' if left else f"<{tag}"
    if isinstance(value, Html):
        return f"{open_tag}>{value}</{tag}>"
    text = escape(value)
    return f'{open_tag} title="{text}">{text}</{tag}>' if len(value) > 8 else f"{open_tag}>{text}</{tag}>"


def _table(
    title: str, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float | None] = ()
) -> str:
    if not rows:
        return ""
    widths = widths or [None, *([_NUM] * (len(header) - 1))]
    cols = "".join("<col>" if w is None else f'<col style="width:{abs(w)}em">' for w in widths)
    left = [w is None or w < 0 for w in widths]
    head = "".join(_cell(h, "th", lft) for h, lft in zip(header, left, strict=True))
    body = "".join(
        "<tr>" + "".join(_cell(c, "td", lft) for c, lft in zip(row, left, strict=True)) + "</tr>"
        for row in rows
    )
    table = f"<table><colgroup>{cols}</colgroup><tr>{head}</tr>{body}</table>"
    return f"<section><h2>{escape(title)}</h2>{table}</section>"


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
                _fmt.cost(t.cost, t.unpriced, t.calls),
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
    header = ["step", "agent", "runs", "p50", "pre", "TTFT", "gen.", "tool", "post"]
    widths = [None, _TEXT, *([_NUM] * 7)]
    return _table("Agent steps (mean phase time)", header, rows, widths)


def _traces(title: str, traces: Sequence[TraceCost]) -> str:
    rows = [
        [
            Html(trace_link(t.trace_id)),
            t.root,
            _fmt.timestamp(t.start_ns),
            _fmt.seconds(t.duration_s),
            _fmt.count(t.calls),
            _fmt.cost(t.cost, t.unpriced_calls, t.calls),
        ]
        for t in traces
    ]
    header = ["trace (opens its view)", "root", "start (UTC)", "duration", "calls", "cost"]
    widths = [_ID, None, _TIME, _NUM, _NUM - 2, _NUM]
    return _table(title, header, rows, widths)


def _unpriced(report: Report) -> str:
    rows = [[model, provider, _fmt.count(calls)] for provider, model, calls in report.unpriced[:_ROWS]]
    return _table("Unpriced models", ["model", "provider", "calls"], rows, [None, _TEXT, _NUM])


def _malformed(report: Report) -> str:
    stats = report.stats
    rows = [[example] for example in stats.examples]
    return _table(f"Skipped {stats.malformed:,} malformed lines or spans", ["first few"], rows, [None])
