"""Where each microsecond of a non-streamed call goes: every phase of otel-llm-cost timed in one process.

Run (in the benchmark environment, which has both SDKs)::

    benchmarks/.work/venv-latest/bin/python benchmarks/bench_call_phases.py [--calls 3000] [--pipeline batch]

The set-up is ``make bench``'s ``ours`` configuration: ``otel_llm_cost.configure(tracer_provider=...)`` on
the shared provider (``_setups.provider``), real ``openai`` / ``anthropic`` clients over the in-process mock
transport (``_worker``), the recorded bodies (``_payloads``). Each phase is a function of our code or of the
OpenTelemetry SDK, replaced (on its class or module) by a wrapper that adds the time spent inside it to the
current call's account; the figure of a phase is the median over calls of its time per call. Phases nest
(``span end`` includes the processors'), and a phase given as "minus" is the difference of two timed
functions (our own code around the inner one). Each timer costs ~0.2 µs, measured and printed, and not
subtracted. The last lines are the call's total overhead in the same process: the instrumented call
against the same call through the wrapper's ``__wrapped__``, interleaved, with the timers removed.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setups import provider
from _worker import MockServer, _clients, _encode, make_call

_account: dict[str, int] = defaultdict(int)
_clock = time.perf_counter_ns


def _timer(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = _clock()
        try:
            return function(*args, **kwargs)
        finally:
            _account[label] += _clock() - start

    timed.__wrapped__ = function  # type: ignore[attr-defined]
    return timed


def _phases() -> list[tuple[object, str, str]]:
    """(owner, attribute, label): the functions timed, outermost first."""
    from opentelemetry.sdk import trace as sdk_trace
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from otel_llm_cost.instrumentation import _invocation
    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.instrumentation.anthropic import _patch as anthropic_patch
    from otel_llm_cost.instrumentation.openai import _patch as openai_patch
    from otel_llm_cost.processor import LLMCostSpanProcessor

    return [
        (openai_patch, "_start", "start (openai: request attributes + invocation)"),
        (anthropic_patch, "start_invocation", "start (anthropic: request attributes + invocation)"),
        (LLMInvocation, "__init__", "invocation start"),
        (sdk_trace.Tracer, "start_span", "SDK start_span (with processors' on_start)"),
        (LLMCostSpanProcessor, "on_start", "our processor on_start"),
        (openai_patch._Call, "returned", "finish (openai: response reading + stop)"),
        (anthropic_patch, "finish", "finish (anthropic: response reading + stop)"),
        (LLMInvocation, "stop", "stop"),
        (LLMInvocation, "_price", "pricing"),
        (LLMInvocation, "_outcome_attributes", "end attributes: building"),
        (_invocation, "set_plain_attributes", "end attributes: set on the span"),
        (sdk_trace.Span, "set_attributes", "end attributes: SDK set_attributes"),
        (LLMInvocation, "_hand_over", "hand-over to the processor"),
        (sdk_trace.Span, "end", "SDK span end (with processors)"),
        (LLMCostSpanProcessor, "_on_ending", "our processor _on_ending"),
        (SimpleSpanProcessor, "on_end", "exporting processor on_end (simple)"),
        (BatchSpanProcessor, "on_end", "exporting processor on_end (batch)"),
    ]


def _install() -> list[tuple[object, str, Any]]:
    from otel_llm_cost import _calls

    undo = []
    for owner, name, label in _phases():
        original = getattr(owner, name, None)
        if original is None:  # an older tree (run.py --before) without this function
            continue
        setattr(owner, name, _timer(label, original))
        undo.append((owner, name, original))
    for listeners, when in ((_calls.listeners_before_end, "before"), (_calls.listeners_after_end, "after")):
        for i, listener in enumerate(list(listeners)):
            name = getattr(listener, "__qualname__", repr(listener))
            listeners[i] = _timer(f"listener ({when} end): {name}", listener)
    return undo


def _uninstall(undo: list[tuple[object, str, Any]]) -> None:
    from otel_llm_cost import _calls

    for owner, name, original in undo:
        setattr(owner, name, original)
    for listeners in (_calls.listeners_before_end, _calls.listeners_after_end):
        listeners[:] = [getattr(listener, "__wrapped__", listener) for listener in listeners]


def _per_call(call: Callable[[], Any], calls: int) -> dict[str, list[int]]:
    samples: dict[str, list[int]] = defaultdict(list)
    for _ in range(calls):
        _account.clear()
        start = _clock()
        call()
        total = _clock() - start
        for label, ns in _account.items():
            samples[label].append(ns)
        samples["(whole call, timers on)"].append(total)
    return samples


def _timer_cost() -> float:
    timed = _timer("(timer)", lambda: None)
    runs = []
    for _ in range(5):
        start = _clock()
        for _ in range(10_000):
            timed()
        runs.append((_clock() - start) / 10_000)
    return min(runs) / 1000


def _ab(call: Callable[[], Any], reference: Callable[[], Any], pairs: int) -> tuple[float, float]:
    a, b = [], []
    for i in range(pairs):
        for fn, out in ((call, a), (reference, b)) if i % 2 == 0 else ((reference, b), (call, a)):
            start = _clock()
            fn()
            out.append(_clock() - start)
    return statistics.median(a) / 1000, statistics.median(b) / 1000


def _payloads_of() -> dict[str, Any]:
    """The bodies ``run.py`` wrote (the benchmark environments have no YAML reader), else built here."""
    written = Path(__file__).resolve().parent / ".work" / "payloads.json"
    if written.exists():
        payloads = json.loads(written.read_text())
    else:  # reads the cassettes: needs PyYAML (the project's .venv)
        import _payloads

        payloads = _payloads.build((200,))
    _encode(payloads)
    return payloads


def warmed_pair(
    config: str, surface: str, payloads: dict[str, Any], server: MockServer, clients: Any, warm_up: int
) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The instrumented call of ``surface`` and the same call through the wrapper's ``__wrapped__``,
    served the surface's body, alternated ``warm_up`` times, then a collection."""
    server.payload = payloads[surface]
    call = make_call(config, surface, payloads[surface], clients, None, unwrapped=False)
    bypassed = make_call(config, surface, payloads[surface], clients, None, unwrapped=True)
    assert call is not None and bypassed is not None
    for _ in range(warm_up):
        call(), bypassed()
    gc.collect()
    return call, bypassed


def measure(calls: int, pipeline: str) -> dict[str, Any]:
    """Median µs per call of every phase, per surface, and the A/B overhead with the timers off."""
    import otel_llm_cost

    payloads = _payloads_of()
    server = MockServer()
    tracer_provider, _ = provider(pipeline=pipeline)
    otel_llm_cost.configure(tracer_provider=tracer_provider)
    clients = _clients(server)
    out: dict[str, Any] = {"timer_us": _timer_cost(), "surfaces": {}}
    for surface in ("openai.chat", "anthropic.messages"):
        call, reference = warmed_pair("ours", surface, payloads, server, clients, 300)
        undo = _install()
        samples = _per_call(call, calls)
        _uninstall(undo)
        phases = {label: statistics.median(values) / 1000 for label, values in samples.items()}
        gc.collect()
        with_us, without_us = _ab(call, reference, calls)
        phases["A/B overhead, timers off"] = with_us - without_us
        out["surfaces"][surface] = phases
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--pipeline", choices=("simple", "batch"), default="simple")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (for run.py)")
    args = parser.parse_args(argv)
    result = measure(args.calls, args.pipeline)
    if args.json:
        json.dump(result, sys.stdout)
        return
    print(f"timer cost: {result['timer_us']:.2f} µs per timed function call (not subtracted)")
    for surface, phases in result["surfaces"].items():
        print(f"\n## {surface} ({args.pipeline} pipeline), median µs per call over {args.calls:,} calls")
        for label, value in phases.items():
            print(f"{value:8.1f}  {label}")


if __name__ == "__main__":
    main(sys.argv[1:])
