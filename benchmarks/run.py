"""Per-call and per-chunk overhead of otel-llm-cost against bare SDKs, a hand-written floor and two anchors.

Run: ``make bench`` (= ``.venv/bin/python benchmarks/run.py``). Options: ``--rounds N``, ``--quick`` (a smoke
run, figures meaningless), ``--legacy`` (also the httpx-era SDKs), ``--no-memory``, ``--configs a,b``.

Each configuration runs in a fresh process (``_worker.py``), ``rounds`` times, in an order rotated every
round; see README.md for the method. Writes ``RESULTS.md`` next to this file and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _envs
import _payloads
import _report
from _setups import COLLECTORS, CONFIGS, GENERATION_CONFIGS, PIPELINES
from _stats import Row, timing_rows

BENCH = Path(__file__).resolve().parent
STREAM_CHUNKS = 200
SURFACES = ("openai.chat", f"openai.chat.stream{STREAM_CHUNKS}", "anthropic.messages")
SURFACES += (f"anthropic.messages.stream{STREAM_CHUNKS}",)
CHUNKS = {s: STREAM_CHUNKS for s in SURFACES if ".stream" in s}
# Per process and surface: untimed warm-up calls, timed calls, then interleaved pairs (instrumented,
# uninstrumented) for the in-process A/B figures. Streams cost 10-50x a plain call.
WARMUP = {"openai.chat": 100, "anthropic.messages": 100}
CALLS = {"openai.chat": 500, "anthropic.messages": 500}
AB_PAIRS = {"openai.chat": 300, "anthropic.messages": 300}
for _surface in CHUNKS:
    WARMUP[_surface] = 10
    CALLS[_surface] = 40 if _surface.startswith("openai") else 120
    AB_PAIRS[_surface] = 20 if _surface.startswith("openai") else 60
CHUNK_PAIRS = 10  # pairs of streams whose every next() is timed: 2,000 chunk samples a side per process
# Memory: (surface, calls for bare/floor/ours, calls for the anchors).
MEMORY = (("openai.chat", 100_000, 20_000), ("anthropic.messages", 100_000, 20_000))
MEMORY_WARMUP = 2_000
COLLECTOR_WARMUP = 5_000
_CLEAN_PREFIXES = ("OTEL_", "TRACELOOP_", "OPENAI_", "ANTHROPIC_")


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEAN_PREFIXES)}
    env.update(PYTHONHASHSEED="0", PYTHONWARNINGS="ignore")
    return env


def _worker(python: Path, plan: dict[str, Any]) -> dict[str, Any]:
    env = _env()
    if "src" in plan:  # otel-llm-cost from that tree: ahead of the environment's editable install
        env["PYTHONPATH"] = plan["src"]
    proc = subprocess.run(
        [str(python), str(BENCH / "_worker.py"), json.dumps(plan)],
        capture_output=True,
        text=True,
        env=env,
        cwd=BENCH,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {**_tag(plan), "error": last[:200]}
    return {**_tag(plan), **json.loads(proc.stdout)}


def _tag(plan: dict[str, Any]) -> dict[str, Any]:
    return {
        k: plan[k] for k in ("generation", "pipeline", "config", "round", "surface", "collector") if k in plan
    }


def _label(run: dict[str, Any]) -> dict[str, Any]:
    """A run whose generation names its pipeline too (``latest+batch``), so each pipeline has its own
    bare and floor rows, and the tables keep one baseline per (environment, pipeline)."""
    pipeline = run.get("pipeline", "simple")
    return run if pipeline == "simple" else {**run, "generation": f"{run['generation']}+{pipeline}"}


def _configs(args: argparse.Namespace, generation: str) -> tuple[str, ...]:
    return tuple(c for c in args.configs if c in GENERATION_CONFIGS[generation])


def _rotated(items: tuple[str, ...], by: int) -> list[str]:
    by %= len(items)
    return list(items[by:] + items[:by])


def _timing_plans(args: argparse.Namespace, generations: Iterable[str], payload_file: Path) -> list[dict]:
    scale = 0.1 if args.quick else 1.0
    plans = []
    for r in range(args.rounds):
        for generation, pipeline in ((g, p) for g in generations for p in args.pipelines):
            for config in _rotated(_configs(args, generation), r):
                plans.append(
                    {
                        "mode": "timing",
                        "generation": generation,
                        "pipeline": pipeline,
                        "config": config,
                        "round": r,
                        "payloads": str(payload_file),
                        "surfaces": _rotated(SURFACES, r),
                        "warmup": {s: max(2, int(n * scale)) for s, n in WARMUP.items()},
                        "calls": {s: max(5, int(n * scale)) for s, n in CALLS.items()},
                        "ab_pairs": {s: max(4, int(n * scale)) for s, n in AB_PAIRS.items()},
                        "chunk_pairs": max(2, int(CHUNK_PAIRS * scale)),
                        **({"src": str(args.before)} if config == "ours_before" else {}),
                    }
                )
    return plans


def _memory_plans(args: argparse.Namespace, generations: Iterable[str], payload_file: Path) -> list[dict]:
    plans = []
    for generation in generations:
        for surface, ours_calls, anchor_calls in MEMORY:
            for config in _configs(args, generation):
                calls = anchor_calls if config in _report.ANCHORS else ours_calls
                calls = calls // 50 if args.quick else calls
                plans.append(
                    {
                        "mode": "memory",
                        "generation": generation,
                        "config": config,
                        "surface": surface,
                        "payloads": str(payload_file),
                        "surfaces": [surface],
                        "warmup": {surface: MEMORY_WARMUP // (50 if args.quick else 1)},
                        "calls": {surface: calls},
                    }
                )
        if "ours" in args.configs and generation == "latest":
            plans += _collector_down_plans(args, generation, payload_file)
    return plans


def _collector_down_plans(args: argparse.Namespace, generation: str, payload_file: Path) -> list[dict]:
    """otel-llm-cost exporting by OTLP to a collector that is down; the warm-up fills the exporter's
    queue first (2,048 spans, and a batch of 512 in flight), so growth after it is what is not bounded."""
    surface, calls, _ = MEMORY[0]
    scale = 50 if args.quick else 1
    return [
        {
            "mode": "memory",
            "generation": generation,
            "config": "ours",
            "collector": collector,
            "surface": surface,
            "payloads": str(payload_file),
            "surfaces": [surface],
            "warmup": {surface: COLLECTOR_WARMUP // scale},
            "calls": {surface: calls // scale},
        }
        for collector in COLLECTORS
    ]


def _run_timing(plans: list[dict], pythons: dict[str, Path]) -> list[dict[str, Any]]:
    runs = []
    for i, plan in enumerate(plans, 1):
        started = time.monotonic()
        run = _worker(pythons[plan["generation"]], plan)
        status = run.get("error", "ok")
        label = _label(plan)["generation"]
        print(
            f"[bench] timing {i}/{len(plans)} round {plan['round']} {label}/{plan['config']}: "
            f"{status} ({time.monotonic() - started:.1f}s)",
            file=sys.stderr,
        )
        runs.append(run)
    return runs


def _run_memory(plans: list[dict], pythons: dict[str, Path]) -> list[dict[str, Any]]:
    # Two at a time: memory figures do not depend on timing, and this phase is the long one.
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda p: _worker(pythons[p["generation"]], p), plans))
    for run in runs:
        down = f" (collector {run['collector']})" if "collector" in run else ""
        name = f"{run['generation']}/{run['config']}/{run['surface']}{down}"
        print(f"[bench] memory {name}: done", file=sys.stderr)
    return runs


PHASE_CALLS = 3000


def _phases(python: Path, before: Path | None, quick: bool) -> dict[str, dict[str, Any]]:
    """``bench_call_phases.py`` in the newest environment: this tree, and the ``--before`` tree."""
    trees = {"after": None, **({"before": before} if before else {})}
    found = {}
    for name, src in trees.items():
        env = {**_env(), **({"PYTHONPATH": str(src)} if src else {})}
        calls = str(PHASE_CALLS // 20 if quick else PHASE_CALLS)
        proc = subprocess.run(
            [str(python), str(BENCH / "bench_call_phases.py"), "--json", "--calls", calls],
            capture_output=True,
            text=True,
            env=env,
            cwd=BENCH,
        )
        if proc.returncode == 0:
            found[name] = json.loads(proc.stdout)
        print(
            f"[bench] phases ({name}): {'ok' if proc.returncode == 0 else proc.stderr[-200:]}",
            file=sys.stderr,
        )
    return found


def phases_md(phases: dict[str, dict[str, Any]]) -> str:
    """The per-phase table of ``_phases``: one column per surface and tree."""
    if not phases:
        return ""
    surfaces = list(next(iter(phases.values()))["surfaces"])
    labels: list[str] = []
    for result in phases.values():
        for figures in result["surfaces"].values():
            labels += [label for label in figures if label not in labels]
    header = ["phase (median µs per call)"] + [f"{s} {tree}" for s in surfaces for tree in phases]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label in labels:
        cells = [
            "–" if (v := phases[tree]["surfaces"][s].get(label)) is None else f"{v:,.1f}"
            for s in surfaces
            for tree in phases
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    timer = ", ".join(f"{tree} {r['timer_us']:.2f}" for tree, r in phases.items())
    return (
        "## Where a call's microseconds go\n\n`bench_call_phases.py` (see its docstring): the `ours` set-up "
        f"in one process, {PHASE_CALLS:,} calls per surface, each function below timed on every call (median "
        "per call; phases nest: `SDK span end` includes the processors', `stop` includes pricing, end "
        "attributes, span end and the listeners). 'before' is the `--before` tree. Each timer costs "
        f"({timer}) µs, not subtracted; the last line is the in-process A/B overhead with the timers off.\n\n"
        + "\n".join(lines)
    )


def _versions(runs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    versions: dict[str, dict[str, str]] = {}
    for run in runs:
        versions.setdefault(run["generation"], {}).update(run.get("versions", {}))
    return versions


def _results_md(rows: list[Row], memory: list[dict], meta: dict[str, Any]) -> str:
    versions = "\n".join(
        f"- **{gen}**: " + ", ".join(f"{k} {v}" for k, v in sorted(pins.items()))
        for gen, pins in meta["versions"].items()
    )
    machine = ", ".join(f"{k}: {v}" for k, v in meta["machine"].items())
    parts = [
        "# Benchmark results: instrumentation overhead per call and per streamed chunk",
        f"Generated by `make bench` (`benchmarks/run.py {' '.join(meta['argv'])}`) on {meta['date']}; "
        f"took {meta['minutes']:.1f} min. Method: see [README.md](README.md).",
        f"Machine: {machine}. Load average (1/5/15 min) at start {meta['load_start']}, "
        f"at end {meta['load_end']} (shared machine: read overheads, not absolute times).",
        f"Versions:\n{versions}",
        f"Rounds: {meta['rounds']}; each configuration a fresh process per round, order rotated. "
        f"Streams: {STREAM_CHUNKS} content chunks plus the recorded opening/closing events.",
        "## Targets (otel-llm-cost)\n\nTargets: overhead below every anchor's, at most 2× the floor's, "
        "under 1 µs per streamed chunk. Each by both estimates (see below).\n\n"
        + _report.targets_table(rows),
        "## Per call\n\nOverhead vs bare = median over rounds of (configuration's median − bare's median, "
        "same round), rounds' min…max in brackets. A/B = median over rounds of (median of the instrumented "
        "call − median of the same call with the instrumentation's wrapper bypassed via `__wrapped__`, "
        "interleaved in one process); for the floor, the same call without its span.\n\n"
        + _report.per_call_table(rows),
        "## Per streamed chunk\n\nA/B per chunk = median over rounds of (median `next()` latency of the "
        "instrumented stream − of the same stream unwrapped, interleaved in one process); 'vs bare process' "
        "compares with the bare process of the round instead. The last two columns are (stream overhead − "
        "non-stream overhead) / chunks: they also charge per-stream costs and any garbage-collection "
        "pauses to the chunks, and inherit the noise of two 4-40 ms differences.\n\n"
        + _report.per_chunk_table(rows),
    ]
    if memory:
        parts.append(
            "## Memory growth\n\nRSS and gc-tracked object count after warm-up and after every tenth of "
            "the calls (`gc.collect()` before each reading); spans go to a dropping exporter, so nothing is "
            "retained on purpose. RSS often steps up once by 1-2 MB at some point (the allocator's arenas; "
            "bare and floor too), so the slope is the median over the ten intervals of their growth per "
            "call: a step lands in one interval, a leak shows in all. Largest Δ: the most live objects "
            "above the first reading at any reading. The anchors ran fewer calls to keep `make bench` "
            "short. The last rows also export "
            "every span by OTLP/HTTP (the SDK's `BatchSpanProcessor` and `OTLPSpanExporter`, defaults: "
            "queue 2,048, 10 s export timeout) to a collector that is down: nothing listening (refused), "
            "or a socket that accepts and never answers (black hole); their warm-up (5,000 calls) fills "
            "the queue first. Mean µs per call is over the measured calls, two runs sharing the machine: "
            "compare it with the healthy row above it, not across tables.\n\n" + _report.memory_table(memory)
        )
    return "\n\n".join(parts) + "\n"


_KEPT_FROM = "<!-- bench_report:start -->"  # bench_report.py's section and what follows: not ours to rewrite


def _kept_sections(output: Path) -> str:
    old = output.read_text() if output.exists() else ""
    return "\n" + old[old.index(_KEPT_FROM) :] if _KEPT_FROM in old else ""


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="few calls: checks the harness, not the figures")
    parser.add_argument("--legacy", action="store_true", help="also run on the httpx-era SDKs")
    parser.add_argument(
        "--generations",
        default="latest,openai_v2,openlit",
        help="environments: latest (newest SDKs), openai_v2 and openlit (each anchor's own pins), legacy",
    )
    parser.add_argument("--pipelines", default=",".join(PIPELINES), help="simple, batch, or both")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-phases", action="store_true", help="skip bench_call_phases.py")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"subset of {','.join(CONFIGS)}")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument(
        "--before",
        type=Path,
        help="a `src` directory of another otel-llm-cost version (e.g. from `git archive`), also run as "
        "`ours_before` in every environment: before/after figures from the same run",
    )
    args = parser.parse_args(argv)
    wanted = args.configs.split(",")
    args.configs = tuple(c for c in CONFIGS if c in wanted and (c != "ours_before" or args.before))
    args.pipelines = tuple(p for p in PIPELINES if p in args.pipelines.split(","))
    args.generations = tuple(g for g in GENERATION_CONFIGS if g in args.generations.split(","))
    if args.legacy and "legacy" not in args.generations:
        args.generations += ("legacy",)
    if "bare" not in args.configs:
        parser.error("--configs must include bare: every overhead is measured against it")
    return args


def main(argv: list[str]) -> None:
    args = _parse(argv)
    started, load_start = time.monotonic(), _report.load_average()
    generations = args.generations
    pythons = {g: _envs.ensure(g) for g in generations}
    payload_file = _envs.WORK / "payloads.json"
    payload_file.write_text(json.dumps(_payloads.build((STREAM_CHUNKS,))))
    runs = [_label(run) for run in _run_timing(_timing_plans(args, generations, payload_file), pythons)]
    memory = [] if args.no_memory else _run_memory(_memory_plans(args, generations, payload_file), pythons)
    phases = {} if args.no_phases else _phases(pythons[generations[0]], args.before, args.quick)
    (_envs.WORK / "raw.json").write_text(json.dumps({"timing": runs, "memory": memory, "phases": phases}))
    labels = [f"{g}+{p}" if p != "simple" else g for g in generations for p in args.pipelines]
    order = {name: i for i, name in enumerate((*labels, *generations, *SURFACES, *CONFIGS))}
    rows = timing_rows(runs, CHUNKS)
    rows.sort(key=lambda r: (order[r.generation], order[r.surface], order[r.config]))
    meta = {
        "argv": argv,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "minutes": (time.monotonic() - started) / 60,
        "machine": _report.machine(),
        "load_start": load_start,
        "load_end": _report.load_average(),
        "versions": _versions(runs),
        "rounds": args.rounds,
    }
    text = _results_md(rows, memory, meta)
    if phases:
        text += "\n" + phases_md(phases) + "\n"
    args.output.write_text(text + _kept_sections(args.output))
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
