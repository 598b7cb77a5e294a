"""Figures from the workers' raw samples: medians, p95, overheads paired by round, per-chunk costs.

Every overhead is a difference against ``bare`` measured in the same round (the processes of one round
run back to back), and the figure reported is the median over rounds, so slow phases of a shared
machine hit both sides of each difference.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


def percentile(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


@dataclass
class Row:
    """One (generation, surface, configuration): what the tables print."""

    generation: str
    surface: str
    config: str
    sdk: str = ""
    median_us: float | None = None
    p95_us: float | None = None
    overhead_us: float | None = None
    overhead_range_us: tuple[float, float] | None = None
    x_floor: float | None = None
    ab_us: float | None = None  # in-process: instrumented call vs the same call unwrapped
    ab_range_us: tuple[float, float] | None = None
    ab_x_floor: float | None = None
    chunk_us: float | None = None  # median next() latency, instrumented stream
    chunk_ab_us: float | None = None  # in-process: difference of median next() latencies
    chunk_ab_range_us: tuple[float, float] | None = None
    chunk_vs_bare_us: float | None = None  # the same against the bare process of the round
    chunk_naive_us: float | None = None  # (stream overhead - call overhead) / chunks
    chunk_ab_naive_us: float | None = None  # the same from the A/B overheads
    check: str = ""
    notes: list[str] = field(default_factory=list)


def _sdk_label(versions: dict[str, str], surface: str) -> str:
    sdk = surface.split(".")[0]
    http = "httpx2" if "httpx2" in versions and _uses_httpx2(sdk, versions) else "httpx"
    return f"{sdk} {versions.get(sdk, '?')} / {http} {versions.get(http, '?')}"


def _uses_httpx2(sdk: str, versions: dict[str, str]) -> bool:
    major = int(versions.get(sdk, "0").split(".")[0])
    return major >= 3 if sdk == "openai" else major >= 1


def _check_text(checks: list[dict[str, Any]]) -> str:
    statuses = {c["status"] for c in checks}
    if statuses == {"n/a"}:
        return "n/a (no OTel)"
    if statuses == {"ok"}:
        return "ok"
    bad = next(c for c in checks if c["status"] != "ok")
    if bad.get("usage_spans_per_call", 0) > 0:
        return f"usage mismatch: got {bad['last_usage']}, served {bad['expected_usage']}"
    return f"no usage span ({bad.get('spans_per_call', 0):.2g} spans/call)"


def _per_round(
    runs: list[dict[str, Any]], surface: str, key: str, side: int | None = None
) -> dict[int, float]:
    """Each round's median of ``results[surface][key]`` (``[side]`` of an A/B pair of lists)."""
    out = {}
    for run in runs:
        result = run.get("results", {}).get(surface, {})
        if key in result:
            out[run["round"]] = statistics.median(result[key] if side is None else result[key][side])
    return out


def _ab_diffs(runs: list[dict[str, Any]], surface: str, key: str) -> list[float]:
    a, b = _per_round(runs, surface, key, 0), _per_round(runs, surface, key, 1)
    return _paired(a, b)


def _summary(diffs: list[float]) -> tuple[float | None, tuple[float, float] | None]:
    if not diffs:
        return None, None
    return statistics.median(diffs) / 1000, (min(diffs) / 1000, max(diffs) / 1000)


def _paired(config: dict[int, float], bare: dict[int, float]) -> list[float]:
    return [config[r] - bare[r] for r in config if r in bare]


def timing_rows(runs: list[dict[str, Any]], chunks: dict[str, int]) -> list[Row]:
    """Rows for every (generation, surface, config) seen in ``runs`` (timing mode)."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        grouped[(run["generation"], run["config"])].append(run)
    rows: list[Row] = []
    for (generation, config), group in grouped.items():
        ok = [run for run in group if "results" in run]
        errors = [run["error"] for run in group if "error" in run]
        surfaces = sorted({s for run in ok for s in run["results"]} | set(chunks if errors else ()))
        for surface in surfaces:
            row = Row(generation, surface, config)
            if errors:
                row.check = f"failed: {errors[0]}"
            if ok:
                _fill(row, ok, surface, grouped.get((generation, "bare"), []))
            rows.append(row)
    _relative(rows, runs, chunks)
    return rows


def _fill(row: Row, runs: list[dict[str, Any]], surface: str, bare: list[dict[str, Any]]) -> None:
    present = [run for run in runs if surface in run["results"]]
    if not present:
        return
    row.sdk = _sdk_label(present[0]["versions"], surface)
    pooled = [s for run in present for s in run["results"][surface]["samples_ns"]]
    row.median_us = statistics.median(_per_round(present, surface, "samples_ns").values()) / 1000
    row.p95_us = percentile(pooled, 0.95) / 1000
    if not row.check:
        row.check = _check_text([run["results"][surface]["check"] for run in present])
    diffs = _paired(_per_round(present, surface, "samples_ns"), _per_round(bare, surface, "samples_ns"))
    row.overhead_us, row.overhead_range_us = _summary(diffs)
    row.ab_us, row.ab_range_us = _summary(_ab_diffs(present, surface, "ab_ns"))
    chunk = _per_round(present, surface, "ab_chunk_ns", 0)
    if chunk:
        row.chunk_us = statistics.median(chunk.values()) / 1000
        row.chunk_ab_us, row.chunk_ab_range_us = _summary(_ab_diffs(present, surface, "ab_chunk_ns"))
        row.chunk_vs_bare_us, _ = _summary(_paired(chunk, _per_round(bare, surface, "ab_chunk_ns", 0)))


def _relative(rows: list[Row], runs: list[dict[str, Any]], chunks: dict[str, int]) -> None:
    """Fill the x floor ratios and the naive per-chunk figure, which need other rows."""
    by_key = {(r.generation, r.surface, r.config): r for r in rows}
    for row in rows:
        floor = by_key.get((row.generation, row.surface, "floor"))
        if floor is not None:
            row.x_floor = _ratio(row.overhead_us, floor.overhead_us)
            row.ab_x_floor = _ratio(row.ab_us, floor.ab_us)
        n = chunks.get(row.surface, 0)
        call_surface = row.surface.removesuffix(f".stream{n}") if n else ""
        call_row = by_key.get((row.generation, call_surface, row.config))
        if n and call_row is not None:
            row.chunk_naive_us = _per_chunk(row.overhead_us, call_row.overhead_us, n)
            row.chunk_ab_naive_us = _per_chunk(row.ab_us, call_row.ab_us, n)


def _per_chunk(stream: float | None, call: float | None, chunks: int) -> float | None:
    return None if stream is None or call is None else (stream - call) / chunks


def _ratio(value: float | None, floor: float | None) -> float | None:
    if value is None or floor is None or floor <= 0:
        return None
    return value / floor
