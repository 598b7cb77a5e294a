"""A process whose tracer provider logfire owns (run by test_logfire.py: the global provider is set once
per process). ``argv[1]``: ``global`` (``configure()``) or ``explicit`` (``configure(tracer_provider=...)``);
``argv[2]``: ``openai`` or ``pydantic-ai`` (instrumented through logfire, its documented tracing route)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import logfire
from checks import STEP, Run, check_calls, check_step
from loopback import RecordingServer
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_llm_cost

QUESTION = "What is the weather in Paris?"


def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"Sunny and 21 C in {city}."


def main(mode: str, framework: str) -> None:
    exporter = InMemorySpanExporter()
    logfire.configure(
        send_to_logfire=False, console=False, metrics=False,
        additional_span_processors=[SimpleSpanProcessor(exporter)],
    )  # fmt: skip
    provider = trace.get_tracer_provider()
    assert type(provider).__module__.startswith("logfire"), type(provider)
    otel_llm_cost.configure(tracer_provider=provider if mode == "explicit" else None)
    with RecordingServer() as server, otel_llm_cost.agent_step(STEP):
        if framework == "openai":
            import openai

            client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        else:
            from pydantic_ai import Agent
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider

            logfire.instrument_pydantic_ai()
            model = OpenAIChatModel(
                "gpt-4o-mini", provider=OpenAIProvider(base_url=server.base_url, api_key="k")
            )
            Agent(model, tools=[get_weather]).run_sync(QUESTION)
        sent = list(server.sent)
    logfire.force_flush()
    run = Run(None, None, sent, list(exporter.get_finished_spans()))
    check_calls(run)
    check_step(run)
    print(f"ok: {len(run.ours())} calls")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
