"""Step-latency decomposition: ``phases.decompose`` on synthetic intervals (nanoseconds), the processor on
spans with explicit clock readings, and a real streamed call to a loopback server with controlled delays."""

from __future__ import annotations

import time

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.sdk.trace import Span, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import LLMCostSpanProcessor, agent_step
from otel_llm_cost import attributes as attr
from otel_llm_cost.demo import DemoServer
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.phases import CallInterval, Phases, ToolInterval, call_generation_ns, decompose
from otel_llm_cost.pricing._cost import unpriced_cost

MS = 1_000_000
MESSAGES = [{"role": "user", "content": "hello"}]


def ms(*values: int) -> Phases:
    return Phases(*(value * MS for value in values))


def call(start: int, first: int | None, end: int) -> CallInterval:
    return CallInterval(start * MS, None if first is None else first * MS, end * MS)


def tool(start: int, end: int) -> ToolInterval:
    return ToolInterval(start * MS, end * MS)


def test_one_streamed_call_between_own_work():
    # 0-100 own work, 100-400 waiting for the first token, 400-900 streaming, 900-1000 own work
    assert decompose(0, 1000 * MS, [call(100, 400, 900)]) == ms(100, 300, 500, 0, 100)


def test_a_call_not_streamed_is_all_generation_and_never_time_to_first_token():
    assert decompose(0, 1000 * MS, [call(200, None, 700)]) == ms(200, 0, 500, 0, 300)


def test_no_llm_call_and_no_tool_is_all_pre_processing():
    assert decompose(5 * MS, 805 * MS) == ms(800, 0, 0, 0, 0)


def test_tool_spans_between_calls_and_gaps_after_the_first_activity_are_post_processing():
    calls = [call(100, 200, 300), call(600, 650, 800)]
    tools = [tool(350, 500)]
    # gaps: 300-350 and 500-600 and 800-1000 are post-processing
    assert decompose(0, 1000 * MS, calls, tools) == ms(100, 150, 250, 150, 350)


def test_a_tool_first_starts_the_post_processing_clock():
    assert decompose(0, 1000 * MS, [call(500, 550, 700)], [tool(200, 400)]) == ms(200, 50, 150, 200, 400)


def test_parallel_calls_count_once_and_waiting_wins_over_streaming():
    # A waits 100-300 then streams to 600; B waits 200-500 then streams to 700.
    calls = [call(100, 300, 600), call(200, 500, 700)]
    # TTFT: 100-500 (someone waiting); generation: 500-700; post: 700-1000
    assert decompose(0, 1000 * MS, calls) == ms(100, 400, 200, 0, 300)


def test_a_tool_during_a_call_counts_as_the_call():
    assert decompose(0, 1000 * MS, [call(100, 200, 800)], [tool(300, 900)]) == ms(100, 100, 600, 100, 100)


def test_intervals_outside_the_step_are_clipped():
    assert decompose(100 * MS, 500 * MS, [call(0, 200, 400)], [tool(450, 900)]) == ms(0, 100, 200, 50, 50)


def test_empty_or_reversed_step():
    assert decompose(10, 10, [call(0, 1, 2)]) == Phases(0, 0, 0, 0, 0)
    assert decompose(10, 5) == Phases(0, 0, 0, 0, 0)


def test_a_first_chunk_outside_the_call_is_ignored():
    assert decompose(0, 1000 * MS, [call(100, 950, 900)]) == ms(100, 0, 800, 0, 100)


def test_seconds_are_keyed_by_phase_name():
    seconds = ms(100, 300, 500, 0, 100).seconds()
    assert seconds == {
        "pre_processing": 0.1,
        "time_to_first_token": 0.3,
        "generation": 0.5,
        "tool": 0.0,
        "post_processing": 0.1,
    }


def test_call_generation_from_first_chunk_or_start():
    assert call_generation_ns(call(100, 400, 900)) == 500 * MS
    assert call_generation_ns(call(100, None, 900)) == 800 * MS


_times = st.integers(min_value=0, max_value=10_000)
_small = st.integers(min_value=0, max_value=200)  # brute force walks every instant


@st.composite
def _call(draw: st.DrawFn, times: st.SearchStrategy[int] = _times) -> CallInterval:
    start, end = sorted((draw(times), draw(times)))
    first = draw(st.one_of(st.none(), st.integers(min_value=start, max_value=end)))
    return CallInterval(start, first, end)


@st.composite
def _tool(draw: st.DrawFn, times: st.SearchStrategy[int] = _times) -> ToolInterval:
    start, end = sorted((draw(times), draw(times)))
    return ToolInterval(start, end)


@given(_times, _times, st.lists(_call(), max_size=8), st.lists(_tool(), max_size=8))
def test_phases_always_add_up_to_the_duration(start, end, calls, tools):
    phases = decompose(start, end, calls, tools)
    assert sum(phases) == max(end - start, 0)
    assert all(value >= 0 for value in phases)


@given(_small, _small, st.lists(_call(_small), max_size=6), st.lists(_tool(_small), max_size=6))
def test_phases_match_a_brute_force_labelling_of_every_instant(start, end, calls, tools):
    expected = [0] * 5
    active_seen = False
    for t in range(start, end):
        waiting = any(c.first_chunk is not None and c.start <= t < c.first_chunk for c in calls)
        generating = any(
            (c.first_chunk if c.first_chunk is not None else c.start) <= t < c.end for c in calls
        )
        in_tool = any(x.start <= t < x.end for x in tools)
        if waiting:
            expected[1] += 1
        elif generating:
            expected[2] += 1
        elif in_tool:
            expected[3] += 1
        else:
            expected[4 if active_seen else 0] += 1
        active_seen = active_seen or waiting or generating or in_tool
    assert decompose(start, end, calls, tools) == Phases(*expected)


# --- through the processor: synthetic spans with explicit clock readings ---------------------------------


class Traced:
    """A tracer provider with the cost processor; spans are made with explicit start and end times."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(LLMCostSpanProcessor(_FreePricer()))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("test")

    def step(self, start_ms: int) -> Span:
        return self.tracer.start_span(
            "invoke_agent step", start_time=start_ms * MS, attributes={attr.LLM_COST_SPAN_TYPE: "agent_step"}
        )

    def child(self, parent: Span, start_ms: int, end_ms: int, attributes: dict[str, object]) -> None:
        context = trace.set_span_in_context(parent)
        span = self.tracer.start_span(
            "child", context=context, start_time=start_ms * MS, attributes=attributes
        )
        span.end(end_time=end_ms * MS)

    def llm(self, parent: Span, start_ms: int, end_ms: int, ttfc_ms: int | None = None, out: int = 0) -> None:
        attributes: dict[str, object] = {
            attr.GEN_AI_OPERATION_NAME: "chat",
            attr.GEN_AI_REQUEST_MODEL: "m",
            attr.GEN_AI_USAGE_INPUT_TOKENS: 10,
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: out,
        }
        if ttfc_ms is not None:
            attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc_ms / 1000
        self.child(parent, start_ms, end_ms, attributes)

    def tool(self, parent: Span, start_ms: int, end_ms: int) -> None:
        self.child(parent, start_ms, end_ms, {attr.GEN_AI_OPERATION_NAME: "execute_tool"})

    def phases(self, name: str = "invoke_agent step") -> dict[str, float]:
        (span,) = [s for s in self.exporter.get_finished_spans() if s.name == name]
        return {k: v for k, v in span.attributes.items() if k.startswith("llm_cost.phase.")}


class _FreePricer:
    def price(self, usage, model, provider, **_):
        return unpriced_cost()


def seconds(pre: float, ttft: float, gen: float, tool: float, post: float) -> dict[str, object]:
    return {
        attr.LLM_COST_PHASE_PRE_PROCESSING: pytest.approx(pre),
        attr.LLM_COST_PHASE_TIME_TO_FIRST_TOKEN: pytest.approx(ttft),
        attr.LLM_COST_PHASE_GENERATION: pytest.approx(gen),
        attr.LLM_COST_PHASE_TOOL: pytest.approx(tool),
        attr.LLM_COST_PHASE_POST_PROCESSING: pytest.approx(post),
    }


def test_processor_decomposes_a_step_with_calls_tools_and_gaps():
    t = Traced()
    step = t.step(0)
    t.llm(step, 100, 300, ttfc_ms=100)  # waits 100-200, streams 200-300
    t.tool(step, 350, 500)
    t.llm(step, 600, 800)  # not streamed: all generation
    step.end(end_time=1000 * MS)
    assert t.phases() == seconds(0.1, 0.1, 0.3, 0.15, 0.35)


def test_processor_decomposes_parallel_calls_and_nested_steps():
    t = Traced()
    outer = t.step(0)
    inner = t.tracer.start_span(
        "invoke_agent inner",
        context=trace.set_span_in_context(outer),
        start_time=50 * MS,
        attributes={attr.GEN_AI_OPERATION_NAME: "invoke_agent"},  # another producer's agent span
    )
    t.llm(inner, 100, 600, ttfc_ms=200)
    t.llm(inner, 200, 700, ttfc_ms=300)
    inner.end(end_time=800 * MS)
    outer.end(end_time=1000 * MS)
    # waiting 100-500 (someone has no first token yet), streaming 500-700
    assert t.phases("invoke_agent inner") == seconds(0.05, 0.4, 0.2, 0, 0.1)
    assert t.phases() == seconds(0.1, 0.4, 0.2, 0, 0.3)


def test_processor_step_without_calls_is_all_pre_processing_and_plain_spans_get_nothing():
    t = Traced()
    step = t.step(0)
    t.child(step, 10, 20, {"http.method": "GET"})  # neither a call nor a tool: the step's own time
    step.end(end_time=250 * MS)
    assert t.phases() == seconds(0.25, 0, 0, 0, 0)
    assert t.phases("child") == {}


def test_processor_gives_each_llm_span_its_generation_and_output_rate():
    t = Traced()
    step = t.step(0)
    t.llm(step, 0, 2000, ttfc_ms=500, out=300)  # 300 tokens in 1.5 s of generation
    t.llm(step, 0, 1000, out=100)
    step.end(end_time=2000 * MS)
    streamed, plain = [s for s in t.exporter.get_finished_spans() if s.name == "child"]
    assert streamed.attributes[attr.LLM_COST_PHASE_GENERATION] == pytest.approx(1.5)
    assert streamed.attributes[attr.LLM_COST_OUTPUT_TOKENS_PER_SECOND] == pytest.approx(200)
    assert plain.attributes[attr.LLM_COST_PHASE_GENERATION] == pytest.approx(1.0)
    assert plain.attributes[attr.LLM_COST_OUTPUT_TOKENS_PER_SECOND] == pytest.approx(100)


# --- against a loopback server with controlled delays ----------------------------------------------------

FIRST_TOKEN_DELAY = 0.3
CHUNK_DELAY = 0.02
BEFORE, AFTER = 0.2, 0.15
SLACK = 0.25  # generous: a shared, loaded CI machine adds scheduling noise to every sleep


def test_phases_of_a_real_streamed_call_match_the_server_delays():
    t = Traced()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=t.provider)
    try:
        with DemoServer(first_token_delay=0, chunk_delay=0) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="demo", max_retries=0)
            # Warm up (connection, the SDK's lazy imports) so the measured call sees only the delays.
            list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
            server.first_token_delay, server.chunk_delay = FIRST_TOKEN_DELAY, CHUNK_DELAY
            with agent_step("answer", tracer_provider=t.provider):
                time.sleep(BEFORE)
                chunks = list(
                    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
                )
                time.sleep(AFTER)
    finally:
        instrumentor.uninstrument()
    spans = {s.name: s for s in t.exporter.get_finished_spans()}  # the measured call is the last
    step, call = spans["invoke_agent answer"], spans["chat gpt-4o-mini"]
    phases = t.phases("invoke_agent answer")
    ttfc = call.attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]
    streaming = (len(chunks) - 2) * CHUNK_DELAY  # the server paces every chunk after the first content one
    # Sleeps never end early, so each phase is at least its delay; SLACK absorbs a loaded machine.
    assert BEFORE <= phases[attr.LLM_COST_PHASE_PRE_PROCESSING] <= BEFORE + SLACK
    assert FIRST_TOKEN_DELAY <= ttfc <= FIRST_TOKEN_DELAY + SLACK
    assert phases[attr.LLM_COST_PHASE_TIME_TO_FIRST_TOKEN] == pytest.approx(ttfc, abs=1e-6)
    assert streaming <= phases[attr.LLM_COST_PHASE_GENERATION] <= streaming + SLACK
    assert phases[attr.LLM_COST_PHASE_TOOL] == 0
    assert AFTER <= phases[attr.LLM_COST_PHASE_POST_PROCESSING] <= AFTER + SLACK
    duration = (step.end_time - step.start_time) / 1e9
    assert sum(phases.values()) == pytest.approx(duration, rel=1e-12, abs=1e-12)
    assert step.attributes[attr.LLM_COST_TOTAL_LLM_CALLS] == 1
