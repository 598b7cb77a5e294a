"""Markdown tables from the computed rows: per-call, per-chunk, memory, targets; and machine facts."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from typing import Any

from _stats import Row

ANCHORS = ("genai", "openllmetry")
NAMES = {
    "bare": "bare SDK",
    "floor": "floor (1 span, 4 attrs)",
    "ours": "otel-llm-cost",
    "genai": "OTel genai-* 1.3b0",
    "openllmetry": "OpenLLMetry 0.62.4",
}


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _table(header: Sequence[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def per_call_table(rows: list[Row]) -> str:
    header = ["gen", "surface", "configuration", "SDK", "median µs", "p95 µs", "overhead µs (rounds min–max)"]
    header += ["× floor", "usage span"]
    lines = []
    for r in rows:
        low, high = r.overhead_range_us or (0.0, 0.0)
        spread = "" if r.overhead_range_us is None else f" ({low:,.0f}–{high:,.0f})"
        overhead = "0 (baseline)" if r.config == "bare" else _num(r.overhead_us) + spread
        x_floor = "–" if r.config == "bare" else _num(r.x_floor, 2)
        name = NAMES.get(r.config, r.config)
        figures = [_num(r.median_us), _num(r.p95_us), overhead, x_floor]
        lines.append([r.generation, r.surface, name, r.sdk, *figures, r.check])
    return _table(header, lines)


def per_chunk_table(rows: list[Row]) -> str:
    header = ["gen", "surface", "configuration", "next() median µs", "per-chunk overhead µs (direct)"]
    header += ["(stream − call overhead)/chunks µs"]
    lines = [
        [r.generation, r.surface, NAMES.get(r.config, r.config), _num(r.chunk_us, 2), *_chunk_figures(r)]
        for r in rows
        if r.chunk_us is not None
    ]
    return _table(header, lines)


def _chunk_figures(r: Row) -> list[str]:
    return [_num(r.chunk_overhead_us, 2), _num(r.chunk_overhead_naive_us, 2)]


def memory_table(runs: list[dict[str, Any]]) -> str:
    header = ["gen", "surface", "configuration", "calls", "RSS growth KiB", "bytes/call", "live objects Δ"]
    header += ["mean µs/call (2 in parallel)", "usage span"]
    lines = []
    for run in runs:
        head = [run["generation"], run["surface"], NAMES[run["config"]]]
        if "error" in run:
            lines.append([*head, "", "failed: " + run["error"]])
            continue
        m = run["results"][run["surface"]]
        check = m["check"]["status"]
        growth = m["rss_growth_kib"]
        per_call = f"{growth * 1024 / m['calls']:,.1f}"
        figures = [
            f"{m['calls']:,}",
            f"{growth:,}",
            per_call,
            f"{m['object_growth']:,}",
            _num(m["mean_ns"] / 1000),
        ]
        lines.append([*head, *figures, "n/a (no OTel)" if check == "n/a" else check])
    return _table(header, lines)


def targets_table(rows: list[Row]) -> str:
    """otel-llm-cost against the three targets, per generation and surface."""
    by_key = {(r.generation, r.surface, r.config): r for r in rows}
    header = ["gen", "surface", "ours overhead µs", "below every anchor", "≤ 2× floor", "< 1 µs/chunk"]
    lines = []
    for r in rows:
        if r.config != "ours" or r.overhead_us is None:
            continue
        anchors = [by_key.get((r.generation, r.surface, a)) for a in ANCHORS]
        measured = [a for a in anchors if a is not None and a.overhead_us is not None]
        below = " ".join(
            f"{'yes' if r.overhead_us < a.overhead_us else 'NO'} ({a.config} {a.overhead_us:,.0f})"  # type: ignore[operator]
            for a in measured
        )
        two_x = "–" if r.x_floor is None else f"{'yes' if r.x_floor <= 2 else 'NO'} ({r.x_floor:.2f}×)"
        chunk = "–"
        if r.chunk_overhead_us is not None:
            chunk = f"{'yes' if r.chunk_overhead_us < 1 else 'NO'} ({r.chunk_overhead_us:.2f})"
        lines.append([r.generation, r.surface, _num(r.overhead_us), below or "–", two_x, chunk])
    return _table(header, lines)


def machine() -> dict[str, str]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": f"{model} ({os.cpu_count()} logical CPUs)",
    }


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"
