"""Roll-up of LLM cost and tokens to ancestor spans: nesting, concurrency, wrappers, memory bounds."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import reset_log_once
from otel_llm_cost._rollup import SpanTree, Totals
from otel_llm_cost.pricing import Cost
from otel_llm_cost.processor import LLMCall, LLMCostSpanProcessor

_Z = Decimal(0)
TOTALS = (
    attr.LLM_COST_TOTAL_COST,
    attr.LLM_COST_TOTAL_INPUT_TOKENS,
    attr.LLM_COST_TOTAL_OUTPUT_TOKENS,
    attr.LLM_COST_TOTAL_CACHE_READ_TOKENS,
    attr.LLM_COST_TOTAL_CACHE_WRITE_TOKENS,
    attr.LLM_COST_TOTAL_REASONING_TOKENS,
    attr.LLM_COST_TOTAL_LLM_CALLS,
    attr.LLM_COST_TOTAL_UNPRICED_CALLS,
)


class TenthPricer:
    """$0.1 per call, except model "unknown"; 0.1 is not a binary fraction, so sums show float drift."""

    def __init__(self) -> None:
        self.priced: list[str | None] = []

    def price(self, usage, model, provider, **_: Any) -> Cost:
        self.priced.append(model)
        if model == "unknown":
            return Cost("unpriced", None, _Z, _Z, _Z, _Z, _Z)
        return Cost("priced", Decimal("0.1"), Decimal("0.1"), _Z, _Z, _Z, _Z)


class Tree:
    def __init__(self, **options: Any) -> None:
        self.pricer = TenthPricer()
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.processor = LLMCostSpanProcessor(self.pricer, **options)
        self.provider.add_span_processor(self.processor)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("test")

    def llm(self, name: str = "chat", model: str = "m", **usage: int) -> None:
        with self.tracer.start_as_current_span(name) as span:
            span.set_attributes(_usage_attributes(model, **usage))

    def totals(self, name: str) -> dict[str, Any]:
        (span,) = [s for s in self.exporter.get_finished_spans() if s.name == name]
        return {key: span.attributes[key] for key in TOTALS if key in span.attributes}


def nothing_tracked(tree: Tree) -> bool:
    spans = tree.processor._tree
    return (spans.tracked_spans, spans.tracked_traces, spans.noted_roots) == (0, 0, 0)


def _usage_attributes(model: str = "m", inp: int = 100, out: int = 10, **extra: int) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        attr.GEN_AI_REQUEST_MODEL: model,
        attr.GEN_AI_USAGE_INPUT_TOKENS: inp,
        attr.GEN_AI_USAGE_OUTPUT_TOKENS: out,
    }
    names = {
        "cache_read": attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        "cache_write": attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
        "reasoning": attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    }
    attributes.update({names[key]: value for key, value in extra.items()})
    return attributes


def expected(cost: str, calls: int, unpriced: int = 0, **tokens: int) -> dict[str, Any]:
    return {
        attr.LLM_COST_TOTAL_COST: float(Decimal(cost)),
        attr.LLM_COST_TOTAL_INPUT_TOKENS: tokens.get("inp", 100 * calls),
        attr.LLM_COST_TOTAL_OUTPUT_TOKENS: tokens.get("out", 10 * calls),
        attr.LLM_COST_TOTAL_CACHE_READ_TOKENS: tokens.get("cache_read", 0),
        attr.LLM_COST_TOTAL_CACHE_WRITE_TOKENS: tokens.get("cache_write", 0),
        attr.LLM_COST_TOTAL_REASONING_TOKENS: tokens.get("reasoning", 0),
        attr.LLM_COST_TOTAL_LLM_CALLS: calls,
        attr.LLM_COST_TOTAL_UNPRICED_CALLS: unpriced,
    }


@pytest.fixture
def tree() -> Tree:
    return Tree()


@pytest.fixture(autouse=True)
def _fresh_log_once():
    reset_log_once()


def test_nested_steps_each_get_their_subtree(tree):
    with tree.tracer.start_as_current_span("agent run"):
        with tree.tracer.start_as_current_span("step 1"):
            tree.llm(cache_read=60, reasoning=4)
            with tree.tracer.start_as_current_span("tool"):
                pass
            tree.llm(cache_write=30)
        with tree.tracer.start_as_current_span("step 2"):
            tree.llm(model="unknown")
    assert tree.totals("step 1") == expected("0.2", 2, cache_read=60, cache_write=30, reasoning=4)
    assert tree.totals("step 2") == expected("0", 1, unpriced=1)
    assert tree.totals("agent run") == expected(
        "0.2", 3, unpriced=1, cache_read=60, cache_write=30, reasoning=4
    )
    assert tree.totals("tool") == {}
    chats = [span for span in tree.exporter.get_finished_spans() if span.name == "chat"]
    assert all(
        attr.LLM_COST_TOTAL_COST not in span.attributes for span in chats
    )  # calls carry their own cost
    assert tree.processor.tracked_spans == 0


def test_decimal_sums_are_exact(tree):
    with tree.tracer.start_as_current_span("root"):
        for _ in range(3):
            tree.llm()
    # Decimal inside: three times 0.1 is exactly 0.3 (a float sum would be 0.30000000000000004).
    assert tree.totals("root")[attr.LLM_COST_TOTAL_COST] == 0.3


def test_an_llm_span_without_parent_gets_no_totals(tree):
    tree.llm()
    (span,) = tree.exporter.get_finished_spans()
    assert attr.LLM_COST_TOTAL_COST not in span.attributes
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "priced"


def test_parallel_calls_in_threads_all_count(tree):
    def worker(context: contextvars.Context) -> None:
        for _ in range(25):
            context.run(tree.llm)

    with tree.tracer.start_as_current_span("fan out"), ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(worker, contextvars.copy_context()) for _ in range(8)]:
            future.result()
    assert tree.totals("fan out") == expected("20", 200)
    assert tree.processor.tracked_spans == 0


async def test_parallel_calls_in_asyncio_tasks_all_count(tree):
    async def step(index: int) -> None:
        with tree.tracer.start_as_current_span(f"step {index}"):
            for _ in range(5):
                tree.llm()
                await asyncio.sleep(0)  # interleave the tasks' spans

    with tree.tracer.start_as_current_span("agent"):
        await asyncio.gather(*(step(i) for i in range(10)))
    assert tree.totals("agent") == expected("5", 50)
    assert tree.totals("step 7") == expected("0.5", 5)


def test_wrapper_reporting_usage_is_not_counted_on_top_of_its_calls(tree):
    span = tree.tracer.start_as_current_span
    with span("root"), span("invoke_agent") as wrapper:
        tree.llm(inp=100)
        tree.llm(inp=200)
        wrapper.set_attributes(_usage_attributes(inp=300, out=20))  # its children's sum, as util-genai does
    assert tree.totals("invoke_agent") == expected("0.2", 2, inp=300)
    assert tree.totals("root") == expected("0.2", 2, inp=300)
    assert tree.pricer.priced == ["m", "m"]  # the wrapper itself was not priced
    (wrapper_span,) = [s for s in tree.exporter.get_finished_spans() if s.name == "invoke_agent"]
    assert attr.LLM_COST_COST_STATUS not in wrapper_span.attributes


def test_span_with_usage_over_children_without_usage_is_a_call(tree):
    with tree.tracer.start_as_current_span("root"), tree.tracer.start_as_current_span("chat") as call:
        with tree.tracer.start_as_current_span("http POST"):
            pass
        call.set_attributes(_usage_attributes())
    assert tree.totals("root") == expected("0.1", 1)


def test_ancestor_that_ended_first_is_skipped(tree, caplog):
    root = tree.tracer.start_span("root")
    step = tree.tracer.start_span("step", context=trace.set_span_in_context(root))
    late = tree.tracer.start_span("late chat", context=trace.set_span_in_context(step))
    late.set_attributes(_usage_attributes())
    with caplog.at_level(logging.DEBUG, logger="otel_llm_cost"):
        step.end()
        late.end()
    root.end()
    assert tree.totals("step") == {}
    assert tree.totals("root") == expected("0.1", 1)
    assert "ancestor ended before" in caplog.text


def test_remote_parent_makes_a_local_root(tree):
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    with tree.tracer.start_as_current_span(
        "server", context=trace.set_span_in_context(NonRecordingSpan(remote))
    ):
        tree.llm()
        assert tree.processor.tracked_spans == 1
    assert tree.totals("server") == expected("0.1", 1)
    assert tree.processor.tracked_spans == 0


def test_memory_returns_to_zero_after_many_traces(tree):
    for _ in range(300):
        with tree.tracer.start_as_current_span("root"), tree.tracer.start_as_current_span("step"):
            tree.llm()
            with tree.tracer.start_as_current_span("tool"):
                pass
    assert nothing_tracked(tree)


def test_abandoned_traces_are_swept_after_the_timeout():
    now = [0.0]
    tree = Tree(trace_timeout=60.0, clock=lambda: now[0])
    abandoned = [tree.tracer.start_span("never ended") for _ in range(5)]
    for span in abandoned:  # a span below each root makes it tracked (adopted)
        tree.tracer.start_span("child", context=trace.set_span_in_context(span)).end()
    assert tree.processor.tracked_spans == 5
    now[0] = 61.0
    with tree.tracer.start_as_current_span("fresh"), tree.tracer.start_as_current_span("child"):
        assert tree.processor.tracked_spans == 2  # the fresh trace's start swept the five old ones
    for span in abandoned:
        span.end()  # ending a forgotten span is harmless
    assert tree.processor.tracked_spans == 0


def test_span_cap_bounds_tracking_and_calls_still_reach_tracked_ancestors(caplog):
    tree = Tree(max_tracked_spans=2)
    span = tree.tracer.start_as_current_span
    with caplog.at_level(logging.WARNING), span("root"), span("step"):
        assert tree.processor.tracked_spans == 2
        tree.llm()  # over the cap: not tracked, but its parent is
        with span("untracked step"):
            tree.llm()  # its parent is untracked: the call rolls up nowhere
    assert tree.totals("step") == expected("0.1", 1)
    assert tree.totals("root") == expected("0.1", 1)
    assert tree.processor.tracked_spans == 0
    assert "left out of cost roll-ups" in caplog.text


def test_span_tree_hands_totals_to_the_nearest_open_ancestor():
    spans = SpanTree()
    spans.start(1, 10, None)
    spans.start(1, 11, 10)
    spans.start(1, 12, 11)
    gathered, up = spans.end(1, 12, 11)
    assert gathered is None
    spans.add_call(up, Totals(cost=Decimal("0.5"), calls=1))
    gathered, _ = spans.end(1, 11, 10)
    assert gathered is not None and (gathered.cost, gathered.calls) == (Decimal("0.5"), 1)
    gathered, _ = spans.end(1, 10, None)
    assert gathered is not None and gathered.calls == 1
    assert (spans.tracked_spans, spans.tracked_traces) == (0, 0)


# --- local roots: tracked only once a span starts below them ------------------------------------------


def test_a_lone_root_llm_span_is_never_tracked(tree):
    seen: list[LLMCall] = []
    tree.processor._on_llm_span = lambda span, call: seen.append(call)
    with tree.tracer.start_as_current_span("chat") as span:
        assert tree.processor.tracked_spans == 0
        span.set_attributes(_usage_attributes())
    (exported,) = tree.exporter.get_finished_spans()
    assert exported.attributes[attr.LLM_COST_COST_STATUS] == "priced"
    assert attr.LLM_COST_TOTAL_COST not in exported.attributes
    assert [call.amount for call in seen] == [Decimal("0.1")]
    assert nothing_tracked(tree)


@pytest.mark.parametrize("explicit_context", [False, True], ids=["current context", "explicit context"])
def test_a_root_is_adopted_when_a_span_starts_below_it(tree, explicit_context):
    seen: list[LLMCall] = []
    tree.processor._on_llm_span = lambda span, call: seen.append(call)
    root = tree.tracer.start_span("agent")  # not a step at its start: left untracked
    assert tree.processor.tracked_spans == 0
    if explicit_context:
        child = tree.tracer.start_span("chat", context=trace.set_span_in_context(root))
        child.set_attributes(_usage_attributes(inp=40))
        child.end()
    else:
        with trace.use_span(root):
            tree.llm(inp=40)
    assert tree.processor.tracked_spans == 1  # the root, adopted
    root.set_attributes(_usage_attributes(inp=40))  # a wrapper's summary of its call: not a second call
    root.end()
    assert tree.totals("agent") == expected("0.1", 1, inp=40)
    assert len(seen) == 1
    assert tree.pricer.priced == ["m"]
    assert nothing_tracked(tree)


def test_a_span_below_an_ended_root_is_a_root_itself(tree):
    root = tree.tracer.start_span("root")
    root.end()
    with tree.tracer.start_as_current_span("late", context=trace.set_span_in_context(root)):
        tree.llm()
        assert tree.processor.tracked_spans == 1  # "late" alone: the ended root was not adopted
    assert tree.totals("late") == expected("0.1", 1)
    assert tree.totals("root") == {}
    assert nothing_tracked(tree)


def test_a_parent_from_another_provider_is_not_adopted(tree):
    other = TracerProvider().get_tracer("other")
    with other.start_as_current_span("foreign root"), tree.tracer.start_as_current_span("agent"):
        tree.llm()
    assert tree.totals("agent") == expected("0.1", 1)
    assert nothing_tracked(tree)


def test_a_root_step_is_tracked_from_its_start(tree):
    with tree.tracer.start_as_current_span("step", attributes={attr.LLM_COST_SPAN_TYPE: "agent_step"}):
        assert tree.processor.tracked_spans == 1
        tree.llm()
    (step,) = [s for s in tree.exporter.get_finished_spans() if s.name == "step"]
    assert attr.LLM_COST_PHASE_GENERATION in step.attributes
    assert tree.totals("step") == expected("0.1", 1)


def test_an_adopted_root_can_take_the_last_place_under_the_span_cap(caplog):
    tree = Tree(max_tracked_spans=1)
    with caplog.at_level(logging.WARNING), tree.tracer.start_as_current_span("root"):
        tree.llm()  # the root is adopted into the one place; the call is over the cap but reaches it
        tree.llm()
    assert tree.totals("root") == expected("0.2", 2)
    assert "left out of cost roll-ups" in caplog.text
    assert tree.processor.tracked_spans == 0


def test_roots_ending_while_spans_start_below_them_in_threads_leave_nothing_tracked(tree):
    def run(index: int) -> None:
        root = tree.tracer.start_span(f"root {index}")
        context = trace.set_span_in_context(root)
        with ThreadPoolExecutor(max_workers=2) as pool:
            pool.submit(root.end)
            for _ in range(3):
                tree.tracer.start_span("child", context=context).end()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(run, range(200)))
    assert nothing_tracked(tree)


def test_noted_roots_are_bounded_and_the_oldest_is_forgotten(caplog):
    tree = Tree(max_tracked_spans=2)
    with caplog.at_level(logging.WARNING):
        oldest, *newer = [tree.tracer.start_span(f"root {i}") for i in range(3)]
    assert tree.processor._tree.noted_roots == 2
    assert "local roots are open at once" in caplog.text
    for root in (oldest, newer[0]):
        with trace.use_span(root, end_on_exit=True):
            tree.llm()
    assert tree.totals("root 0") == {}  # forgotten: its call rolled up nowhere
    assert tree.totals("root 1") == expected("0.1", 1)
    newer[1].end()
    assert nothing_tracked(tree)
