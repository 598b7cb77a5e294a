"""Inline SVG charts for the HTML report: stacked horizontal bars, columns, lines.

Every chart is a standalone ``<svg>`` string with a ``viewBox`` (it scales with the page), a ``<title>``
tooltip on each mark, and every text escaped. No scripts, no fonts, nothing fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Final

PALETTE: Final = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")
_W: Final = 640
_FONT: Final = 'font-family="system-ui, sans-serif" font-size="11"'

Fmt = Callable[[float], str]


def _svg(height: float, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {_W} {height:.0f}" '
        f'xmlns="http://www.w3.org/2000/svg" {_FONT}>' + "".join(body) + "</svg>"
    )


def _legend(series: Sequence[str], y: float) -> list[str]:
    out, x = [], 0.0
    for index, name in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        out.append(f'<rect x="{x:.0f}" y="{y - 9:.0f}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 14:.0f}" y="{y:.0f}">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def hbars(
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    fmt: Fmt,
    label: str,
) -> str:
    """Horizontal bars, one per row, stacked by series; the total printed after each bar."""
    label_w, note_w, row_h = 170, 80, 22
    legend = len(series) > 1
    top = 22 if legend else 4
    height = top + row_h * max(len(rows), 1) + 4
    biggest = max((sum(values) for _, values in rows), default=0) or 1.0
    scale = (_W - label_w - note_w) / biggest
    body = _legend(series, 12) if legend else []
    for index, (name, values) in enumerate(rows):
        y = top + index * row_h
        short = name if len(name) <= 24 else name[:22] + "…"
        body.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(short)}'
            f"<title>{escape(name)}</title></text>"
        )
        x = float(label_w)
        for part, value in enumerate(values):
            if value <= 0:
                continue
            tip = escape(f"{name} · {series[part]}: {fmt(value)}")
            color = PALETTE[part % len(PALETTE)]
            body.append(
                f'<rect class="mark" x="{x:.1f}" y="{y + 3}" width="{max(value * scale, 0.5):.1f}" '
                f'height="{row_h - 6}" fill="{color}"><title>{tip}</title></rect>'
            )
            x += value * scale
        body.append(f'<text x="{x + 5:.1f}" y="{y + 15}">{escape(fmt(sum(values)))}</text>')
    return _svg(height, body, label)


def columns(labels: Sequence[str], values: Sequence[float], fmt: Fmt, label: str) -> str:
    """Vertical columns with a label under every few, the largest value on the axis."""
    left, bottom, height = 50, 36, 220
    plot_h = height - bottom - 10
    n = max(len(values), 1)
    col_w = (_W - left - 4) / n
    top = max(values, default=0) or 1.0
    body = [_axis(left, 10, plot_h, fmt(top))]
    every = max(1, n // 8)
    for index, (name, value) in enumerate(zip(labels, values, strict=True)):
        h = value / top * plot_h
        x = left + index * col_w
        body.append(
            f'<rect class="mark" x="{x + 1:.1f}" y="{10 + plot_h - h:.1f}" width="{max(col_w - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(name)}: {escape(fmt(value))}</title></rect>'
        )
        if index % every == 0:
            body.append(
                f'<text x="{x + col_w / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">'
                f"{escape(name)}</text>"
            )
    return _svg(height, body, label)


def lines(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    fmt: Fmt,
    label: str,
) -> str:
    """One polyline per series over evenly spaced x positions (time buckets).

    A ``None`` (a bucket without calls) is skipped, not a break: the line joins the points on either
    side, so sparse data reads as one line rather than disjoint fragments. The first series is drawn
    last, on top (the others are drawn wider, so it stays visible where they meet).
    """
    left, height, bottom = 50, 240, 40
    plot_h = height - bottom - 26
    n = max(len(x_labels), 2)
    step = (_W - left - 10) / (n - 1)
    top = max((v for _, values in series for v in values if v is not None), default=0) or 1.0
    body = [*_legend([name for name, _ in series], 12), _axis(left, 26, plot_h, fmt(top))]
    for index, (name, values) in reversed(list(enumerate(series))):
        color = PALETTE[index % len(PALETTE)]
        for run in _runs(values):
            points = " ".join(f"{left + i * step:.1f},{26 + plot_h - v / top * plot_h:.1f}" for i, v in run)
            body.append(
                f'<polyline class="mark" points="{points}" fill="none" stroke="{color}" '
                f'stroke-width="{2 if index == 0 else 3.5}" stroke-linejoin="round"/>'
            )
            for i, v in run:
                tip = f"{x_labels[i]} · {name}: {fmt(v)}"
                body.append(
                    f'<circle cx="{left + i * step:.1f}" cy="{26 + plot_h - v / top * plot_h:.1f}" r="2.5" '
                    f'fill="{color}"><title>{escape(tip)}</title></circle>'
                )
    for i in sorted({0, len(x_labels) - 1}):
        anchor = "start" if i == 0 else "end"
        body.append(
            f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" text-anchor="{anchor}">'
            f"{escape(x_labels[i])}</text>"
        )
    return _svg(height, body, label)


def _axis(left: int, top: int, plot_h: float, top_label: str) -> str:
    return (
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{_W}" y2="{top + plot_h}" stroke="#888"/>'
        f'<text x="{left - 4}" y="{top + 9}" text-anchor="end">{escape(top_label)}</text>'
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>'
    )


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    points = [(index, value) for index, value in enumerate(values) if value is not None]
    return [points] if points else []
