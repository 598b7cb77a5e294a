"""Markdown tables from the computed rows: per-call, per-chunk, memory, targets; and machine facts."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from typing import Any

from _stats import Row

ANCHORS = ("genai", "openai_v2", "openllmetry", "openlit", "openlit_content")
_COLLECTOR_NAMES = {"refused": "refusing connections", "blackhole": "accepting, never answering"}
NAMES = {
    "bare": "bare SDK",
    "floor": "floor (1 span, 4 attrs)",
    "ours": "otel-llm-cost",
    "ours_before": "otel-llm-cost, before (--before)",
    "genai": "OTel genai-* 1.3b0",
    "openai_v2": "OTel openai-v2 2.4b0",
    "openllmetry": "OpenLLMetry 0.62.4",
    "openlit": "OpenLIT 1.45.0, content off",
    "openlit_content": "OpenLIT 1.45.0, content on",
}
BEST_ANCHOR_SHARE = 0.9  # the target: at most this share of the best anchor's overhead (issue #20)


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _table(header: Sequence[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def _with_range(value: float | None, spread: tuple[float, float] | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    if spread is None:
        return _num(value, digits)
    return f"{value:,.{digits}f} ({spread[0]:,.{digits}f}…{spread[1]:,.{digits}f})"


def per_call_table(rows: list[Row]) -> str:
    header = ["gen", "surface", "configuration", "SDK", "median µs", "p95 µs", "overhead vs bare µs"]
    header += ["× floor", "A/B overhead µs", "A/B × floor", "usage span"]
    lines = []
    for r in rows:
        bare = r.config == "bare"
        overhead = "0 (baseline)" if bare else _with_range(r.overhead_us, r.overhead_range_us)
        x_floor = "–" if bare else _num(r.x_floor, 2)
        figures = [_num(r.median_us), _num(r.p95_us), overhead, x_floor]
        figures += [_with_range(r.ab_us, r.ab_range_us), "–" if bare else _num(r.ab_x_floor, 2)]
        lines.append([r.generation, r.surface, NAMES.get(r.config, r.config), r.sdk, *figures, r.check])
    return _table(header, lines)


def _chunk_figures(r: Row) -> list[str]:
    ab = _with_range(r.chunk_ab_us, r.chunk_ab_range_us, 2)
    naive = [_num(r.chunk_ab_naive_us, 2), _num(r.chunk_naive_us, 2)]
    return [_num(r.chunk_us, 2), ab, _num(r.chunk_vs_bare_us, 2), *naive]


def per_chunk_table(rows: list[Row]) -> str:
    header = ["gen", "surface", "configuration", "next() median µs", "A/B per chunk µs"]
    header += ["vs bare process µs", "(stream − call)/chunks, A/B µs", "(stream − call)/chunks, vs bare µs"]
    lines = [
        [r.generation, r.surface, NAMES.get(r.config, r.config), *_chunk_figures(r)]
        for r in rows
        if r.chunk_us is not None
    ]
    return _table(header, lines)


def memory_table(runs: list[dict[str, Any]]) -> str:
    header = ["gen", "surface", "configuration", "calls", "RSS growth KiB", "slope bytes/call"]
    header += ["live objects Δ", "largest Δ", "mean µs/call", "usage span"]
    lines = []
    for run in runs:
        name = NAMES[run["config"]]
        if "collector" in run:
            name += f", OTLP collector down ({_COLLECTOR_NAMES[run['collector']]})"
        head = [run["generation"], run["surface"], name]
        if "error" in run:
            lines.append([*head, "", "failed: " + run["error"]])
            continue
        m = run["results"][run["surface"]]
        check = m["check"]["status"]
        rss, objects = m["rss_kib"], m["objects"]
        slopes = [(b - a) * 1024 / n for a, b, n in zip(rss[:-1], rss[1:], m["interval_calls"], strict=True)]
        figures = [f"{m['calls']:,}", f"{rss[-1] - rss[0]:,}", f"{statistics.median(slopes):,.1f}"]
        figures += [f"{objects[-1] - objects[0]:,}", f"{max(o - objects[0] for o in objects):,}"]
        figures.append(f"{m['mean_ns'] / 1000:,.0f}")
        lines.append([*head, *figures, "n/a (no OTel)" if check == "n/a" else check])
    return _table(header, lines)


def _below(value: float | None, anchors: list[tuple[str, float | None]]) -> str:
    if value is None:
        return "–"
    verdicts = [f"{'yes' if value < a else 'NO'} ({name} {a:,.0f})" for name, a in anchors if a is not None]
    return ", ".join(verdicts) or "–"


def _share_of_best(value: float | None, anchors: list[tuple[str, float | None]]) -> str:
    """``value`` over the smallest anchor overhead, against :data:`BEST_ANCHOR_SHARE`."""
    known = [(a, name) for name, a in anchors if a is not None and a > 0]
    if value is None or not known:
        return "–"
    best, name = min(known)
    share = value / best
    return f"{'yes' if share <= BEST_ANCHOR_SHARE else 'NO'} ({share:.2f}× {name})"


def _at_most(value: float | None, limit: float, unit: str) -> str:
    return "–" if value is None else f"{'yes' if value <= limit else 'NO'} ({value:.2f}{unit})"


def targets_table(rows: list[Row]) -> str:
    """otel-llm-cost against the three targets, by both estimates (cross-process; in-process A/B)."""
    by_key = {(r.generation, r.surface, r.config): r for r in rows}
    header = ["gen", "surface", "estimate", "ours overhead µs", "below every anchor"]
    header += [f"≤ {BEST_ANCHOR_SHARE}× best anchor", "≤ 2× floor", "< 1 µs per chunk (A/B)"]
    lines = []
    for r in rows:
        if r.config != "ours":
            continue
        # An anchor that does not instrument the surface (openai-v2 on anthropic) makes no usage span.
        anchors = [by_key.get((r.generation, r.surface, a)) for a in ANCHORS]
        anchors = [a for a in anchors if a is not None and a.check == "ok"]
        chunk = (
            "–" if r.chunk_ab_us is None else f"{'yes' if r.chunk_ab_us < 1 else 'NO'} ({r.chunk_ab_us:.2f})"
        )
        vs_bare = [(a.config, a.overhead_us) for a in anchors if a is not None]
        ab = [(a.config, a.ab_us) for a in anchors if a is not None]
        cross = [_num(r.overhead_us), _below(r.overhead_us, vs_bare), _share_of_best(r.overhead_us, vs_bare)]
        cross.append(_at_most(r.x_floor, 2, "×"))
        paired = [
            _num(r.ab_us),
            _below(r.ab_us, ab),
            _share_of_best(r.ab_us, ab),
            _at_most(r.ab_x_floor, 2, "×"),
        ]
        lines.append([r.generation, r.surface, "vs bare process", *cross, chunk])
        lines.append([r.generation, r.surface, "in-process A/B", *paired, chunk])
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
