"""The report as text: summary, latency percentiles, cost breakdowns, steps, traces, charts.

Everything fits ``width`` columns (80 by default). ``ascii=True`` replaces every non-ASCII character
(block elements, box lines, ellipses) for terminals and logs that cannot show them.
"""

from __future__ import annotations

from typing import Final

from otel_llm_cost.report import _charts, _fmt
from otel_llm_cost.report._result import Report
from otel_llm_cost.report._sampling import sampling_lines
from otel_llm_cost.report._term import safe_cell, safe_text
from otel_llm_cost.report._text_table import text_table
from otel_llm_cost.report._totals import NONE, Totals
from otel_llm_cost.report._trace_model import TraceCost

_ASCII: Final = str.maketrans({"…": "~", "·": "|", "→": "->", "–": "-", "│": "|", "┤": "|", "─": "-"})
_GROUP_ROWS: Final = 10
_TITLES: Final = {"provider": "Cost by provider", "model": "Cost by model", "agent": "Cost by agent"}


def render_table(report: Report, width: int = 80, charts: bool = True, ascii: bool = False) -> str:
    """The whole report as text."""
    parts = [_summary(report), _latency(report, width)]
    for name, rows in report.groups.items():
        parts.append(_group(_TITLES.get(name, f"Cost by {name}"), rows, report.totals, width))
    parts += [
        _steps(report, width),
        _traces("Most expensive traces", report.top_traces, width),
        _traces("Slowest traces", report.slow_traces, width),
        _unpriced(report, width),
    ]
    if charts:
        parts.append(_chart_section(report, width, ascii))
    parts.append(_malformed(report))
    text = safe_text("\n\n".join(p for p in parts if p) + "\n")
    return text.translate(_ASCII).encode("ascii", "replace").decode() if ascii else text


def _summary(report: Report) -> str:
    stats, totals = report.stats, report.totals
    files = f"{len(stats.files)} file{'s' if len(stats.files) != 1 else ''}"
    lines = [f"otel-llm-cost report · {files} · {stats.spans:,} spans"]
    if not totals.calls:
        lines.append("No LLM calls found.")
        return "\n".join(lines)
    bucket = report.timeline.ordered()
    if bucket:
        end = bucket[-1][0] + report.timeline.width_ns
        lines.append(f"Period      {_fmt.timestamp(bucket[0][0])} → {_fmt.timestamp(end)} UTC")
    lines.append(
        f"Calls       {totals.calls:,} · success {_fmt.share(report.success_rate)} "
        f"({totals.errors:,} errors) · {report.traces:,} traces"
    )
    priced = totals.calls - totals.unpriced
    lines.append(
        f"Cost        {_fmt.money(totals.cost)} USD · {priced:,} priced, {totals.unpriced:,} unpriced"
    )
    lines += sampling_lines(report.sampling, totals.calls)
    lines += report.parts.lines()
    lines.append(
        f"Input       {totals.input_tokens:,} tokens · uncached {totals.uncached_input_tokens:,} · "
        f"cache read {totals.cache_read_tokens:,} · cache write {totals.cache_write_tokens:,}"
    )
    lines.append(f"Cache hits  {_fmt.share(report.cache_hit_ratio)} of input tokens read from cache")
    lines.append(f"Output      {totals.output_tokens:,} tokens · reasoning {totals.reasoning_tokens:,}")
    return "\n".join(lines)


def _latency(report: Report, width: int) -> str:
    if not report.totals.calls:
        return ""
    lat = report.latency
    rows = []
    for label, quantiles, fmt in (
        ("duration", lat.duration, _fmt.seconds),
        ("time to first chunk", lat.ttft, _fmt.seconds),
        ("generation", lat.generation, _fmt.seconds),
        ("output tokens / s", lat.tokens_per_second, _fmt.rate),
    ):
        if quantiles.count:
            values = [quantiles.quantile(q) for q in (0.5, 0.95, 0.99)] + [quantiles.maximum]
            rows.append([label, _fmt.count(quantiles.count), *(fmt(v) for v in values)])
    return "\n".join(text_table(["Latency", "calls", "p50", "p95", "p99", "max"], rows, width))


def _group(title: str, rows: list[tuple[str, Totals]], total: Totals, width: int) -> str:
    if not rows or (len(rows) == 1 and rows[0][0] == NONE):
        return ""
    cells = []
    for label, t in rows[:_GROUP_ROWS]:
        share = float(t.cost / total.cost) if total.cost else None
        cells.append(
            [label, _fmt.count(t.calls), _fmt.count(t.input_tokens), _fmt.count(t.output_tokens),
             _fmt.cost(t.cost, t.unpriced, t.calls), _fmt.share(share)]
        )  # fmt: skip
    lines = text_table([title, "calls", "input", "output", "cost", "share"], cells, width)
    if len(rows) > _GROUP_ROWS:
        lines.append(f"… {len(rows) - _GROUP_ROWS} more (see --format json)")
    if any(0 < t.unpriced < t.calls for _, t in rows[:_GROUP_ROWS]):
        lines.append("* some calls of this group are unpriced (not included in the cost)")
    return "\n".join(lines)


def _steps(report: Report, width: int) -> str:
    if not report.steps:
        return ""
    cells = []
    for name, step in report.steps[:_GROUP_ROWS]:
        means = list(step.mean_phases().values())
        phases = [_fmt.seconds(m) for m in means] if means else ["-"] * 5
        p50 = _fmt.seconds(step.durations.quantile(0.5))
        cells.append([name, _fmt.count(step.runs), p50, *phases])
    header = ["Agent steps", "runs", "p50", "pre", "ttft", "gen", "tool", "post"]
    lines = text_table(header, cells, width)
    lines.append("p50: step duration; then mean seconds per phase: pre-processing, time to first")
    lines.append("token, generation, tools, post-processing")
    return "\n".join(lines)


def _traces(title: str, traces: list[TraceCost], width: int) -> str:
    if not traces:
        return ""
    cells = [
        [t.trace_id, _fmt.cost(t.cost, t.unpriced_calls, t.calls), _fmt.count(t.calls),
         _fmt.seconds(t.duration_s), t.root or "-"]
        for t in traces
    ]  # fmt: skip
    lines = [title, *text_table(["trace", "cost", "calls", "duration", "root"], cells, width, "lrrrl", 4)]
    lines.append("(otel-llm-cost report --trace TRACE_ID shows one trace's spans)")
    return "\n".join(lines)


def _unpriced(report: Report, width: int) -> str:
    if not report.unpriced:
        return ""
    cells = [[f"{p} / {m}", _fmt.count(n)] for p, m, n in report.unpriced[:_GROUP_ROWS]]
    lines = text_table(["Unpriced models", "calls"], cells, width)
    lines.append("Add them to a price file (OTEL_LLM_COST_PRICES_FILE) to price them.")
    return "\n".join(lines)


def _chart_section(report: Report, width: int, ascii: bool) -> str:
    if not report.totals.calls:
        return ""
    parts = ["Call duration (log scale)", *_charts.histogram(report.histogram, width, ascii)]
    parts += ["", "Tokens over time", *_charts.timeline(report.timeline, "tokens", width, ascii=ascii)]
    if report.totals.cost:
        parts += ["", "Cost over time (USD)", *_charts.timeline(report.timeline, "cost", width, ascii=ascii)]
    return "\n".join(parts)


def _malformed(report: Report) -> str:
    stats = report.stats
    if not stats.malformed:
        return ""
    lines = [f"Skipped {stats.malformed:,} malformed line(s) or span(s), e.g.:"]
    lines += [f"  {safe_cell(example)}" for example in stats.examples]
    if stats.oversized:
        lines.append(f"({stats.oversized:,} of them longer than {stats.max_line_bytes:,} bytes)")
    return "\n".join(lines)
