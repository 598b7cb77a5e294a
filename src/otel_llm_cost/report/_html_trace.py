"""The HTML report's trace views: one waterfall per ranked trace, opened from its id in any table.

No script: each view is a ``<section id="trace-…">`` shown by the CSS ``:target`` rule as a panel over
the page when a link to it is followed, and closed by a link back. Each span is a row: its name
indented under its parent (full name in a tooltip), a bar on the trace's time axis (an agent step's
bar split into its phases), and tokens and cost for LLM calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Final

from otel_llm_cost.report import _fmt
from otel_llm_cost.report._svg import PALETTE
from otel_llm_cost.report._trace_model import KIND_LABELS, TraceCost, ViewSpan

# The phases in the colours of the "Phase breakdown per step" chart (svg.PALETTE order).
PHASE_COLORS: Final = tuple(
    zip(
        ("pre-processing", "time to first token", "generation", "tool", "post-processing"),
        PALETTE,
        strict=False,
    )
)
_KIND_COLORS: Final = {
    "agent": "#7f7f7f",
    "step": "#bab0ac",
    "tool": "#e15759",
    "call": "#8c6bb1",
    "wrapper": "#cbb8e0",
    "span": "#c7c7c7",
}
_TICKS: Final = (0.0, 0.25, 0.5, 0.75, 1.0)

CSS: Final = """
.trace{display:none}
.trace:target{display:block;position:fixed;inset:1.5rem;z-index:10;overflow:auto;background:#fff;
 border:1px solid #bbb;border-radius:8px;box-shadow:0 8px 40px rgba(0,0,0,.35);padding:1rem 1.2rem}
.trace .close{float:right;font-size:.9rem}
.wf{display:grid;grid-template-columns:minmax(10rem,2fr) minmax(12rem,5fr) 8.5rem 6.5rem;font-size:.8rem}
.wf>div{padding:.15rem .4rem;border-bottom:1px solid #f0f0f0;white-space:nowrap;overflow:hidden;
 text-overflow:ellipsis;min-width:0}
.wf .h{font-weight:600;border-bottom:1px solid #ccc}
.wf .n{text-align:left}.wf .num{text-align:right}
.wf .axis{position:relative;height:1.1rem}
.wf .axis span{position:absolute;top:0;transform:translateX(-50%);color:#777}
.wf .axis span:first-child{transform:none}.wf .axis span:last-child{transform:translateX(-100%)}
.lane{position:relative;height:1rem}
.bar{position:absolute;top:.15rem;height:.7rem;display:flex;min-width:2px;border-radius:2px;overflow:hidden}
.bar i{display:block;height:100%}
.err{color:#c0392b}
.wf small{color:#888;margin-right:.3rem}
.legend span{display:inline-block;margin-right:1rem;font-size:.8rem}
.legend b{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
"""


def trace_views(traces: Iterable[TraceCost]) -> str:
    """A hidden view per trace (each trace once), shown when ``#trace-<id>`` is the page's target."""
    seen: set[str] = set()
    views = []
    for trace in traces:
        if trace.trace_id not in seen and trace.spans:
            seen.add(trace.trace_id)
            views.append(_view(trace))
    return "".join(views)


def trace_link(trace_id: str) -> str:
    """The trace id as a link to its view."""
    return f'<a href="#trace-{escape(trace_id)}" title="open the trace view">{escape(trace_id)}</a>'


def _view(trace: TraceCost) -> str:
    total = max(int((trace.duration_s or 0) * 1e9), 1)
    head = (
        f"{escape(trace.root or '-')} · {escape(_fmt.timestamp(trace.start_ns))} UTC · "
        f"{escape(_fmt.seconds(trace.duration_s))} · {trace.calls:,} LLM calls · "
        f"{escape(_fmt.cost(trace.cost, trace.unpriced_calls, trace.calls))}"
    )
    rows = "".join(_row(span, trace.start_ns, total) for span in trace.spans)
    dropped = (
        f'<p class="note">{trace.spans_dropped:,} more spans not shown</p>' if trace.spans_dropped else ""
    )
    return (
        f'<section class="trace" id="trace-{escape(trace.trace_id)}" aria-label="trace view">'
        '<a class="close" href="#top">close ✕</a>'
        f"<h2>Trace {escape(trace.trace_id)}</h2><p>{head}</p>{_legend()}"
        f'<div class="wf"><div class="h n">span</div><div class="h axis">{_axis(trace)}</div>'
        f'<div class="h num">tokens in → out</div><div class="h num">cost</div>{rows}</div>'
        f"{dropped}</section>"
    )


def _axis(trace: TraceCost) -> str:
    seconds = trace.duration_s or 0.0
    ticks = "".join(
        f'<span style="left:{t * 100:.0f}%">{escape(_fmt.seconds(t * seconds))}</span>' for t in _TICKS
    )
    return ticks


def _legend() -> str:
    kinds = [("LLM call", _KIND_COLORS["call"]), ("tool", _KIND_COLORS["tool"]), ("agent / span", "#7f7f7f")]
    items = [*kinds, *((f"step: {name}", color) for name, color in PHASE_COLORS)]
    inner = "".join(f'<span><b style="background:{c}"></b>{escape(n)}</span>' for n, c in items)
    return f'<p class="legend">{inner}</p>'


def _row(span: ViewSpan, origin: int, total: int) -> str:
    left = min(max((span.start_ns - origin) / total, 0.0), 1.0) * 100
    width = min(max(span.end_ns - span.start_ns, 0) / total * 100, 100 - left)
    duration = max(span.end_ns - span.start_ns, 0) / 1e9
    label = f"{span.kind}: {span.name}" + (f" ({span.model})" if span.model else "")
    tip = f"{label} · starts +{_fmt.seconds((span.start_ns - origin) / 1e9)} · {_fmt.seconds(duration)}"
    if span.error:
        tip += " · failed"
    name_class = "n err" if span.error else "n"
    indent = min(span.depth, 12) * 0.9
    tokens = cost = ""
    if span.input_tokens is not None:
        tokens = f"{span.input_tokens:,} → {span.output_tokens or 0:,}"
    if span.kind == "call":
        cost = _fmt.money(span.cost) if span.cost is not None else _fmt.UNPRICED
    bar = (
        f'<div class="bar" style="left:{left:.3f}%;width:{width:.3f}%;background:{_KIND_COLORS[span.kind]}"'
        f' title="{escape(tip)}">{_phases(span, duration)}</div>'
    )
    tag = KIND_LABELS.get(span.kind, "")
    return (
        f'<div class="{name_class}" style="padding-left:{indent + 0.4:.1f}rem" title="{escape(tip)}">'
        f'<small>{tag}</small>{escape(span.name)}</div><div class="lane">{bar}</div>'
        f'<div class="num">{escape(tokens)}</div><div class="num">{escape(cost)}</div>'
    )


def _phases(span: ViewSpan, duration: float) -> str:
    """A step's bar split by phase, each part as wide as its share of the step's time."""
    if not span.phases or duration <= 0:
        return ""
    parts = []
    for (name, color), value in zip(PHASE_COLORS, span.phases, strict=True):
        if value:
            share = min(max(value / duration, 0.0), 1.0) * 100
            tip = f"{name}: {_fmt.seconds(value)}"
            parts.append(f'<i style="width:{share:.2f}%;background:{color}" title="{escape(tip)}"></i>')
    return "".join(parts)
