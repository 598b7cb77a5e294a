"""Profile one configuration on one surface with cProfile, showing only the instrumentation's frames.

Run after ``make bench`` (it builds the environment and writes ``.work/payloads.json``)::

    benchmarks/.work/venv-latest/bin/python benchmarks/profile_config.py ours anthropic.messages [calls]

Same clients, mock transport and payloads as ``run.py``. Prints the functions under ``--match`` (default:
otel-llm-cost, the OpenTelemetry SDK/API, wrapt) by total time, then by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
from pathlib import Path

import _worker
from _setups import INSTRUMENTATIONS, provider

WORK = Path(__file__).resolve().parent / ".work"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", choices=("bare", "floor", *INSTRUMENTATIONS))
    parser.add_argument("surface")
    parser.add_argument("calls", type=int, nargs="?", default=2_000)
    parser.add_argument("--match", default="otel_llm_cost|opentelemetry|wrapt|_worker")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)

    payloads = json.loads((WORK / "payloads.json").read_text())
    _worker._encode(payloads)
    server = _worker.MockServer()
    server.payload = payloads[args.surface]
    tracer_provider, _ = provider() if args.config != "bare" else (None, None)
    if args.config in INSTRUMENTATIONS:
        INSTRUMENTATIONS[args.config](tracer_provider)
    clients = _worker._clients(server)
    tracer = tracer_provider.get_tracer("benchmarks.floor") if tracer_provider else None
    call = _worker.make_call(args.config, args.surface, payloads[args.surface], clients, tracer, False)
    assert call is not None
    for _ in range(min(200, args.calls)):
        call()

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.calls):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    for order in ("tottime", "cumulative"):
        print(f"==== {args.config} {args.surface}, {args.calls} calls, by {order} (filtered: {args.match})")
        stats.sort_stats(order).print_stats(args.match, args.top)


if __name__ == "__main__":
    main(sys.argv[1:])
