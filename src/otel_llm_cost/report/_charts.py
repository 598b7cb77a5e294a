"""Terminal charts that fit 80 columns: horizontal bars and a column chart over time.

Unicode block elements give eighth-of-a-cell resolution; with ``ascii=True`` only ``#`` and ``.`` are
used, for terminals and logs that cannot show them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from otel_llm_cost.report import _fmt
from otel_llm_cost.report._stats import LogHistogram
from otel_llm_cost.report._timeline import Timeline

_EIGHTHS_H: Final = " ▏▎▍▌▋▊▉█"
_EIGHTHS_V: Final = " ▁▂▃▄▅▆▇█"


def bar(fraction: float, cells: int, ascii: bool = False) -> str:
    """A horizontal bar ``fraction`` (0..1) of ``cells`` long."""
    fraction = min(max(fraction, 0.0), 1.0)
    if ascii:
        return "#" * round(fraction * cells)
    eighths = round(fraction * cells * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS_H[part] if part else "")


def bars(rows: Sequence[tuple[str, float, str]], width: int = 80, ascii: bool = False) -> list[str]:
    """One line per ``(label, value, note)``: label, a bar scaled to the largest value, the note."""
    if not rows:
        return []
    label_w = min(max(len(label) for label, _, _ in rows), 24)
    note_w = max(len(note) for _, _, note in rows)
    cells = max(width - label_w - note_w - 4, 8)
    top = max(value for _, value, _ in rows) or 1.0
    lines = []
    for label, value, note in rows:
        drawn = bar(value / top, cells, ascii)
        if not drawn and value > 0:
            drawn = "." if ascii else "▏"
        name = _fmt.clip(label, label_w, "~" if ascii else "…")
        lines.append(f"{name:>{label_w}} │{drawn:<{cells}} {note:>{note_w}}")
    return [line.replace("│", "|") if ascii else line for line in lines]


def histogram(hist: LogHistogram, width: int = 80, ascii: bool = False, max_rows: int = 14) -> list[str]:
    """Call durations on a log scale: one row per range, its share of calls, and the count."""
    rows = hist.rows(max_rows)
    total = sum(n for _, _, n in rows)
    if not total:
        return []
    return bars(
        [(_range(low, high), n, f"{n:,} {n / total:6.1%}") for low, high, n in rows],
        width,
        ascii,
    )


def columns(
    values: Sequence[float], height: int = 6, ascii: bool = False, label_w: int = 8, unit: str = ""
) -> list[str]:
    """A column chart, one column per value, ``height`` rows, the top value on the axis."""
    top = max(values, default=0) or 1.0
    lines = []
    for row in range(height, 0, -1):
        cells = []
        for value in values:
            level = value / top * height - (row - 1)
            cells.append(_cell(level, ascii))
        axis = f"{_fmt.compact(top)}{unit}" if row == height else ("0" if row == 1 else "")
        lines.append(f"{axis:>{label_w}} {'|' if ascii else '┤'}{''.join(cells)}")
    return lines


def timeline(tl: Timeline, what: str, width: int = 80, height: int = 6, ascii: bool = False) -> list[str]:
    """Tokens (``"tokens"``) or cost (``"cost"``) over time, re-binned to fit ``width``."""
    buckets = tl.ordered()
    if not buckets:
        return []
    plot_w = max(width - 10, 10)
    per_col = math.ceil(len(buckets) / plot_w)
    values: list[float] = []
    for i in range(0, len(buckets), per_col):
        group = buckets[i : i + per_col]
        if what == "cost":
            values.append(float(sum(b.cost for _, b in group)))
        else:
            values.append(float(sum(b.input_tokens + b.output_tokens for _, b in group)))
    unit = "$" if what == "cost" else ""
    lines = columns(values, height, ascii, unit=unit)
    first, last = buckets[0][0], buckets[-1][0] + tl.width_ns
    left, right = _fmt.timestamp(first), _fmt.timestamp(last, with_date=_day(first) != _day(last))
    axis = left + " " * max(len(values) - len(left) - len(right), 1) + right
    step = _fmt.seconds(tl.width_ns * per_col / 1e9)
    return [*lines, " " * 10 + axis, " " * 10 + f"(one column = {step}, UTC)"]


def _cell(level: float, ascii: bool) -> str:
    if level <= 0:
        return " "
    if level >= 1:
        return "#" if ascii else "█"
    if ascii:
        return "." if level >= 0.25 else " "
    return _EIGHTHS_V[max(1, round(level * 8))]


def _range(low: float, high: float) -> str:
    if high == 0:
        return "0"
    return f"{_fmt.seconds(low)}–{_fmt.seconds(high)}"


def _day(ns: int) -> str:
    return _fmt.timestamp(ns)[:10]
