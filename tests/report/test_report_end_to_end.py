"""Real spans, end to end: the real OpenAI SDK against the demo server, our instrumentation, the cost
processor and the JSONL exporter write a file; the report reads it back."""

from __future__ import annotations

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_llm_cost.agent import agent_step
from otel_llm_cost.demo.server import DemoServer
from otel_llm_cost.export.jsonl import JsonlSpanExporter
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.processor import LLMCostSpanProcessor
from otel_llm_cost.report import build_report, render_table


@pytest.fixture
def span_file(tmp_path):
    path = tmp_path / "spans.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(LLMCostSpanProcessor())
    exporter = JsonlSpanExporter(path)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with (
            DemoServer(first_token_delay=0, chunk_delay=0) as server,
            openai.OpenAI(base_url=server.base_url, api_key="demo", max_retries=0) as client,
        ):
            run_agent(client, provider)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    return path


def run_agent(client, provider):
    messages = [{"role": "user", "content": "Hello"}]
    with agent_step("plan", agent="helper", tracer_provider=provider):
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    with agent_step("answer", agent="helper", tracer_provider=provider):
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True):
            pass
        client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])


def test_report_on_real_spans(span_file):
    report = build_report([span_file])
    assert report.stats.malformed == 0
    assert report.totals.calls == 3
    assert report.totals.errors == 0
    assert report.totals.cost > 0  # the chat calls are priced
    # Whatever could not be priced (the demo server's host names no provider) is listed, never $0.
    assert sum(calls for _, _, calls in report.unpriced) == report.totals.unpriced
    assert report.latency.ttft.count == 1  # only the streamed call has a first chunk
    steps = {label: totals for label, totals in report.groups["step"]}
    assert (steps["plan"].calls, steps["answer"].calls) == (1, 2)
    assert sum(t.cost for t in steps.values()) == report.totals.cost
    assert {label for label, _ in report.groups["agent"]} == {"helper"}
    assert {name for name, _ in report.steps} == {"plan", "answer"}
    assert "gpt-4o-mini" in render_table(report)
