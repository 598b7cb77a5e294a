"""Agent and tool metrics: every instrument, outcomes, the in-flight count, buckets, the cardinality cap."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import agent_step, tool_call
from otel_llm_cost import attributes as attr
from otel_llm_cost._agent_metrics import AGENT_DURATION_BUCKETS, AgentMetrics, outcome_of

AGENT = attr.GEN_AI_AGENT_NAME
STEP = attr.LLM_COST_STEP_NAME
TOOL = attr.GEN_AI_TOOL_NAME
OUTCOME = attr.LLM_COST_OUTCOME


class Meters:
    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        self.exporter = exporter

    def metrics(self) -> dict[str, Any]:
        data = self.reader.get_metrics_data()
        return {
            metric.name: metric
            for resource in (data.resource_metrics if data else [])
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }

    def points(self, name: str) -> dict[frozenset[tuple[str, Any]], Any]:
        metric = self.metrics().get(name)
        if metric is None:
            return {}
        return {frozenset(p.attributes.items()): p for p in metric.data.data_points}

    def values(self, name: str) -> dict[frozenset[tuple[str, Any]], float]:
        return {
            key: getattr(p, "value", None) or getattr(p, "count", 0) for key, p in self.points(name).items()
        }

    def step(self, name: str, **kwargs: Any) -> Any:
        return agent_step(name, meter_provider=self.provider, tracer_provider=self.tracer_provider, **kwargs)

    def tool(self, name: str, **kwargs: Any) -> Any:
        return tool_call(name, meter_provider=self.provider, tracer_provider=self.tracer_provider, **kwargs)


@pytest.fixture
def meters() -> Meters:
    return Meters()


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    names = {"agent": AGENT, "step": STEP, "tool": TOOL, "outcome": OUTCOME, "error": attr.ERROR_TYPE}
    return frozenset((names[key], value) for key, value in pairs.items())


def test_every_instrument_of_a_step_with_a_tool(meters):
    with meters.step("plan", agent="researcher"):
        assert meters.values("llm_cost.agent.active") == {labels(agent="researcher", step="plan"): 1}
        with meters.tool("search"):
            pass
    step, tool = labels(agent="researcher", step="plan"), labels(tool="search", agent="researcher")
    assert meters.values("gen_ai.invoke_agent.duration") == {step: 1}
    assert meters.values("llm_cost.agent.tasks") == {step | labels(outcome="success"): 1}
    assert meters.values("llm_cost.agent.active") == {step: 0}
    assert meters.values("gen_ai.execute_tool.duration") == {tool: 1}
    assert meters.values("llm_cost.tool.calls") == {tool | labels(outcome="success"): 1}
    found = meters.metrics()
    assert found["gen_ai.invoke_agent.duration"].unit == found["gen_ai.execute_tool.duration"].unit == "s"
    assert found["llm_cost.agent.tasks"].data.is_monotonic
    assert not found["llm_cost.agent.active"].data.is_monotonic


def test_duration_buckets_are_the_conventions_advice(meters):
    with meters.step("think"), meters.tool("fetch"):
        pass
    (point,) = meters.points("gen_ai.invoke_agent.duration").values()
    assert tuple(point.explicit_bounds) == AGENT_DURATION_BUCKETS
    assert point.explicit_bounds[0] == 0.1 and point.explicit_bounds[-1] == 409.6
    (tool,) = meters.points("gen_ai.execute_tool.duration").values()
    assert tool.explicit_bounds[0] == 0.01 and tool.explicit_bounds[-1] == 81.92


class ToolBroke(Exception):
    pass


def test_outcomes_from_errors_timeouts_and_the_user(meters):
    with pytest.raises(ToolBroke), meters.step("a"), meters.tool("fetch"):
        raise ToolBroke("bad")
    with pytest.raises(TimeoutError), meters.step("a"):
        raise TimeoutError
    with meters.step("a") as step:
        step.set_outcome("timeout")
        assert step.outcome == "timeout"
    with meters.step("a"):
        pass
    tasks = meters.values("llm_cost.agent.tasks")
    step = labels(agent="a", step="a")
    assert tasks == {
        step | labels(outcome="failure"): 1,
        step | labels(outcome="timeout"): 2,
        step | labels(outcome="success"): 1,
    }
    error = f"{__name__}.ToolBroke"
    assert meters.values("llm_cost.tool.calls") == {labels(tool="fetch", agent="a", outcome="failure"): 1}
    assert meters.values("gen_ai.execute_tool.duration") == {labels(tool="fetch", agent="a", error=error): 1}
    durations = meters.values("gen_ai.invoke_agent.duration")
    assert durations[step] == 2 and durations[step | labels(error=error)] == 1
    assert durations[step | labels(error="TimeoutError")] == 1
    user_set = [s for s in meters.exporter.get_finished_spans() if s.attributes.get(OUTCOME)]
    assert [s.attributes[OUTCOME] for s in user_set] == ["timeout"]


def test_in_flight_returns_to_zero_after_errors_and_cancellations(meters):
    step = labels(agent="worker", step="work")
    seen: list[float] = []

    async def work(i: int, started: asyncio.Event) -> None:
        async with meters.step("work", agent="worker"):
            started.set()
            if i == 0:
                raise ToolBroke("fails")
            await asyncio.Event().wait()  # the others hang until cancelled

    async def main() -> None:
        events = [asyncio.Event() for _ in range(4)]
        tasks = [asyncio.create_task(work(i, e)) for i, e in enumerate(events)]
        for event in events:
            await event.wait()
        # Task 0 raised in the same step that set its event: it has left its block already.
        seen.append(meters.values("llm_cost.agent.active")[step])
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(results[0], ToolBroke)
        assert all(isinstance(r, asyncio.CancelledError) for r in results[1:])

    asyncio.run(main())
    assert seen == [3]
    assert meters.values("llm_cost.agent.active") == {step: 0}
    tasks = meters.values("llm_cost.agent.tasks")
    assert tasks == {step | labels(outcome="failure"): 1, step | labels(outcome="cancelled"): 3}


def test_decorated_functions_count_too(meters):
    @agent_step("solve", meter_provider=meters.provider, tracer_provider=meters.tracer_provider)
    def solve() -> int:
        return lookup()

    @tool_call("lookup", meter_provider=meters.provider, tracer_provider=meters.tracer_provider)
    def lookup() -> int:
        return 42

    assert solve() == 42
    assert meters.values("llm_cost.tool.calls") == {
        labels(tool="lookup", agent="solve", outcome="success"): 1
    }
    assert meters.values("llm_cost.agent.active") == {labels(agent="solve", step="solve"): 0}


def test_a_tool_outside_any_step_has_no_agent(meters):
    with meters.tool("clock"):
        pass
    assert meters.values("llm_cost.tool.calls") == {labels(tool="clock", outcome="success"): 1}


def test_attribute_values_are_capped():
    reader = InMemoryMetricReader()
    metrics = AgentMetrics(MeterProvider(metric_readers=[reader]), max_values=2)
    for tool in ("a", "b", "c", "d"):
        metrics.tool_ended(metrics.tool_labels(tool, None), 0.1, None, None)
    data = reader.get_metrics_data()
    (calls,) = [
        m
        for r in data.resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
        if m.name == "llm_cost.tool.calls"
    ]
    tools = sorted(p.attributes[TOOL] for p in calls.data.data_points)
    assert tools == ["_other", "a", "b"]


def test_outcome_of_each_kind_of_exit():
    assert outcome_of(None) == "success"
    assert outcome_of(TimeoutError()) == "timeout"
    assert outcome_of(asyncio.CancelledError()) == "cancelled"
    assert outcome_of(KeyboardInterrupt()) == "cancelled"
    assert outcome_of(ValueError()) == "failure"


def test_without_a_meter_provider_nothing_breaks():
    with agent_step("quiet") as step, tool_call("t"):
        step.set_outcome("success")
    assert step.outcome == "success"


def test_an_agent_counts_its_own_inference_and_tool_calls(meters, replay_server):
    from oai_helpers import MESSAGES, MODEL, chat_completion, client

    from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
    from replay import json_response

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=meters.tracer_provider, meter_provider=meters.provider)
    try:
        with replay_server([json_response(chat_completion()) for _ in range(3)]) as srv:
            sdk = client(srv)
            with meters.step("research", agent="researcher"):
                sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
                with meters.tool("search"), meters.tool("fetch"):
                    pass
                with meters.step("write", agent="writer"):  # another agent: its calls are its own
                    sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
                with meters.step("outline", operation="plan"):  # not an agent: counts for researcher
                    sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    inference = {dict(k)[AGENT]: p for k, p in meters.points("gen_ai.invoke_agent.inference_calls").items()}
    tools = {dict(k)[AGENT]: p for k, p in meters.points("gen_ai.invoke_agent.tool_calls").items()}
    assert {agent: p.sum for agent, p in inference.items()} == {"researcher": 2, "writer": 1}
    assert {agent: p.sum for agent, p in tools.items()} == {"researcher": 2, "writer": 0}
    assert tuple(inference["researcher"].explicit_bounds) == (1, 2, 4, 8, 16, 32, 64, 128)
    found = meters.metrics()
    assert found["gen_ai.invoke_agent.inference_calls"].unit == "{inference_call}"
    assert found["gen_ai.invoke_agent.tool_calls"].unit == "{tool_call}"
    durations = {dict(k)[STEP] for k in meters.points("gen_ai.invoke_agent.duration")}
    assert durations == {"research", "write"}  # the plan step is not an agent invocation
