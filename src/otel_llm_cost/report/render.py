"""The report as text: summary, latency percentiles, cost breakdowns, steps, traces, charts.

Everything fits ``width`` columns (80 by default). ``ascii=True`` replaces every non-ASCII character
(block elements, box lines, ellipses) for terminals and logs that cannot show them.
"""

from __future__ import annotations

from typing import Final

from otel_llm_cost.report import _charts, _fmt
from otel_llm_cost.report._result import Report
from otel_llm_cost.report._sampling import sampling_lines
from otel_llm_cost.report._totals import Totals

_ASCII: Final = str.maketrans({"…": "~", "·": "|", "→": "->", "–": "-", "│": "|", "┤": "|", "─": "-"})
_GROUP_ROWS: Final = 10
_TITLES: Final = {"provider": "Cost by provider", "model": "Cost by model", "agent": "Cost by agent"}


def render_table(report: Report, width: int = 80, charts: bool = True, ascii: bool = False) -> str:
    """The whole report as text."""
    parts = [_summary(report), _latency(report)]
    for name, rows in report.groups.items():
        parts.append(_group(_TITLES.get(name, f"Cost by {name}"), rows, report.totals, width))
    parts += [_steps(report, width), _traces(report, width), _unpriced(report, width)]
    if charts:
        parts.append(_chart_section(report, width, ascii))
    parts.append(_malformed(report))
    text = "\n\n".join(p for p in parts if p) + "\n"
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


def _latency(report: Report) -> str:
    if not report.totals.calls:
        return ""
    lat = report.latency
    header = f"{'Latency':<22}{'calls':>9}{'p50':>11}{'p95':>11}{'p99':>11}{'max':>11}"
    rows = [header]
    for label, quantiles, fmt in (
        ("duration", lat.duration, _fmt.seconds),
        ("time to first chunk", lat.ttft, _fmt.seconds),
        ("generation", lat.generation, _fmt.seconds),
        ("output tokens / s", lat.tokens_per_second, _fmt.rate),
    ):
        if not quantiles.count:
            continue
        values = [quantiles.quantile(q) for q in (0.5, 0.95, 0.99)] + [quantiles.maximum]
        rows.append(f"{label:<22}{quantiles.count:>9,}" + "".join(f"{fmt(v):>11}" for v in values))
    return "\n".join(rows)


def _group(title: str, rows: list[tuple[str, Totals]], total: Totals, width: int) -> str:
    if not rows or (len(rows) == 1 and rows[0][0] == "(none)"):
        return ""
    numbers = f"{'calls':>8}{'input':>12}{'output':>11}{'cost':>12}{'share':>7}"
    label_w = max(width - len(numbers), 12)
    lines = [f"{_fmt.clip(title, label_w):<{label_w}}{numbers}"]
    for label, t in rows[:_GROUP_ROWS]:
        share = float(t.cost / total.cost) if total.cost else None
        cost = _fmt.money(t.cost) + ("*" if t.unpriced else " ")
        lines.append(
            f"{_fmt.clip(label, label_w - 1):<{label_w}}{t.calls:>8,}{t.input_tokens:>12,}"
            f"{t.output_tokens:>11,}{cost:>12}{_fmt.share(share):>7}"
        )
    if len(rows) > _GROUP_ROWS:
        lines.append(f"… {len(rows) - _GROUP_ROWS} more (see --format json)")
    if any(t.unpriced for _, t in rows):
        lines.append("* some calls of this group could not be priced (not included in the cost)")
    return "\n".join(lines)


def _steps(report: Report, width: int) -> str:
    if not report.steps:
        return ""
    phases = ("pre", "ttft", "gen", "tool", "post")
    numbers = f"{'runs':>6}{'p50':>9}" + "".join(f"{p:>8}" for p in phases)
    label_w = max(width - len(numbers), 12)
    lines = [f"{'Agent steps':<{label_w}}{numbers}"]
    for name, step in report.steps[:_GROUP_ROWS]:
        means = list(step.mean_phases().values())
        cells = "".join(f"{_fmt.seconds(m):>8}" for m in means) if means else f"{'no phases':>40}"
        p50 = _fmt.seconds(step.durations.quantile(0.5))
        lines.append(f"{_fmt.clip(name, label_w - 1):<{label_w}}{step.runs:>6,}{p50:>9}{cells}")
    lines.append("p50: step duration; then mean seconds per phase: pre-processing, time to first")
    lines.append("token, generation, tools, post-processing")
    return "\n".join(lines)


def _traces(report: Report, width: int) -> str:
    if not report.top_traces:
        return ""
    lines = [f"{'Most expensive traces':<32}{'cost':>12}{'calls':>7}  root"]
    root_w = max(width - 53, 8)
    for t in report.top_traces:
        root = _fmt.clip(t.root or "-", root_w)
        lines.append(f"{t.trace_id:<32}{_fmt.money(t.cost):>12}{t.calls:>7,}  {root}")
    return "\n".join(lines)


def _unpriced(report: Report, width: int) -> str:
    if not report.unpriced:
        return ""
    lines = [f"{'Unpriced models':<{width - 10}}{'calls':>10}"]
    for provider, model, calls in report.unpriced[:_GROUP_ROWS]:
        lines.append(f"{_fmt.clip(f'{provider} / {model}', width - 11):<{width - 10}}{calls:>10,}")
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
    lines += [f"  {example}" for example in stats.examples]
    return "\n".join(lines)
