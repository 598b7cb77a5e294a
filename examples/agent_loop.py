"""A small agent loop on the real ``openai`` SDK, priced call by call by otel-llm-cost.

The loop, one ``agent_step`` span per step under an ``invoke_agent travel-helper`` run: ``retrieve``
(notes from a local store) -> ``plan`` (a streamed chat call that asks for a tool) -> ``act`` (the tool,
run locally in a ``tool_call`` span) -> ``answer`` (a second chat call, an embeddings call to file the
answer, a Responses API call that summarises it). The cost processor rolls each step's calls up to it
(``llm_cost.total.*``) and splits its time into phases. It ends with a table of every LLM call:
tokens, time to first token, duration and cost.

Run it::

    python examples/agent_loop.py     # the real OpenAI API when OPENAI_API_KEY is set, else the demo server
    python examples/demo.py           # always the local demo server: no API key, no network

Environment variables:

- ``OPENAI_API_KEY``: talk to the real API (a few tenths of a cent per run with these models).
- ``OTEL_LLM_COST_DEMO_SERVER=1``: use the local demo server even when a key is set.
- ``OTEL_SERVICE_NAME``: the ``service.name`` of the spans (default ``otel-llm-cost-demo``).
- ``OTEL_EXPORTER_OTLP_ENDPOINT``: also export the spans over OTLP/HTTP (e.g. ``http://localhost:4318``),
  when ``opentelemetry-exporter-otlp-proto-http`` is installed.
- ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``: record prompts and replies on the spans.

Under ``opentelemetry-instrument`` (zero-code set-up) the SDK instrumentation is loaded from our entry
points (``llm_cost_openai``, ``llm_cost_anthropic``) and the tracer provider comes from the
environment; this script then only adds its in-memory collector to that provider::

    OTEL_SERVICE_NAME=agent-demo \\
    OTEL_TRACES_EXPORTER=console \\
    OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \\
    OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai,anthropic \\
    opentelemetry-instrument python examples/agent_loop.py

``OTEL_TRACES_EXPORTER`` picks the exporter (``console``, ``otlp`` or ``none``; needs
``opentelemetry-distro``). ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai,anthropic`` switches off
other GenAI instrumentations registered under those names (they would record every call twice);
ours are unaffected.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_llm_cost
from otel_llm_cost.agent import agent_step, tool_call
from otel_llm_cost.demo.server import DemoServer
from otel_llm_cost.demo.table import format_rows, llm_calls

CHAT_MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
SUMMARY_MODEL = "o4-mini"
QUESTION = "What will the weather be like in Paris tomorrow, and should I pack an umbrella?"

NOTES = (
    "Paris in spring: showers are common; locals carry compact umbrellas.",
    "The Louvre and Musée d'Orsay are good plans for a rainy morning.",
    "Tokyo in June is the rainy season (tsuyu); expect humid days.",
    "Pack layers for Paris: mornings are cool, around 10 to 15 °C.",
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Tomorrow's forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
            "required": ["city"],
        },
    },
}


# --- tracing --------------------------------------------------------------------------------------


def setup_tracing() -> tuple[TracerProvider, InMemorySpanExporter, bool]:
    """A tracer provider whose spans are also kept in memory; returns (provider, collector, owned)."""
    collector = InMemorySpanExporter()
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # opentelemetry-instrument built it and instrumented the SDKs
        current.add_span_processor(SimpleSpanProcessor(collector))
        return current, collector, False
    service = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "otel-llm-cost-demo"}
    provider = TracerProvider(resource=Resource.create(service))
    provider.add_span_processor(SimpleSpanProcessor(collector))
    _add_otlp_exporter(provider)
    otel_llm_cost.configure(tracer_provider=provider)
    return provider, collector, True


def _add_otlp_exporter(provider: TracerProvider) -> None:
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        print("note: pip install opentelemetry-exporter-otlp-proto-http to export over OTLP", file=sys.stderr)
        return
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))


# --- the agent's local steps ----------------------------------------------------------------------


def retrieve(provider: TracerProvider, question: str, limit: int = 2) -> list[str]:
    """A stand-in for a vector store: the notes sharing the most words with the question."""
    with agent_step("retrieve", tracer_provider=provider) as span:
        words = set(question.lower().replace("?", "").split())
        ranked = sorted(NOTES, key=lambda note: -len(words & set(note.lower().split())))
        found = ranked[:limit]
        span.set_attribute("retrieval.documents", len(found))
        return found


def get_weather(city: str) -> dict[str, Any]:
    """The tool: a canned forecast (a real agent would call a weather API here)."""
    return {"city": city, "forecast": "light rain, clearing by evening", "temperature_c": 14}


def run_tool(provider: TracerProvider, call: dict[str, str]) -> str:
    """Run one tool call in an ``execute_tool`` span; returns the JSON result for the model."""
    name = call["name"]
    with tool_call(name, call_id=call["id"], tool_type="function", tracer_provider=provider):
        arguments = json.loads(call["arguments"] or "{}")
        result = get_weather(**arguments) if name == "get_weather" else {"error": f"unknown tool {name}"}
        return json.dumps(result)


# --- the model calls ------------------------------------------------------------------------------


def stream_chat(client: openai.OpenAI, messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """A streamed chat call; returns the text and the tool calls assembled from the chunks."""
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    stream = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=messages,
        tools=[WEATHER_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    with stream:
        for chunk in stream:
            if not chunk.choices:
                continue  # the final usage chunk
            delta = chunk.choices[0].delta
            text.append(delta.content or "")
            for part in delta.tool_calls or []:
                call = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                call["id"] = part.id or call["id"]
                if part.function is not None:
                    call["name"] = part.function.name or call["name"]
                    call["arguments"] += part.function.arguments or ""
    return "".join(text), [calls[index] for index in sorted(calls)]


def tool_call_message(calls: list[dict[str, str]]) -> dict[str, Any]:
    """The assistant turn that asked for the tools, as the next request must repeat it."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls
        ],
    }


def run_agent(client: openai.OpenAI, provider: TracerProvider, question: str = QUESTION) -> tuple[str, str]:
    """Retrieve -> streamed call -> tool -> call -> embeddings -> Responses; returns (answer, summary)."""
    with agent_step("run", agent="travel-helper", tracer_provider=provider):
        notes = retrieve(provider, question)
        print(f"retrieved {len(notes)} notes")
        system = "You are a concise travel helper. Use the notes and tools.\nNotes:\n" + "\n".join(notes)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": question},
        ]
        with agent_step("plan", tracer_provider=provider):
            answer, calls = stream_chat(client, messages)
        if calls:
            messages.append(tool_call_message(calls))
            with agent_step("act", tracer_provider=provider):
                for call in calls:
                    result = run_tool(provider, call)
                    print(f"tool {call['name']}({call['arguments']}) -> {result}")
                    messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
        with agent_step("answer", tracer_provider=provider):
            if calls:
                reply = client.chat.completions.create(
                    model=CHAT_MODEL, messages=messages, tools=[WEATHER_TOOL]
                )
                answer = reply.choices[0].message.content or ""
            client.embeddings.create(model=EMBEDDING_MODEL, input=[question, answer])
            summary = client.responses.create(
                model=SUMMARY_MODEL, input=f"Summarise in one sentence: {answer}"
            )
        return answer, summary.output_text


# --- main -----------------------------------------------------------------------------------------


def use_demo_server() -> bool:
    return os.environ.get("OTEL_LLM_COST_DEMO_SERVER") == "1" or not os.environ.get("OPENAI_API_KEY")


@contextmanager
def openai_client() -> Iterator[openai.OpenAI]:
    """A client for the real API, or for a demo server that lives as long as the client."""
    if not use_demo_server():
        with openai.OpenAI() as client:
            print("using the OpenAI API (OPENAI_API_KEY is set)")
            yield client
        return
    with DemoServer() as server, openai.OpenAI(base_url=server.base_url, api_key="demo") as client:
        print(f"using the local demo server at {server.base_url} (no API key, no network)")
        yield client


def main() -> int:
    provider, collector, owned = setup_tracing()
    with openai_client() as client:
        print(f"question: {QUESTION}")
        answer, summary = run_agent(client, provider)
    print(f"answer: {answer}\nsummary: {summary}\n")
    provider.force_flush()
    rows = llm_calls(collector.get_finished_spans())
    print(format_rows(rows))
    if owned:
        provider.shutdown()
    if not rows:
        print("no LLM spans were recorded: is otel-llm-cost's instrumentation installed?", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
