"""Instructions per non-streamed call that otel-llm-cost adds, counted by callgrind (deterministic).

Run (in the benchmark environment; needs ``valgrind``)::

    benchmarks/.work/venv-latest/bin/python benchmarks/bench_call_instructions.py [--calls 768]
    benchmarks/.work/venv-openai_v2/bin/python benchmarks/bench_call_instructions.py --config openai_v2
    PYTHONPATH=/tmp/before/src benchmarks/.work/venv-latest/bin/python benchmarks/bench_call_instructions.py

Wall-clock figures on a shared machine move by ±10% between processes, even for code a change did not
touch, so a 10 µs change in a 200 µs overhead cannot be read from them. Here one process runs under
``valgrind --tool=callgrind`` with instrumentation off until the set-up and warm-up are done (the
``ours`` set-up of ``bench_call_phases.py``: ``configure()``, real clients, the in-process mock transport),
then counts instructions over ``calls`` calls through the SDK method's ``__wrapped__`` (the bypassed
instrumentation), ``calls`` instrumented calls, and ``calls`` bypassed calls again; the overhead is the
instrumented count minus the mean of the two bypassed ones, per call. The two bypassed counts differ by
well under 1% of the overhead.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SURFACES = ("openai.chat", "anthropic.messages")


def _child(surface: str, calls: int, config: str) -> None:
    """Inside valgrind: set up, warm up, then count the three blocks (callgrind_control dumps each)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _setups import INSTRUMENTATIONS, provider
    from _worker import MockServer, _clients
    from bench_call_phases import _payloads_of, warmed_pair

    payloads = _payloads_of()
    server = MockServer()
    tracer_provider, _ = provider(pipeline="simple")
    INSTRUMENTATIONS[config](tracer_provider)
    call, bypassed = warmed_pair(config, surface, payloads, server, _clients(server), 200)

    def control(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(os.getpid())], capture_output=True, check=False)

    control("-i", "on")
    for label, fn in (("bypassed-1", bypassed), ("instrumented", call), ("bypassed-2", bypassed)):
        for _ in range(calls):
            fn()
        control("-d", label)


def _count(surface: str, calls: int, config: str) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [
                "valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={out}/callgrind.%p",
                sys.executable, __file__, "--child", surface, "--calls", str(calls), "--config", config,
            ],
            capture_output=True, check=True,
        )  # fmt: skip
        counts = {}
        for path in Path(out).glob("callgrind.*"):
            text = path.read_text(errors="replace")
            trigger = re.search(r"^desc: Trigger: .*dump (\S+)", text, re.M)
            total = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
            if trigger and total:
                counts[trigger.group(1)] = int(total.group(1))
        return counts


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # A multiple of the live statistics' batch (256 calls summed at once): each block then pays for as
    # many calls' sums as it makes, whatever the queue held when it began.
    parser.add_argument("--calls", type=int, default=768)
    parser.add_argument("--surfaces", default=",".join(SURFACES))
    parser.add_argument(
        "--config", default="ours", help="the set-up to count (_setups.INSTRUMENTATIONS): ours or an anchor"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.calls, args.config)
        return
    for surface in args.surfaces.split(","):
        counts = _count(surface, args.calls, args.config)
        bypassed = (counts["bypassed-1"] + counts["bypassed-2"]) / 2
        overhead = (counts["instrumented"] - bypassed) / args.calls
        spread = abs(counts["bypassed-1"] - counts["bypassed-2"]) / args.calls
        print(
            f"{args.config} {surface}: {overhead:,.0f} instructions per call added "
            f"(bypassed call {bypassed / args.calls:,.0f}; bypassed blocks differ by {spread:,.0f} per call)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
