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
    chunk_us: float | None = None  # median next() latency
    chunk_overhead_us: float | None = None  # direct: difference of median next() latencies
    chunk_overhead_naive_us: float | None = None  # (stream overhead - call overhead) / chunks
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


def _per_round(runs: list[dict[str, Any]], surface: str, key: str) -> dict[int, float]:
    return {
        run["round"]: statistics.median(run["results"][surface][key])
        for run in runs
        if surface in run.get("results", {}) and key in run["results"][surface]
    }


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
    if diffs:
        row.overhead_us = statistics.median(diffs) / 1000
        row.overhead_range_us = (min(diffs) / 1000, max(diffs) / 1000)
    chunk = _per_round(present, surface, "chunk_samples_ns")
    if chunk:
        row.chunk_us = statistics.median(chunk.values()) / 1000
        chunk_diffs = _paired(chunk, _per_round(bare, surface, "chunk_samples_ns"))
        if chunk_diffs:
            row.chunk_overhead_us = statistics.median(chunk_diffs) / 1000


def _relative(rows: list[Row], runs: list[dict[str, Any]], chunks: dict[str, int]) -> None:
    """Fill x floor and the naive per-chunk figure, which need other rows."""
    by_key = {(r.generation, r.surface, r.config): r for r in rows}
    for row in rows:
        floor = by_key.get((row.generation, row.surface, "floor"))
        if row.overhead_us is not None and floor and floor.overhead_us and floor.overhead_us > 0:
            row.x_floor = row.overhead_us / floor.overhead_us
        n = chunks.get(row.surface, 0)
        call_surface = row.surface.removesuffix(f".stream{n}") if n else ""
        call_row = by_key.get((row.generation, call_surface, row.config))
        if n and row.overhead_us is not None and call_row and call_row.overhead_us is not None:
            row.chunk_overhead_naive_us = (row.overhead_us - call_row.overhead_us) / n
