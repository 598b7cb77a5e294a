"""Live stats: exact sums, windows, percentiles over the last calls, bounded memory, concurrent updates."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import threading
from decimal import Decimal

import pytest
from opentelemetry.sdk.trace import TracerProvider

import otel_llm_cost
from otel_llm_cost import agent_step, llm_call
from otel_llm_cost._calls import add_invocation_listener, remove_invocation_listener
from otel_llm_cost.live_stats import LiveStats, Stats, Totals, current_run_stats
from otel_llm_cost.usage import Usage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def test_exact_sums_of_known_calls():
    live = LiveStats()
    live.add("gpt-4o", Usage.of(1000, 200, cache_read_tokens=800), Decimal("0.0042"), run="r1")
    live.add("gpt-4o", Usage.of(500, 50, reasoning_tokens=20), Decimal("0.0011"), run="r1", error=True)
    live.add("llama", Usage.of(30, 7), None, run="r2")  # unpriced
    live.add("gpt-4o", None, None, run="r2", error=True)  # failed before any usage
    snapshot = live.snapshot(run="r1")
    assert snapshot.process == Totals(
        calls=4, errors=2, unpriced_calls=1, cost=Decimal("0.0053"), input_tokens=1530, output_tokens=257,
        cache_read_tokens=800, cache_write_tokens=0, reasoning_tokens=20,
    )  # fmt: skip
    assert snapshot.run == Totals(2, 1, 0, Decimal("0.0053"), 1500, 250, 800, 0, 20)
    assert live.run_totals("r2").calls == 2
    hex_run = format(0xABC, "032x")  # a trace id, as run_id() gives it
    live.add("gpt-4o", Usage.of(9, 3, cache_write_tokens=4), Decimal("0.5"), run=hex_run, partial=True)
    assert live.run_totals(hex_run) == Totals(1, 0, 0, Decimal("0.5"), 9, 3, 0, 4, 0, partial_calls=1)
    live.add("gpt-4o", None, None, run=hex_run, error=True)  # its second call
    assert live.snapshot(run=hex_run).run == Totals(2, 1, 0, Decimal("0.5"), 9, 3, 0, 4, 0, partial_calls=1)
    assert live.run_totals("unknown") == Totals()
    assert snapshot.process.cache_hit_ratio == 800 / 1530
    assert snapshot.process.total_tokens == 1787
    assert Totals().cache_hit_ratio == 0.0


def test_recent_totals_cover_the_window_to_within_one_bucket():
    clock = Clock()
    live = LiveStats(clock=clock)
    for offset, cost in ((0, "1"), (100, "2"), (250, "4")):
        clock.now = 1000.0 + offset
        live.add("m", Usage.of(10, 1), Decimal(cost))
    clock.now = 1300.0
    assert live.snapshot(window=60).recent.cost == Decimal("4")
    assert live.snapshot(window=210).recent.cost == Decimal("6")
    assert live.snapshot(window=3600).recent.cost == Decimal("7")
    assert live.snapshot(window=60).process.cost == Decimal("7")
    clock.now = 1000.0 + 250 + 3600 + 5  # past the one-hour horizon
    assert live.snapshot(window=3600).recent == Totals()
    live.add("m", Usage.of(10, 1), Decimal("8"))  # a new second: the horizon's buckets are dropped
    assert live.snapshot(window=60).process == Totals(4, 0, 0, Decimal("15"), 40, 4)  # nothing lost
    assert len(live._buckets) == 1


def test_percentiles_are_exact_over_the_last_calls():
    rng = random.Random(10)
    live = LiveStats(window_calls=256)
    durations = [rng.lognormvariate(0, 1) for _ in range(1000)]
    ttfts = [rng.uniform(0.05, 3.0) for _ in range(700)]
    for i, duration in enumerate(durations):
        live.add("gpt-4o", Usage.of(1, 1), Decimal(0), duration=duration, ttft=ttfts[i] if i < 700 else None)
    latency = live.snapshot().models["gpt-4o"]
    assert latency.calls == 256 and latency.ttft_calls == 256
    # The stated error is nil: nearest-rank percentiles of exactly the last 256 calls.
    assert latency.duration_p50 == nearest_rank(durations[-256:], 0.5)
    assert latency.duration_p90 == nearest_rank(durations[-256:], 0.9)
    assert latency.ttft_p50 == nearest_rank(ttfts[-256:], 0.5)
    assert latency.ttft_p90 == nearest_rank(ttfts[-256:], 0.9)


def test_a_model_without_streamed_calls_has_no_ttft():
    live = LiveStats()
    live.add("emb", Usage.of(5, 0), Decimal(0), duration=0.2)
    latency = live.snapshot().models["emb"]
    assert (latency.calls, latency.duration_p50, latency.ttft_calls, latency.ttft_p90) == (1, 0.2, 0, None)


def test_memory_is_bounded_after_100000_calls():
    clock = Clock()
    live = LiveStats(window_calls=64, max_runs=512, max_models=20, clock=clock)
    for i in range(100_000):
        clock.now += 0.05  # 5,000 seconds in all: past the one-hour horizon
        live.add(f"model-{i % 50}", Usage.of(10, 2), Decimal("0.001"), duration=0.5, ttft=0.1, run=f"run-{i}")
    bound = 3600 + 512 + 21 + 21 * 2 * 64  # buckets + runs + models (with _other) + latency samples
    assert live.entries() <= bound
    assert len(live._runs) == 512 and len(live._buckets) <= 3600
    snapshot = live.snapshot(window=10)
    assert len(snapshot.models) == 21 and "_other" in snapshot.models
    assert snapshot.process.calls == 100_000
    assert snapshot.process.cost == Decimal("100.000")
    # 20 calls a second: the window holds 9 whole seconds and the current, partly filled, one.
    assert 180 < snapshot.recent.calls <= 200


def test_concurrent_updates_from_threads_are_all_counted():
    live = LiveStats()
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        barrier.wait()
        for _ in range(2_000):
            live.add(f"m{n % 2}", Usage.of(3, 1), Decimal("0.0001"), duration=0.01, run=f"r{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    process = live.snapshot().process
    assert (process.calls, process.input_tokens, process.output_tokens) == (16_000, 48_000, 16_000)
    assert process.cost == Decimal("1.6000")
    assert all(live.run_totals(f"r{n}").calls == 2_000 for n in range(8))


def test_calls_queued_unsummed_stay_few_and_readers_racing_writers_lose_none():
    # A call is queued at its end and summed in batches (#20): by the next reader, or by the recording
    # thread once 256 are queued. Writers and a reader that sums the queue race here; every call is
    # counted exactly once, and the queue never outgrows its batch.
    live = LiveStats()
    barrier = threading.Barrier(5)
    done = threading.Event()
    longest = []

    def writer(n: int) -> None:
        barrier.wait()
        for _ in range(3_000):
            live.add("m", Usage.of(2, 1), Decimal("0.001"), duration=0.01, run=f"r{n}")
            longest.append(len(live._pending))

    def reader() -> None:
        barrier.wait()
        while not done.is_set():
            live.snapshot()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    watcher = threading.Thread(target=reader)
    for thread in (*threads, watcher):
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    process = live.snapshot().process
    assert (process.calls, process.input_tokens, process.cost) == (12_000, 24_000, Decimal("12.000"))
    assert all(live.run_totals(f"r{n}").calls == 3_000 for n in range(4))
    assert max(longest) <= 256 + 4  # a batch, plus what other threads queue while one sums it
    assert not live._pending


def test_concurrent_runs_in_asyncio_tasks_each_see_their_own_spend():
    provider = TracerProvider()
    live = LiveStats()
    add_invocation_listener(live.record)
    seen: dict[int, Totals] = {}

    async def run(n: int) -> None:
        async with agent_step(f"run-{n}", agent="bot", tracer_provider=provider) as step:
            for _ in range(n + 1):
                async with llm_call("openai", "gpt-4o-mini", tracer_provider=provider) as call:
                    call.set_usage({"prompt_tokens": 1000, "completion_tokens": 100})
                    await asyncio.sleep(0)  # interleave the tasks' calls
            seen[n] = step.stats(live)

    async def main() -> None:
        await asyncio.gather(*(run(n) for n in range(10)))

    try:
        asyncio.run(main())
    finally:
        remove_invocation_listener(live.record)
    one_call = seen[0].cost
    assert one_call > 0
    for n, totals in seen.items():
        assert (totals.calls, totals.input_tokens) == (n + 1, 1000 * (n + 1))
        assert totals.cost == one_call * (n + 1)
    assert live.snapshot().process.calls == sum(range(1, 11))
    assert live.snapshot().models["gpt-4o-mini"].calls == 55


def test_the_public_functions_read_the_process_stats():
    provider = TracerProvider()
    before = otel_llm_cost.stats()
    assert isinstance(before, Stats) and before.run is None
    assert current_run_stats() is None
    with agent_step("once", tracer_provider=provider) as step:
        with llm_call("openai", "gpt-4o-mini", tracer_provider=provider) as call:
            call.set_usage(Usage.of(2000, 10))
        inside = otel_llm_cost.stats()
        assert inside.run == current_run_stats() == step.stats()
        assert inside.run is not None and inside.run.input_tokens == 2000
    after = otel_llm_cost.stats()
    assert after.process.calls - before.process.calls == 1
    assert after.process.input_tokens - before.process.input_tokens == 2000


def test_a_failing_clock_never_reaches_the_caller(caplog):
    caplog.set_level(logging.DEBUG, logger="otel_llm_cost")

    def broken() -> float:
        raise RuntimeError("clock")

    live = LiveStats(clock=broken)
    add_invocation_listener(live.record)
    try:
        with llm_call("openai", "gpt-4o-mini", tracer_provider=TracerProvider()) as call:
            call.set_usage(Usage.of(1, 1))
    finally:
        remove_invocation_listener(live.record)
    assert "could not update its live stats" in caplog.text


@pytest.mark.parametrize("window", [0.5, 1, 59.9])
def test_tiny_windows_hold_at_least_the_current_bucket(window):
    clock = Clock()
    live = LiveStats(clock=clock)
    live.add("m", Usage.of(1, 1), Decimal(1))
    assert live.snapshot(window=window).recent.calls == 1
