"""Run by test_data_loss.py in a subprocess: exit the interpreter with calls still open.

    python hostile_exit_scenario.py <jsonl path>

``configure()`` with a batch span processor writing JSONL, then: an OpenAI stream half-read and kept by a
global, an Anthropic stream half-read and kept, an OpenAI stream being read by a daemon thread (the
server holds it), and an ``llm_call`` left open on a daemon thread. The interpreter then exits; every one
of these must be a span in the file.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import anthropic
import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from reliability_loopback import ANTHROPIC_MODEL, OPENAI_MODEL, UsageEchoServer

import otel_llm_cost
from otel_llm_cost import llm_call
from otel_llm_cost.export import JsonlSpanExporter

MESSAGES = [{"role": "user", "content": "hi"}]
_kept: list[Any] = []


def main() -> None:
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(JsonlSpanExporter(sys.argv[1]), schedule_delay_millis=60_000)
    )
    otel_llm_cost.configure(tracer_provider=provider)
    server = UsageEchoServer(hold_until=10**6).__enter__()
    oai = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, timeout=120)
    ant = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0, timeout=120)
    stream = oai.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, max_tokens=2, stream=True)
    next(iter(stream))
    events = ant.messages.create(model=ANTHROPIC_MODEL, messages=MESSAGES, max_tokens=3, stream=True)
    next(iter(events))
    _kept.extend([stream, events, oai, ant, server])
    reading = oai.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, max_tokens=4, stream=True)
    started, never = threading.Event(), threading.Event()

    def drain() -> None:
        for _ in reading:
            started.set()

    def manual() -> None:
        with llm_call("ollama", "llama3.1:8b", request={"max_tokens": 5}, tracer_provider=provider):
            started.set()
            never.wait()

    threading.Thread(target=drain, daemon=True).start()
    assert started.wait(30), "the reading thread never got a chunk"
    started.clear()
    threading.Thread(target=manual, daemon=True).start()
    assert started.wait(30), "the manual call never started"
    print("open", flush=True)


if __name__ == "__main__":
    main()
