"""Run by test_shutdown.py in a subprocess: leave LLM streams in flight, then let the interpreter exit.

    python reliability_exit_scenario.py sync|async <export timeout in seconds>

Sets the global tracer provider (allowed in a subprocess): a ``BatchSpanProcessor`` exporting by OTLP HTTP
to a collector that never answers, so an export is stuck when the interpreter exits, plus an in-memory
exporter to report what ended. Streams: OpenAI and Anthropic, sync ones left half-read (one also half-read
by a daemon thread, blocked on a server that holds it) or, in ``async`` mode, asyncio tasks mid-stream when
``asyncio.run`` returns. Prints one JSON line (``{"outcomes": {...}}``) before exiting.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any

import anthropic
import openai
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from reliability_endpoints import BlackHole
from reliability_loopback import ANTHROPIC_MODEL, OPENAI_MODEL, UsageEchoServer

from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor

MESSAGES = [{"role": "user", "content": "hi"}]
_kept: list[Any] = []  # streams alive until interpreter teardown


def setup(export_timeout: float) -> tuple[InMemorySpanExporter, UsageEchoServer]:
    hole = BlackHole().__enter__()  # never closed: the export must still be stuck at exit
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{hole.port}/v1/traces", timeout=export_timeout)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=10))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument()
    AnthropicInstrumentor().instrument()
    # Streams are held after their first content until 10**6 requests arrive: i.e. for the whole run.
    server = UsageEchoServer(hold_until=10**6).__enter__()
    return memory, server


def warm_up_export(server: UsageEchoServer) -> None:
    """One finished call, so that the batch processor's worker is inside a stuck export."""
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, timeout=120)
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, max_tokens=1)


def sync_streams(server: UsageEchoServer) -> None:
    oai = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, timeout=120)
    ant = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0, timeout=120)
    stream = oai.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, max_tokens=2, stream=True)
    next(iter(stream))
    events = ant.messages.create(model=ANTHROPIC_MODEL, messages=MESSAGES, max_tokens=3, stream=True)
    next(iter(events))
    _kept.extend([stream, events, oai, ant])
    reading = oai.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, max_tokens=4, stream=True)
    started = threading.Event()

    def drain() -> None:
        for _ in reading:
            started.set()

    threading.Thread(target=drain, daemon=True).start()
    assert started.wait(30), "the reading thread never got a chunk"


async def async_streams(server: UsageEchoServer) -> None:
    oai = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, timeout=120)
    ant = anthropic.AsyncAnthropic(base_url=server.url, api_key="k", max_retries=0, timeout=120)
    first = [asyncio.Event(), asyncio.Event()]

    async def read_openai() -> None:
        stream = await oai.chat.completions.create(
            model=OPENAI_MODEL, messages=MESSAGES, max_tokens=5, stream=True
        )
        async for _ in stream:
            first[0].set()

    async def read_anthropic() -> None:
        stream = await ant.messages.create(
            model=ANTHROPIC_MODEL, messages=MESSAGES, max_tokens=6, stream=True
        )
        async for _ in stream:
            first[1].set()

    tasks = [asyncio.create_task(read_openai()), asyncio.create_task(read_anthropic())]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in first)), 30)
    _kept.extend(tasks)
    # Returning now leaves both tasks mid-stream: asyncio.run cancels them.


def main() -> None:
    mode, export_timeout = sys.argv[1], float(sys.argv[2])
    memory, server = setup(export_timeout)
    warm_up_export(server)
    if mode == "sync":
        sync_streams(server)
    else:
        asyncio.run(async_streams(server))
    outcomes = {
        str(s.attributes.get("gen_ai.request.max_tokens")): s.attributes.get("llm_cost.stream.outcome")
        for s in memory.get_finished_spans()
    }
    print(json.dumps({"outcomes": outcomes}), flush=True)


if __name__ == "__main__":
    main()
