"""``agent_step`` and ``tool_call``: span shape, decorators, nesting across threads and tasks, errors."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from otel_llm_cost import agent_step, bind_context, tool_call
from otel_llm_cost import attributes as attr
from otel_llm_cost.agent import StepNames, current_step


class Recorded:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self) -> dict[str, ReadableSpan]:
        return {span.name: span for span in self.exporter.get_finished_spans()}


@pytest.fixture
def rec() -> Recorded:
    return Recorded()


def parent_name(spans: dict[str, ReadableSpan], name: str) -> str | None:
    parent = spans[name].parent
    if parent is None:
        return None
    return next(n for n, s in spans.items() if s.context.span_id == parent.span_id)


def test_agent_step_follows_the_genai_agent_conventions(rec):
    with agent_step(
        "plan",
        agent="researcher",
        conversation_id="conv-1",
        attributes={"x": 1},
        tracer_provider=rec.provider,
    ) as span:
        assert span.is_recording()
        assert current_step() == StepNames("researcher", "plan")
    assert current_step() == StepNames(None, None)
    (step,) = rec.exporter.get_finished_spans()
    assert step.name == "invoke_agent researcher"  # the conventions name the agent; the step is an attribute
    assert step.kind is SpanKind.INTERNAL
    assert dict(step.attributes) == {
        attr.GEN_AI_OPERATION_NAME: "invoke_agent",
        attr.GEN_AI_AGENT_NAME: "researcher",
        attr.LLM_COST_STEP_NAME: "plan",
        attr.LLM_COST_SPAN_TYPE: "agent_step",
        attr.GEN_AI_CONVERSATION_ID: "conv-1",
        "x": 1,
    }
    assert step.status.status_code is StatusCode.UNSET


def test_steps_that_are_not_agents_use_the_conventions_other_operations(rec):
    workflow = agent_step("trip", operation="invoke_workflow", tracer_provider=rec.provider)
    with workflow, agent_step("route", agent="planner", operation="plan", tracer_provider=rec.provider):
        pass
    steps = {s.attributes[attr.LLM_COST_STEP_NAME]: s for s in rec.exporter.get_finished_spans()}
    assert steps["trip"].name == "invoke_workflow trip"
    assert steps["trip"].attributes[attr.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    assert steps["trip"].attributes[attr.GEN_AI_WORKFLOW_NAME] == "trip"
    assert attr.GEN_AI_AGENT_NAME not in steps["trip"].attributes
    assert steps["route"].name == "plan planner"
    assert steps["route"].attributes[attr.GEN_AI_OPERATION_NAME] == "plan"
    with pytest.raises(ValueError, match="operation"):
        agent_step("x", operation="chat")


def test_tool_call_follows_the_genai_tool_conventions(rec):
    with tool_call("search", call_id="call_1", tool_type="function", tracer_provider=rec.provider):
        pass
    (tool,) = rec.exporter.get_finished_spans()
    assert tool.name == "execute_tool search"
    assert dict(tool.attributes) == {
        attr.GEN_AI_OPERATION_NAME: "execute_tool",
        attr.GEN_AI_TOOL_NAME: "search",
        attr.GEN_AI_TOOL_CALL_ID: "call_1",
        attr.GEN_AI_TOOL_TYPE: "function",
        attr.LLM_COST_SPAN_TYPE: "tool",
    }


def test_a_nested_step_inherits_the_agent_name(rec):
    with agent_step("run", agent="bot", tracer_provider=rec.provider):
        with agent_step("inner", tracer_provider=rec.provider):
            assert current_step() == StepNames("bot", "inner")
        assert current_step() == StepNames("bot", "run")
    with agent_step("alone", tracer_provider=rec.provider):
        assert current_step() == StepNames("alone", "alone")
    steps = {s.attributes[attr.LLM_COST_STEP_NAME]: s for s in rec.exporter.get_finished_spans()}
    assert steps["inner"].attributes[attr.GEN_AI_AGENT_NAME] == "bot"
    assert steps["inner"].name == steps["run"].name == "invoke_agent bot"
    assert steps["inner"].parent.span_id == steps["run"].context.span_id
    assert steps["alone"].name == "invoke_agent alone"


def test_decorators_open_one_span_per_call_sync_and_async(rec):
    @agent_step("sync step", tracer_provider=rec.provider)
    def work(x: int) -> int:
        with tool_call("double", tracer_provider=rec.provider):
            return x * 2

    @tool_call("async tool", tracer_provider=rec.provider)
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    assert work(2) == 4
    assert work(3) == 6
    assert asyncio.run(fetch(1)) == 2
    assert work.__name__ == "work"
    assert asyncio.iscoroutinefunction(fetch)
    names = [span.name for span in rec.exporter.get_finished_spans()]
    assert names == [
        "execute_tool double",
        "invoke_agent sync step",
        "execute_tool double",
        "invoke_agent sync step",
        "execute_tool async tool",
    ]


def test_async_context_manager_and_tasks_nest_under_the_step(rec):
    @agent_step("child", tracer_provider=rec.provider)
    async def child(name: str) -> str:
        assert current_step().step == "child"
        with tool_call(name, tracer_provider=rec.provider):
            await asyncio.sleep(0)
        return name

    async def main() -> list[str]:
        async with agent_step("parent", tracer_provider=rec.provider):
            return list(await asyncio.gather(child("a"), asyncio.create_task(child("b"))))

    assert asyncio.run(main()) == ["a", "b"]
    spans = rec.exporter.get_finished_spans()
    (parent,) = [s for s in spans if s.attributes.get(attr.LLM_COST_STEP_NAME) == "parent"]
    children = [s for s in spans if s.attributes.get(attr.LLM_COST_STEP_NAME) == "child"]
    assert {c.name for c in children} == {"invoke_agent parent"}  # the child step inherits the agent
    assert len(children) == 2
    assert all(c.parent.span_id == parent.context.span_id for c in children)
    tools = [s for s in spans if s.name.startswith("execute_tool")]
    assert {t.parent.span_id for t in tools} == {c.context.span_id for c in children}


def test_threads_nest_with_bind_context_and_not_without(rec):
    seen: list[StepNames] = []

    def work(name: str) -> None:
        seen.append(current_step())
        with tool_call(name, tracer_provider=rec.provider):
            pass

    with agent_step("fan out", tracer_provider=rec.provider), ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(bind_context(work), ["t1", "t2", "t3", "t4"]))
        bare = threading.Thread(target=work, args=("bare",))
        bare.start()
        bare.join()
    spans = rec.spans()
    for name in ("t1", "t2", "t3", "t4"):
        assert parent_name(spans, f"execute_tool {name}") == "invoke_agent fan out"
    assert spans["execute_tool bare"].parent is None  # a new thread starts with an empty context
    assert seen.count(StepNames("fan out", "fan out")) == 4


def test_an_error_sets_the_status_and_is_re_raised_unchanged(rec):
    error = ValueError("bad plan")
    with pytest.raises(ValueError) as raised, agent_step("plan", tracer_provider=rec.provider):
        raise error
    assert raised.value is error
    (span,) = rec.exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "bad plan"
    assert span.attributes[attr.ERROR_TYPE] == "ValueError"
    assert [event.name for event in span.events] == ["exception"]
    assert current_step() == StepNames(None, None)


def test_async_decorator_errors_are_recorded(rec):
    class ToolFailed(Exception):
        pass

    @tool_call("flaky", tracer_provider=rec.provider)
    async def flaky() -> None:
        raise ToolFailed("down")

    with pytest.raises(ToolFailed):
        asyncio.run(flaky())
    (span,) = rec.exporter.get_finished_spans()
    assert span.attributes[attr.ERROR_TYPE].endswith(
        "test_async_decorator_errors_are_recorded.<locals>.ToolFailed"
    )
    assert span.status.status_code is StatusCode.ERROR


def test_without_a_provider_the_global_one_is_used_and_nothing_breaks():
    with agent_step("quiet") as span, tool_call("t"):
        assert span.get_span_context() is not None
        assert current_step() == StepNames("quiet", "quiet")
    assert current_step() == StepNames(None, None)
