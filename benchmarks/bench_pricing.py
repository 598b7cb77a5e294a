"""Time one cost calculation: otel-llm-cost's Pricer vs genai-prices' calc_price, interleaved.

Run: python benchmarks/bench_pricing.py [iterations]

Both price the same usage, model, provider and time; calls alternate so that both see the same
machine state. Prints the per-call median of each and the ratio. Not a test: no assertions on time.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime

import genai_prices

from otel_llm_cost.pricing import Pricer
from otel_llm_cost.usage import Usage

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
CASES = [
    # (label, usage, model, OTel provider name, genai-prices provider id)
    (
        "gpt-4o, cached input",
        Usage.of(12_000, 800, cache_read_tokens=10_000),
        "gpt-4o-2024-08-06",
        "openai",
        "openai",
    ),
    (
        "claude-sonnet-4-5, 5m+1h writes",
        Usage.of(
            27_000, 800, cache_read_tokens=20_000, cache_write_tokens=6_000, cache_write_1h_tokens=2_000
        ),
        "claude-sonnet-4-5-20250929",
        "anthropic",
        "anthropic",
    ),
    ("gemini-2.5-pro, >200k tier", Usage.of(300_000, 2_000), "gemini-2.5-pro", "gcp.gemini", "google"),
    ("gpt-5, reasoning", Usage.of(1_000, 3_000, reasoning_tokens=2_500), "gpt-5", "openai", "openai"),
]


def their_usage(usage: Usage) -> genai_prices.Usage:
    return genai_prices.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_reasoning_tokens=usage.reasoning_tokens,
    )


def bench(case: tuple, iterations: int, pricer: Pricer) -> tuple[float, float]:
    _label, usage, model, otel_provider, provider_id = case
    theirs_usage = their_usage(usage)
    ours_ns: list[int] = []
    theirs_ns: list[int] = []
    clock = time.perf_counter_ns
    for index in range(iterations):
        ours_first = index % 2 == 0
        for run_ours in (ours_first, not ours_first):
            start = clock()
            if run_ours:
                pricer.price(usage, model, otel_provider, at=AT)
                ours_ns.append(clock() - start)
            else:
                genai_prices.calc_price(
                    theirs_usage, model, provider_id=provider_id, genai_request_timestamp=AT
                )
                theirs_ns.append(clock() - start)
    return statistics.median(ours_ns) / 1000, statistics.median(theirs_ns) / 1000


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    pricer = Pricer()
    pricer.warm_up()
    for case in CASES:  # resolve once, outside the timing, as a long-running process would
        check = pricer.price(case[1], case[2], case[3], at=AT).amount
        reference = genai_prices.calc_price(
            their_usage(case[1]), case[2], provider_id=case[4], genai_request_timestamp=AT
        ).total_price
        assert check == reference, (case[0], check, reference)
    print(f"{'case':34} {'ours (us)':>10} {'genai-prices (us)':>18} {'ratio':>7}   [{iterations} calls each]")
    for case in CASES:
        ours, theirs = bench(case, iterations, pricer)
        print(f"{case[0]:34} {ours:10.2f} {theirs:18.2f} {theirs / ours:6.0f}x")
    print(f"(each figure includes ~{timer_overhead_us():.2f} us of timer overhead)")


def timer_overhead_us() -> float:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(10_000):
        start = clock()
        samples.append(clock() - start)
    return statistics.median(samples) / 1000


if __name__ == "__main__":
    main()
