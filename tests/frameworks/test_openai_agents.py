"""openai-agents (Responses and Chat Completions models), its tracing on and off, otel-llm-cost on and off."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    TracingProcessor,
    function_tool,
    set_trace_processors,
    set_tracing_disabled,
)
from checks import check_scenario
from openai import AsyncOpenAI

QUESTION = "What is the weather in Paris?"


@function_tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"Sunny and 21 C in {city}."


class _Collected(TracingProcessor):
    """The agents' own tracing, kept in memory (nothing leaves the machine)."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    def on_trace_start(self, trace: Any) -> None: ...

    def on_trace_end(self, trace: Any) -> None: ...

    def on_span_start(self, span: Any) -> None: ...

    def on_span_end(self, span: Any) -> None:
        self.spans.append(span)

    def shutdown(self) -> None: ...

    def force_flush(self) -> None: ...


def _agent(server: Any, api: str) -> Agent:
    client = AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    model_type = OpenAIResponsesModel if api == "responses" else OpenAIChatCompletionsModel
    model = model_type(model="gpt-4o-mini", openai_client=client)
    return Agent(name="assistant", instructions="Answer briefly.", tools=[get_weather], model=model)


def _usage(result: Any) -> tuple[int, int, int]:
    usage = result.context_wrapper.usage
    return usage.requests, usage.input_tokens, usage.output_tokens


def _run(server: Any, api: str, streamed: bool) -> tuple[Any, Any]:
    agent = _agent(server, api)
    if not streamed:
        result = Runner.run_sync(agent, QUESTION)
        return result.final_output, _usage(result)

    async def stream() -> tuple[Any, Any]:
        result = Runner.run_streamed(agent, QUESTION)
        kinds = [event.type async for event in result.stream_events()]
        return (result.final_output, sorted(set(kinds))), _usage(result)

    return asyncio.run(stream())


@pytest.mark.parametrize("tracing", ["tracing-on", "tracing-off"])
@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.parametrize("streamed", [False, True], ids=["run", "streamed"])
def test_openai_agents(tracing: str, api: str, streamed: bool) -> None:
    collected = _Collected()
    set_trace_processors([collected])
    set_tracing_disabled(tracing == "tracing-off")
    try:
        check_scenario(lambda server, provider: _run(server, api, streamed))
    finally:
        set_tracing_disabled(True)
    if tracing == "tracing-on":
        assert collected.spans, "the agents' own tracing saw nothing"
