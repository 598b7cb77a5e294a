"""What each part of our work costs a non-streamed call in place: the overhead with that part taken out.

Run (in the benchmark environment, which has both SDKs)::

    benchmarks/.work/venv-latest/bin/python benchmarks/bench_call_ablation.py [--rounds 4] [--calls 1000]

``bench_call_phases.py`` times each phase with timers around it; the phases add up to less than the
call's A/B overhead, because a part of ours also makes the rest of the call slower (what it touches
pushes the SDK's and the span's code and data out of the caches, see RESULTS.md, "Third pass"). Here a
part is taken out instead, and the whole call measured without timers: the difference is what the part
costs in place, knock-on effects included. Each ablation runs in a fresh process (``make bench``'s
``ours`` set-up: ``configure()``, real clients over the in-process mock transport), the ablations in a
rotated order each round; a process's figure is the median over 12 interleaved blocks of the
instrumented call minus the same call through the wrapper's ``__wrapped__``.

The ablations are measurement tools, not options: ``pricing`` and ``response`` replace the work by its
first result (every call then gets the first call's cost or response fields; ``response`` on OpenAI chat
only), the others drop the part.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _first_result(owner: object, name: str) -> None:
    """Replace ``owner.name`` by a function returning the result of its first call."""
    original = getattr(owner, name)
    kept: list[object] = []

    def first(*args: object, **kwargs: object) -> object:
        if not kept:
            kept.append(original(*args, **kwargs))
        return kept[0]

    setattr(owner, name, first)


def _no_pricing(_: object) -> None:
    from otel_llm_cost.pricing._pricer import Pricer

    _first_result(Pricer, "price")


def _no_response_reading(_: object) -> None:
    """OpenAI chat only: the completion's fields (usage, model, id, finish reasons) read once."""
    from otel_llm_cost.instrumentation.openai import _patch

    _first_result(_patch._extract, "chat_completion_fields")


def _no_live_stats(_: object) -> None:
    from otel_llm_cost.live_stats import LiveStats

    LiveStats.record = lambda self, *args, **kwargs: None  # type: ignore[method-assign]


def _no_metrics(_: object) -> None:
    from otel_llm_cost.metrics import LLMMetrics

    LLMMetrics.record_call = lambda self, *args, **kwargs: None  # type: ignore[method-assign]


def _no_processor(tracer_provider: object) -> None:
    """Our span processor (roll-up, phases, hand-over to the listeners) off the provider."""
    multi = tracer_provider._active_span_processor  # type: ignore[attr-defined]
    multi._span_processors = tuple(
        p for p in multi._span_processors if not type(p).__module__.startswith("otel_llm_cost")
    )


ABLATIONS: dict[str, Callable[[object], None]] = {
    "pricing": _no_pricing,
    "response": _no_response_reading,
    "stats": _no_live_stats,
    "metrics": _no_metrics,
    "processor": _no_processor,
}


def _child(ablation: str, surface: str, calls: int) -> float:
    """The median A/B overhead of ``ours`` with the ``+``-joined ablations, or of ``config=NAME`` (an
    anchor of ``_setups.INSTRUMENTATIONS``, measured the same way)."""
    from _setups import INSTRUMENTATIONS, provider
    from _worker import MockServer, _clients
    from bench_call_phases import _payloads_of, warmed_pair

    payloads = _payloads_of()
    server = MockServer()
    tracer_provider, _ = provider(pipeline="simple")
    config = ablation.removeprefix("config=") if ablation.startswith("config=") else "ours"
    INSTRUMENTATIONS[config](tracer_provider)
    import anthropic  # noqa: F401  (instrumented on import: our modules must load after the SDKs)
    import openai  # noqa: F401

    for part in ablation.split("+") if config == "ours" else ():
        if part != "none":
            ABLATIONS[part](tracer_provider)
    call, bypassed = warmed_pair(config, surface, payloads, server, _clients(server), 500)

    def block(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls * 1e6

    return statistics.median(block(call) - block(bypassed) for _ in range(12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--surface", default="openai.chat", choices=("openai.chat", "anthropic.messages"))
    parser.add_argument(
        "--ablations",
        default="none,pricing,response,processor,stats+metrics,pricing+processor+stats+metrics",
        help="comma-separated; a + joins ablations; config=NAME measures an anchor (e.g. config=openai_v2)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(_child(options.child, options.surface, options.calls))
        return
    names = options.ablations.split(",")
    figures: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(options.rounds):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for name in order:
            done = subprocess.run(
                [sys.executable, __file__, "--child", name, "--surface", options.surface,
                 "--calls", str(options.calls)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures[name].append(float(done.stdout.strip().splitlines()[-1]))
    whole = statistics.median(figures["none"]) if "none" in figures else None
    print(f"## {options.surface}: A/B overhead µs per call with a part taken out ({options.rounds} rounds)")
    print("| taken out | median | rounds | less than with everything |")
    print("|---|---|---|---|")
    for name, values in figures.items():
        median = statistics.median(values)
        saved = "" if whole is None or name == "none" else f"{whole - median:.0f}"
        rounds = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {name} | {median:.0f} | {rounds} | {saved} |")


if __name__ == "__main__":
    main()
