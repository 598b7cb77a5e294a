"""Trace assembly whatever order the spans arrive in (issue #19), and ranking a trace once (#16).

The real case: an agent run through the real ``openai`` SDK against the demo server, written both as
our JSONL and as OTLP/JSON by the OpenTelemetry SDK's own JSON encoder, one line per batch as its file
exporter writes them. OTLP/JSON groups a batch's spans by scope, so the agent scope (which holds the
root) comes before the calls: the report must attribute calls to agents and steps all the same.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import openai
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as proto_encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from report_spans import agent_trace, llm, span, step, write_jsonl

from otel_llm_cost.agent import agent_step, tool_call
from otel_llm_cost.demo import DemoServer
from otel_llm_cost.export.jsonl import JsonlSpanExporter
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.launch import install_processor
from otel_llm_cost.report import build_report
from otel_llm_cost.report._aggregate import Aggregator
from otel_llm_cost.report._read import ReadStats
from otel_llm_cost.report._span import SpanRecord
from otel_llm_cost.report._totals import NONE
from otel_llm_cost.report._traces import Traces


@pytest.fixture(scope="module")
def agent_spans() -> Iterator[list[ReadableSpan]]:
    """Two agent runs (steps, a tool, five calls each) recorded by the real SDK and our processor."""
    collected = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "order-test"}))
    install_processor(provider)
    provider.add_span_processor(SimpleSpanProcessor(collected))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with DemoServer(first_token_delay=0, chunk_delay=0) as demo:
            client = openai.OpenAI(base_url=demo.base_url, api_key="demo", max_retries=0)
            for agent in ("planner", "writer"):
                _agent_run(client, provider, agent)
    finally:
        instrumentor.uninstrument()
    yield list(collected.get_finished_spans())


def _agent_run(client: openai.OpenAI, provider: TracerProvider, agent: str) -> None:
    hello = [{"role": "user", "content": "What will the weather be like in Paris tomorrow?"}]
    with agent_step("run", agent=agent, tracer_provider=provider):
        with agent_step("plan", tracer_provider=provider):
            client.chat.completions.create(model="gpt-4o-mini", messages=hello)
            list(
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=hello, stream=True, stream_options={"include_usage": True}
                )
            )
        with agent_step("act", tracer_provider=provider), tool_call("get_weather", tracer_provider=provider):
            client.embeddings.create(model="text-embedding-3-small", input=["Paris"])
        with agent_step("answer", tracer_provider=provider):
            client.chat.completions.create(model="gpt-4o", messages=hello)
            client.responses.create(model="o4-mini", input="Summarise in one sentence: rain.")


def _write_otlp_json(path, spans, batch):
    # What the SDK's OTLP/JSON file exporter writes: the official encoder, one compact line per batch.
    with open(path, "w", encoding="utf-8") as out:
        for i in range(0, len(spans), batch):
            out.write(json.dumps(encode_spans(spans[i : i + batch]).to_dict(), separators=(",", ":")) + "\n")
    return path


def _breakdowns(report):
    return {name: [(label, t.calls, t.cost) for label, t in rows] for name, rows in report.groups.items()}


@pytest.mark.parametrize("batch", [512, 7, 3])
def test_otlp_json_from_the_sdk_encoder_attributes_calls_like_jsonl(tmp_path, agent_spans, batch):
    jsonl = tmp_path / "spans.jsonl"
    exporter = JsonlSpanExporter(jsonl)
    exporter.export(agent_spans)
    exporter.shutdown()
    otlp = _write_otlp_json(tmp_path / "otlp.json", agent_spans, batch)
    # The encoder really does put the root's scope (ours: agent spans) before the calls.
    first = json.loads(otlp.read_text().splitlines()[0])["resourceSpans"][0]["scopeSpans"]
    assert batch < len(agent_spans) or len(first) > 1

    ours = build_report([jsonl])
    theirs = build_report([otlp])

    assert ours.totals.calls == theirs.totals.calls == 10
    assert _breakdowns(theirs) == _breakdowns(ours)
    agents = dict((label, t.calls) for label, t in theirs.groups["agent"])
    assert agents == {"planner": 5, "writer": 5}
    steps = dict((label, t.calls) for label, t in theirs.groups["step"])
    assert steps == {"plan": 4, "act": 2, "answer": 4}
    assert NONE not in agents and NONE not in steps


@pytest.mark.parametrize("framing", ["proto", "proto+zstd", "proto in a zstd stream", "json+zstd"])
def test_the_sdk_encoders_output_in_the_collector_file_framings_attributes_calls_like_jsonl(
    tmp_path, agent_spans, framing
):
    # The SDK's own protobuf (and JSON) OTLP encoders, framed as the Collector's file exporter frames
    # `format: proto` and `compression: zstd` (see collector_files.py): 4-byte big-endian lengths.
    jsonl = tmp_path / "spans.jsonl"
    exporter = JsonlSpanExporter(jsonl)
    exporter.export(agent_spans)
    exporter.shutdown()
    records = []
    for i in range(0, len(agent_spans), 5):
        batch = agent_spans[i : i + 5]
        if framing.startswith("json"):
            records.append(json.dumps(encode_spans(batch).to_dict(), separators=(",", ":")).encode())
        else:
            records.append(proto_encode_spans(batch).SerializeToString())
    if framing.endswith("+zstd"):
        records = [zstandard.ZstdCompressor().compress(r) for r in records]
    data = b"".join(len(r).to_bytes(4, "big") + r for r in records)
    if framing == "proto in a zstd stream":
        data = zstandard.ZstdCompressor().compress(data)
    path = tmp_path / "traces.bin"
    path.write_bytes(data)

    ours, theirs = build_report([jsonl]), build_report([path])
    assert theirs.stats.spans == len(agent_spans) and theirs.stats.malformed == 0
    assert ours.totals.calls == theirs.totals.calls == 10
    assert _breakdowns(theirs) == _breakdowns(ours)
    assert NONE not in dict(theirs.groups["agent"]) and NONE not in dict(theirs.groups["step"])


@given(st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_report(tmp_path_factory, rng):
    spans = agent_trace(1) + agent_trace(2, agent="other") + [llm(3, 301, cost="0.5")]
    expected = build_report([write_jsonl(tmp_path_factory.mktemp("a") / "s.jsonl", spans)])
    shuffled = list(spans)
    rng.shuffle(shuffled)
    # Split over two files as well: a trace may straddle them.
    cut = rng.randrange(len(shuffled) + 1)
    folder = tmp_path_factory.mktemp("b")
    report = build_report(
        [write_jsonl(folder / "1.jsonl", shuffled[:cut]), write_jsonl(folder / "2.jsonl", shuffled[cut:])]
    )
    assert _breakdowns(report) == _breakdowns(expected)
    assert [(t.trace_id, t.cost, t.calls) for t in report.top_traces] == [
        (t.trace_id, t.cost, t.calls) for t in expected.top_traces
    ]
    assert report.totals.calls == 7


def _records(spans):
    return [
        SpanRecord(
            s["trace_id"],
            s["span_id"],
            s["parent_span_id"],
            s["name"],
            s["start_time_unix_nano"],
            s["end_time_unix_nano"],
            False,
            s["attributes"],
            s["resource"],
        )
        for s in spans
    ]


def _run(trace: int) -> list[dict]:
    base = trace * 100
    calls = [llm(trace, base + 10 + i, base + 2, cost=f"0.00{i + 1}", start_s=i) for i in range(3)]
    return [*calls, step(trace, base + 2, base + 1, "plan"), span(trace, base + 1, None, name="root")]


def test_a_trace_pushed_out_of_memory_and_seen_again_is_ranked_once_with_its_whole_cost():
    # Room for one open trace: the interleaved traces keep pushing each other out.
    aggregator = Aggregator(top=5)
    aggregator.traces = Traces(aggregator._count_call, top=5, max_traces=1)
    for a, b in zip(_records(_run(1)), _records(_run(2)), strict=True):
        aggregator.add(a)
        aggregator.add(b)
    report = aggregator.report(ReadStats())

    assert {t.trace_id: (str(t.cost), t.calls) for t in report.top_traces} == {
        f"{1:032x}": ("0.006", 3),
        f"{2:032x}": ("0.006", 3),
    }
    assert [t.trace_id for t in report.slow_traces].count(f"{1:032x}") == 1
    assert report.traces == 2
    assert report.stats.split_traces > 0


def test_traces_of_equal_cost_rank_without_error(tmp_path):
    spans = [llm(t, t, cost="0.25", start_s=t) for t in range(1, 30)]
    report = build_report([write_jsonl(tmp_path / "s.jsonl", spans)], top=3)
    assert [t.trace_id for t in report.top_traces] == [f"{t:032x}" for t in (1, 2, 3)]


def test_a_trace_is_closed_by_input_time_not_by_its_root(tmp_path):
    # Root first, then its calls: the old reader closed the trace on the root and lost the labels.
    run = agent_trace(5)
    root_first = [run[-1], *run[:-1]]
    random.Random(3).shuffle(root_first[1:])
    report = build_report([write_jsonl(tmp_path / "s.jsonl", root_first)])
    assert dict((label, t.calls) for label, t in report.groups["agent"]) == {"travel-helper": 3}
