"""Micro-benchmark of LLMCostSpanProcessor against a no-op processor, measured in the same run.

    python benchmarks/bench_processor.py [--spans 20000]

For each scenario it reports, per span:
- ``hooks``: time inside the processor's ``on_start`` + ``_on_ending`` + ``on_end``;
- ``lifecycle``: start + set_attributes + end of a real SDK span with only that processor registered;
and the ratios of ours to the no-op's.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from otel_llm_cost.pricing import Pricer
from otel_llm_cost.processor import LLMCostSpanProcessor

PLAIN = {"http.request.method": "GET", "url.path": "/items", "http.response.status_code": 200}
USAGE = {
    "gen_ai.provider.name": "openai",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 1000,
}
PRICED = USAGE | {"llm_cost.cost.status": "priced", "gen_ai.usage.cost.amount": 0.00475}
DEPTH = 20


class Timed(SpanProcessor):
    """Forwards to ``inner`` and adds up the time spent in its hooks."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner
        self.ns = 0

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        t = time.perf_counter_ns()
        self.inner.on_start(span, parent_context)
        self.ns += time.perf_counter_ns() - t

    def _on_ending(self, span: Any) -> None:
        t = time.perf_counter_ns()
        self.inner._on_ending(span)
        self.ns += time.perf_counter_ns() - t

    def on_end(self, span: Any) -> None:
        t = time.perf_counter_ns()
        self.inner.on_end(span)
        self.ns += time.perf_counter_ns() - t


def one_span(attributes: dict[str, Any]) -> Callable[[trace.Tracer], int]:
    def run(tracer: trace.Tracer) -> int:
        span = tracer.start_span("span")
        span.set_attributes(attributes)
        span.end()
        return 1

    return run


def chain(tracer: trace.Tracer) -> int:
    """A 20-deep chain of spans with one LLM call at the bottom: the call rolls up through all."""
    spans = []
    context = None
    for level in range(DEPTH):
        span = tracer.start_span(f"level {level}", context=context)
        context = trace.set_span_in_context(span)
        spans.append(span)
    call = tracer.start_span("chat", context=context)
    call.set_attributes(PRICED)
    call.end()
    for span in reversed(spans):
        span.end()
    return DEPTH + 1


def measure(inner: SpanProcessor, scenario: Callable[[trace.Tracer], int], n: int) -> tuple[float, float]:
    """(hook ns per span, lifecycle ns per span) for ``n`` spans under an open root span."""
    timed = Timed(inner)
    provider = TracerProvider()
    provider.add_span_processor(timed)
    tracer = provider.get_tracer("bench")
    spans = 0
    gc.collect()
    gc.disable()
    try:
        root = tracer.start_span("root")
        with trace.use_span(root, end_on_exit=False):
            start = time.perf_counter_ns()
            while spans < n:
                spans += scenario(tracer)
            elapsed = time.perf_counter_ns() - start
        root.end()
    finally:
        gc.enable()
    return timed.ns / spans, elapsed / spans


def best_of(repeats: int, *args: Any) -> tuple[float, float]:
    results = [measure(*args) for _ in range(repeats)]
    return min(r[0] for r in results), min(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pricer = Pricer()
    pricer.warm_up()
    scenarios = {
        "non-LLM span": one_span(PLAIN),
        "LLM span, already priced": one_span(PRICED),
        "LLM span to price": one_span(USAGE),
        f"roll-up, {DEPTH}-deep chain (per span)": chain,
    }
    print(f"{'scenario':38} {'hooks ns':>9} {'no-op':>7} {'x':>6} {'lifecycle ns':>13} {'no-op':>7} {'x':>6}")
    for name, scenario in scenarios.items():
        ours = best_of(args.repeats, LLMCostSpanProcessor(pricer), scenario, args.spans)
        noop = best_of(args.repeats, SpanProcessor(), scenario, args.spans)
        print(
            f"{name:38} {ours[0]:9.0f} {noop[0]:7.0f} {ours[0] / noop[0]:6.1f}"
            f" {ours[1]:13.0f} {noop[1]:7.0f} {ours[1] / noop[1]:6.2f}"
        )


if __name__ == "__main__":
    main()
