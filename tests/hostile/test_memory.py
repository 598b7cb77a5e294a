"""Memory (#16): every structure keyed by a value we do not control is capped, logged values are cut, and a
step left open for many calls keeps bounded state. Bounds are on structure sizes and on traced
allocations with generous limits, never on time."""

from __future__ import annotations

import logging
import tracemalloc

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import _log, agent_step, llm_call
from otel_llm_cost import attributes as attr
from otel_llm_cost._bounded import BoundedDict, BoundedSet
from otel_llm_cost._step_activity import FOLD_AT, StepActivity
from otel_llm_cost.detectors import LatencyDetector, LoopDetector, TokenSpikeDetector
from otel_llm_cost.export.summary import CallSummary
from otel_llm_cost.phases import CallInterval, ToolInterval, decompose
from otel_llm_cost.pricing import Pricer
from otel_llm_cost.processor import LLMCostSpanProcessor
from otel_llm_cost.usage import Usage

NAMES = 20_000  # distinct hostile names per test (the 200,000, scaled to keep the suite fast)


def _growth(work) -> int:
    """Bytes still allocated after ``work`` (traced), i.e. what it kept."""
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        work()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def test_unknown_model_names_are_bounded_in_memory_and_in_the_log(caplog) -> None:
    pricer = Pricer()
    pricer.warm_up()
    pricer.price(Usage.of(1, 1), "warm-up-name", "openai")
    caplog.set_level(logging.WARNING, logger="otel_llm_cost")

    names = 2000  # each unknown name costs genai-prices a scan of its models: keep the suite fast

    def flood() -> None:
        for index in range(names):
            pricer.price(Usage.of(10, 10), f"no-such-model-{index:08d}-" + "x" * 40, "openai")
        logging.disable(logging.WARNING)  # the test's own log capture must not be what grows
        try:
            for index in range(NAMES):  # log_once keys of any origin
                _log.log_once(f"hostile.{index}", "hostile key %d", index)
        finally:
            logging.disable(logging.NOTSET)

    kept = _growth(flood)
    assert kept < 8 * 1024 * 1024
    assert len(_log._seen) <= _log._SEEN_CAP
    warnings = [record for record in caplog.records if "price" in record.getMessage()]
    assert len(warnings) <= 101  # one per model for the first hundred, then one line for the rest
    assert pricer.unpriced_count == names + 1  # every call is still counted (the warm-up's too)


def test_a_megabyte_model_name_is_cut_in_the_log(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="otel_llm_cost")
    Pricer().price(Usage.of(1, 1), "m" * 1_000_000, "openai")
    (record,) = [r for r in caplog.records if "no price" in r.getMessage()]
    assert len(record.getMessage()) < 1000


def test_detectors_keep_bounded_state_per_model() -> None:
    latency, tokens, loops = LatencyDetector(baseline_samples=2), TokenSpikeDetector(), LoopDetector()

    def flood() -> None:
        for index in range(NAMES):
            subject = f"openai/model-{index}"
            for _ in range(3):
                latency.observe(subject, "ttft", 0.5)
            tokens.observe_call(subject, 100)
            loops.observe("one-run", ("tool", f"args-{index}"), "tool search")

    kept = _growth(flood)
    assert len(latency._baselines) <= 1000 and len(latency._recent) <= 1000 and len(latency._learning) <= 1000
    assert len(tokens._calls) <= 1000
    assert all(len(counts) <= 4096 for counts, _ in loops._runs.values())
    assert kept < 16 * 1024 * 1024


def test_summary_lines_are_capped() -> None:
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    summary = CallSummary()
    tracer = provider.get_tracer("hostile")
    for index in range(3000):
        with tracer.start_as_current_span("chat") as span:
            span.set_attribute(attr.LLM_COST_COST_STATUS, "priced")
            span.set_attribute(attr.GEN_AI_REQUEST_MODEL, f"model-{index}")
            span.set_attribute(attr.GEN_AI_USAGE_COST_AMOUNT, 0.001)
    for span in memory.get_finished_spans():
        summary.add(span)
    models = summary.models()
    assert len(models) <= 1001 and sum(line.calls for line in models.values()) == 3000


@given(st.integers(1, 50), st.data())
def test_bounded_structures_never_exceed_their_cap(cap, data) -> None:
    keys = data.draw(st.lists(st.integers(0, 200), max_size=400))
    table: BoundedDict[int, int] = BoundedDict(cap)
    seen: BoundedSet[int] = BoundedSet(cap)
    for key in keys:
        table[key] = key
        seen.add(key)
        assert len(table) <= cap and len(seen) <= cap and table[key] == key and key in seen


_spans = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 400), st.booleans(), st.booleans()), max_size=60
)


@given(_spans, st.integers(1, 4))
def test_a_folded_step_still_adds_up(raw, fold_every) -> None:
    """Any intervals, folded however often: the phases add up to the step's duration, none negative; for
    calls that do not overlap across a fold the result is exact."""
    activity = StepActivity()
    items: list[object] = []
    for start, length, streamed, is_tool in raw:
        item = ToolInterval(start, start + length) if is_tool else CallInterval(
            start, start + length // 3 if streamed else None, start + length
        )  # fmt: skip
        items.append(item)
        activity._items.append(item)
        if len(activity._items) >= fold_every * 2:
            activity._fold(fold_every)
    phases = activity.phases(0, 11_000)
    assert sum(phases) == 11_000 and min(phases) >= 0


def test_sequential_calls_fold_exactly() -> None:
    activity, calls = StepActivity(), []
    for index in range(3 * FOLD_AT + 7):
        call = CallInterval(index * 10, index * 10 + 2, index * 10 + 7)
        calls.append(call)
        activity.append(call)
    assert len(activity) < FOLD_AT
    assert activity.phases(0, len(calls) * 10 + 5) == decompose(0, len(calls) * 10 + 5, calls)


def test_a_step_open_for_many_calls_keeps_bounded_state() -> None:
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    processor = LLMCostSpanProcessor()
    provider.add_span_processor(processor)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    calls = 3 * FOLD_AT

    def run() -> None:
        with agent_step("long", tracer_provider=provider):
            for _ in range(calls):
                with llm_call("openai", "gpt-4o-mini", tracer_provider=provider) as call:
                    call.set_usage({"prompt_tokens": 10, "completion_tokens": 2})
                memory.clear()  # the test's own exporter must not be what grows

    kept = _growth(run)
    step = next(span for span in memory.get_finished_spans() if span.name.startswith("invoke_agent"))
    duration = step.end_time - step.start_time
    phases = [value for key, value in step.attributes.items() if key.startswith("llm_cost.phase.")]
    assert abs(sum(phases) - duration / 1e9) < 1e-6
    assert step.attributes[attr.LLM_COST_TOTAL_LLM_CALLS] == calls
    assert kept < 4 * 1024 * 1024
