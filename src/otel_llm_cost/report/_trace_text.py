"""One trace as a terminal tree: each span indented under its parent, with its timing, tokens, cost and a
waterfall bar on the trace's time axis (``otel-llm-cost report --trace ID``)."""

from __future__ import annotations

from typing import Final

from otel_llm_cost.report import _fmt
from otel_llm_cost.report._term import safe_text
from otel_llm_cost.report._text_table import text_table
from otel_llm_cost.report._trace_model import KIND_LABELS, TraceCost, ViewSpan

_BAR: Final = 24
# Short names of the step phases, in the order of PHASES.
_PHASE_NAMES: Final = ("pre", "ttft", "gen", "tool", "post")


def render_trace(trace: TraceCost, width: int = 100, ascii: bool = False) -> str:
    """The spans of ``trace`` as an indented tree with a waterfall column."""
    end = trace.start_ns + int((trace.duration_s or 0) * 1e9)
    total = max(end - trace.start_ns, 1)
    head = (
        f"Trace {trace.trace_id} · {trace.root or '-'} · {_fmt.timestamp(trace.start_ns)} UTC · "
        f"{_fmt.seconds(trace.duration_s)} · {trace.calls:,} calls · "
        f"{_fmt.cost(trace.cost, trace.unpriced_calls, trace.calls)}"
    )
    rows: list[list[str]] = []
    for span in trace.spans:
        rows.append(_row(span, trace.start_ns, total, ascii))
        if span.phases:
            parts = [f"{n} {_fmt.seconds(v)}" for n, v in zip(_PHASE_NAMES, span.phases, strict=True) if v]
            rows.append(["  " * min(span.depth + 1, 12) + "phases: " + ", ".join(parts), "", "", "", "", ""])
    header = ["span", "start", "duration", "tokens in → out", "cost", "timeline"]
    lines = [head, "", *text_table(header, rows, width, "lrrrrl", 0)]
    if trace.spans_dropped:
        lines.append(f"… {trace.spans_dropped:,} more spans not shown")
    lines.append(
        "[llm] one LLM call; [wrapper] a span reporting its calls' usage (not counted again); ! failed"
    )
    text = safe_text("\n".join(lines) + "\n")
    return text.replace("→", "->").replace("…", "~").encode("ascii", "replace").decode() if ascii else text


def _row(span: ViewSpan, origin: int, total: int, ascii: bool) -> list[str]:
    tag = f"[{KIND_LABELS[span.kind]}] " if span.kind in KIND_LABELS else ""
    name = "  " * min(span.depth, 12) + tag + span.name + (" !" if span.error else "")
    tokens = ""
    if span.input_tokens is not None:
        tokens = f"{span.input_tokens:,} → {span.output_tokens or 0:,}"
    cost = ""
    if span.kind == "call":
        cost = _fmt.money(span.cost) if span.cost is not None else _fmt.UNPRICED
    offset = (span.start_ns - origin) / 1e9
    duration = max(span.end_ns - span.start_ns, 0) / 1e9
    bar = _bar(span.start_ns - origin, span.end_ns - origin, total, ascii)
    return [name, f"+{_fmt.seconds(offset)}", _fmt.seconds(duration), tokens, cost, bar]


def _bar(start: int, end: int, total: int, ascii: bool) -> str:
    left = min(max(round(start / total * _BAR), 0), _BAR - 1)
    right = min(max(round(end / total * _BAR), left + 1), _BAR)
    fill = "#" if ascii else "█"
    return ("." if ascii else "·") * left + fill * (right - left)
