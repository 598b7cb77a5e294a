"""Throughput of ``otel-llm-cost report`` on a generated span file, against a plain JSON-parse loop.

    python benchmarks/bench_report.py                 # 1,000,000 spans
    python benchmarks/bench_report.py --spans 200000 --keep /tmp/spans.jsonl

Generates a JSONL file in our span schema (agent runs of 1 root, 2 steps and 3 LLM calls each, so 50%
of spans are calls, with realistic attributes), then measures, each in a fresh process and in the same
run, spans per second and peak memory (max RSS) of: (a) ``for line in f: json.loads(line)`` over the
file, the baseline every figure is a ratio to; (b) the same loop with ``orjson.loads``; (c) with
``--against SRC``, the report of another checkout's ``src/`` (e.g. before a change); (d) the full report
on the Python engine and (e) on the DuckDB engine, which ``otel-llm-cost report`` uses for inputs of
64 MiB and more when DuckDB is installed (``build_report`` / ``duckdb_report`` plus rendering the
table). Memory is also measured on a tenth of the file: a report whose memory does not grow with its
input has about the same peak on both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = (
    ("openai", "gpt-4o-mini", 0.15, 0.6),
    ("openai", "gpt-4o", 2.5, 10.0),
    ("anthropic", "claude-sonnet-4", 3, 15),
)
T0 = 1_750_000_000 * 1_000_000_000


def generate(path: str, spans: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    written = 0
    trace = 0
    with open(path, "w") as f:
        while written < spans:
            trace += 1
            for record in agent_run(rng, trace):
                f.write(json.dumps(record, separators=(",", ":")) + "\n")
                written += 1
                if written >= spans:
                    break


def agent_run(rng: random.Random, trace: int) -> list[dict]:
    tid = f"{trace:032x}"
    start = T0 + trace * 2_000_000_000
    root, steps = f"{trace * 16:016x}", [f"{trace * 16 + 1:016x}", f"{trace * 16 + 2:016x}"]
    out = []
    for index in range(3):
        provider, model, pin, pout = MODELS[rng.randrange(3)]
        inp, cached, outp = rng.randint(200, 8000), rng.randint(0, 150), rng.randint(5, 800)
        duration = rng.lognormvariate(-0.5, 0.6)
        ttft = duration * rng.uniform(0.1, 0.4)
        cost = (inp * pin + outp * pout) / 1e6
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
            "gen_ai.response.model": model,
            "gen_ai.response.id": f"resp-{trace}-{index}",
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.usage.input_tokens": inp,
            "gen_ai.usage.output_tokens": outp,
            "gen_ai.usage.cache_read.input_tokens": cached,
            "gen_ai.response.time_to_first_chunk": ttft,
            "gen_ai.usage.cost.amount": cost,
            "gen_ai.usage.cost.currency": "USD",
            "gen_ai.usage.cost.source": "local",
            "llm_cost.cost.status": "priced",
            "llm_cost.usage.source": "provider",
            "server.address": "api.example.com",
            "server.port": 443,
        }
        out.append(
            span(
                tid,
                f"{trace * 16 + 4 + index:016x}",
                steps[index // 2],
                f"chat {model}",
                start,
                duration,
                attrs,
            )
        )
    for index, sid in enumerate(steps):
        attrs = {
            "llm_cost.span.type": "agent_step",
            "llm_cost.step.name": ("plan", "act")[index],
            "llm_cost.phase.tool": 0.1,
            "llm_cost.phase.generation": 0.4,
            "llm_cost.total.llm_calls": 2,
        }
        out.append(span(tid, sid, root, "step", start, 1.5, attrs))
    attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "bench-agent"}
    out.append(span(tid, root, None, "invoke_agent bench-agent", start, 3.0, attrs))
    return out


def span(tid: str, sid: str, parent: str | None, name: str, start: int, seconds: float, attrs: dict) -> dict:
    return {
        "schema": "otel-llm-cost/span/v1",
        "trace_id": tid,
        "span_id": sid,
        "parent_span_id": parent,
        "name": name,
        "kind": "CLIENT" if parent else "INTERNAL",
        "start_time_unix_nano": start,
        "end_time_unix_nano": start + int(seconds * 1e9),
        "status": {"code": "UNSET", "description": None},
        "attributes": attrs,
        "events": [],
        "resource": {"service.name": "bench", "telemetry.sdk.language": "python"},
        "scope": {"name": "otel_llm_cost", "version": "0.1.0"},
    }


def child(kind: str, path: str) -> None:
    started = time.perf_counter()
    if kind in ("json", "orjson"):
        loads = json.loads if kind == "json" else __import__("orjson").loads
        count = 0
        with open(path, "rb") as f:
            for line in f:
                loads(line)
                count += 1
    elif kind == "duckdb":
        from otel_llm_cost.report import render_table
        from otel_llm_cost.report._duckdb import duckdb_report

        report = duckdb_report([path])
        render_table(report)
        count = report.stats.spans
    else:
        if kind == "against":  # the report of another checkout (e.g. before a change), same file, same run
            sys.path.insert(0, os.environ["BENCH_REPORT_AGAINST"])
        from otel_llm_cost.report import build_report, render_table

        report = build_report([path])
        render_table(report)
        count = report.stats.spans
    elapsed = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"spans": count, "seconds": elapsed, "max_rss_mb": rss_mb}))


def measure(kind: str, path: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, path], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


START, END = "<!-- bench_report:start -->", "<!-- bench_report:end -->"


def write_results(path: str, runs: dict, tenth: dict, labels: dict, size_mb: float) -> None:
    """Replace (or append) the section between START and END of ``path`` with this run's table."""
    plain = runs["json"]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = [
        START,
        "## Report throughput (`benchmarks/bench_report.py`)",
        "",
        f"{plain['spans']:,} spans ({size_mb:,.0f} MB of JSONL), each row a fresh process, all in one run on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (load average at the end: {load}; a "
        "shared 2-core machine: read the ratios to the `json.loads` loop of the same run, not the rates).",
        "",
        "| what | seconds | spans/s | × json.loads | max RSS MB | max RSS MB, a tenth of the file |",
        "|---|---|---|---|---|---|",
    ]
    for kind, r in runs.items():
        small = f"{tenth[kind]['max_rss_mb']:.0f}" if kind in tenth else "–"
        rows.append(
            f"| {labels[kind]} | {r['seconds']:.1f} | {r['spans'] / r['seconds']:,.0f} | "
            f"{plain['seconds'] / r['seconds']:.2f} | {r['max_rss_mb']:.0f} | {small} |"
        )
    rows.append(END)
    text = Path(path).read_text(encoding="utf-8") if os.path.exists(path) else ""
    block = "\n".join(rows)
    if START in text and END in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    Path(path).write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--keep", metavar="PATH", help="write (or reuse) the generated file here")
    parser.add_argument(
        "--against",
        metavar="SRC",
        help="also the report of this src/ tree (another checkout); its own imports must be installed "
        "(the report before #19, commit 3768f91, needs ddsketch)",
    )
    parser.add_argument("--results", metavar="PATH", help="update the report section of this RESULTS.md")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "spans.jsonl")
        small = os.path.join(tmp, "small.jsonl")
        if not os.path.exists(path):
            print(f"generating {args.spans:,} spans...", file=sys.stderr)
            generate(path, args.spans)
        generate(small, max(args.spans // 10, 1))
        size = os.path.getsize(path) / 1e6
        kinds = ("json", "orjson", *(("against",) if args.against else ()), "report", "duckdb")
        os.environ["BENCH_REPORT_AGAINST"] = args.against or ""
        runs = {kind: measure(kind, path) for kind in kinds}
        tenth = {kind: measure(kind, small) for kind in ("report", "duckdb")}
    plain = runs["json"]
    print(f"file: {plain['spans']:,} spans, {size:,.0f} MB")
    labels = {"json": "json.loads loop", "orjson": "orjson.loads loop", "report": "report, python engine",
              "duckdb": "report, duckdb engine (the default from 64 MiB)",
              "against": f"report of {args.against}"}  # fmt: skip
    for kind, r in runs.items():
        rate = r["spans"] / r["seconds"]
        ratio = plain["seconds"] / r["seconds"]
        print(
            f"{labels[kind]:<23} {r['seconds']:7.2f} s  {rate:>10,.0f} spans/s  {ratio:5.2f}x json.loads  "
            f"max RSS {r['max_rss_mb']:6.0f} MB"
        )
    speedup = runs["report"]["seconds"] / runs["duckdb"]["seconds"]
    print(f"duckdb engine / python engine: {speedup:.1f}x the throughput")
    if args.against:
        before = runs["against"]["seconds"]
        print(f"vs {args.against}: python engine {before / runs['report']['seconds']:.2f}x, "
              f"duckdb engine {before / runs['duckdb']['seconds']:.2f}x the throughput")  # fmt: skip
    for kind, r in tenth.items():
        print(f"max RSS on a tenth of the file, {labels[kind]}: {r['max_rss_mb']:.0f} MB")
    if args.results:
        write_results(args.results, runs, tenth, labels, size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
