"""The JSON-lines exporter (schema ``otel-llm-cost/span/v1``) and the exit summary."""

from __future__ import annotations

import io
import json
import re
import threading
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import reset_log_once
from otel_llm_cost.export import SCHEMA, JsonlSpanExporter
from otel_llm_cost.export.jsonl import DEFAULT_JSONL_PATH, jsonl_path_from_env
from otel_llm_cost.export.summary import CallSummary, SummarySpanProcessor

# The contract with the report command (docs/jsonl-schema.md): exactly these keys, these types.
TOP_LEVEL = {
    "schema",
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "status",
    "attributes",
    "events",
    "resource",
    "scope",
}


def check_record(record: dict) -> None:
    """Assert ``record`` follows schema v1 (shared with the zero-code tests)."""
    assert set(record) == TOP_LEVEL
    assert record["schema"] == SCHEMA
    assert re.fullmatch(r"[0-9a-f]{32}", record["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", record["span_id"])
    assert record["parent_span_id"] is None or re.fullmatch(r"[0-9a-f]{16}", record["parent_span_id"])
    assert isinstance(record["name"], str)
    assert record["kind"] in {"INTERNAL", "CLIENT", "SERVER", "PRODUCER", "CONSUMER"}
    assert isinstance(record["start_time_unix_nano"], int)
    assert isinstance(record["end_time_unix_nano"], int)
    assert record["end_time_unix_nano"] >= record["start_time_unix_nano"]
    assert set(record["status"]) == {"code", "description"}
    assert record["status"]["code"] in {"UNSET", "OK", "ERROR"}
    assert isinstance(record["attributes"], dict)
    for event in record["events"]:
        assert set(event) == {"name", "time_unix_nano", "attributes"}
    assert isinstance(record["resource"], dict)
    assert set(record["scope"]) == {"name", "version"}


def _provider(exporter: JsonlSpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "jsonl-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _emit_llm_trace(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("jsonl-test", "1.2.3")
    with tracer.start_as_current_span("invoke_agent planner"):
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
            span.set_attribute(attr.GEN_AI_REQUEST_MODEL, "gpt-4o-mini")
            span.set_attribute(attr.GEN_AI_USAGE_INPUT_TOKENS, 120)
            span.set_attribute(attr.GEN_AI_RESPONSE_FINISH_REASONS, ("stop",))
            span.set_attribute(attr.GEN_AI_USAGE_COST_AMOUNT, 0.00042)
            span.set_attribute("odd.float", float("nan"))
            span.add_event("llm_cost.budget.warning", {"llm_cost.budget.spent": 1.5})
        with tracer.start_as_current_span("execute_tool search") as tool:
            tool.set_status(Status(StatusCode.ERROR, "boom"))


def test_each_span_is_one_line_of_schema_v1(tmp_path):
    path = tmp_path / "out" / "spans.jsonl"
    exporter = JsonlSpanExporter(path)
    provider = _provider(exporter)
    _emit_llm_trace(provider)
    provider.shutdown()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["name"] for r in records] == ["chat gpt-4o-mini", "execute_tool search", "invoke_agent planner"]
    for record in records:
        check_record(record)
    chat, tool, root = records
    assert chat["parent_span_id"] == root["span_id"] and root["parent_span_id"] is None
    assert {r["trace_id"] for r in records} == {root["trace_id"]}
    assert chat["kind"] == "CLIENT" and root["kind"] == "INTERNAL"
    assert chat["attributes"][attr.GEN_AI_USAGE_INPUT_TOKENS] == 120
    assert chat["attributes"][attr.GEN_AI_RESPONSE_FINISH_REASONS] == ["stop"]
    assert chat["attributes"][attr.GEN_AI_USAGE_COST_AMOUNT] == 0.00042
    assert chat["attributes"]["odd.float"] is None  # NaN is not JSON
    assert chat["events"][0]["name"] == "llm_cost.budget.warning"
    assert chat["events"][0]["attributes"] == {"llm_cost.budget.spent": 1.5}
    assert tool["status"] == {"code": "ERROR", "description": "boom"}
    assert root["status"] == {"code": "UNSET", "description": None}
    assert chat["resource"]["service.name"] == "jsonl-test"
    assert chat["scope"] == {"name": "jsonl-test", "version": "1.2.3"}


def test_appends_to_an_existing_file(tmp_path):
    path = tmp_path / "spans.jsonl"
    for _ in range(2):
        provider = _provider(JsonlSpanExporter(path))
        provider.get_tracer("t").start_span("one").end()
        provider.shutdown()
    assert len(path.read_text().splitlines()) == 2


def test_no_file_is_created_before_the_first_span(tmp_path):
    path = tmp_path / "spans.jsonl"
    exporter = JsonlSpanExporter(path)
    assert exporter.force_flush()
    exporter.shutdown()
    assert not path.exists()


def test_a_callers_stream_is_flushed_but_not_closed():
    stream = io.StringIO()
    exporter = JsonlSpanExporter(stream=stream)
    provider = _provider(exporter)
    provider.get_tracer("t").start_span("one").end()
    provider.shutdown()
    assert not stream.closed
    assert json.loads(stream.getvalue())["name"] == "one"
    assert exporter.path is None


def test_shutdown_is_idempotent_and_later_exports_are_dropped(tmp_path):
    path = tmp_path / "spans.jsonl"
    exporter = JsonlSpanExporter(path)
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    provider.get_tracer("t").start_span("one").end()
    (span,) = spans.get_finished_spans()
    assert exporter.export([span]) is SpanExportResult.SUCCESS
    exporter.shutdown()
    exporter.shutdown()
    assert exporter.export([span]) is SpanExportResult.FAILURE
    assert exporter.force_flush()
    assert len(path.read_text().splitlines()) == 1


def test_a_write_failure_is_reported_not_raised(tmp_path, caplog):
    reset_log_once()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    exporter = JsonlSpanExporter(blocker / "spans.jsonl")
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    provider.get_tracer("t").start_span("one").end()
    assert exporter.export(spans.get_finished_spans()) is SpanExportResult.FAILURE
    assert "could not write" in caplog.text
    exporter.shutdown()


def test_concurrent_exports_never_interleave_lines(tmp_path):
    path = tmp_path / "spans.jsonl"
    exporter = JsonlSpanExporter(path)
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("t")
    for i in range(20):
        with tracer.start_as_current_span(f"span-{i}") as span:
            span.set_attribute("payload", "x" * 5000)
    batch = spans.get_finished_spans()
    threads = [threading.Thread(target=exporter.export, args=(batch,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    exporter.shutdown()
    lines = path.read_text().splitlines()
    assert len(lines) == 8 * 20
    assert all(json.loads(line)["attributes"]["payload"] == "x" * 5000 for line in lines)


def test_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("OTEL_LLM_COST_JSONL_PATH", raising=False)
    assert jsonl_path_from_env() == Path(DEFAULT_JSONL_PATH)
    monkeypatch.setenv("OTEL_LLM_COST_JSONL_PATH", str(tmp_path / "x.jsonl"))
    assert JsonlSpanExporter().path == tmp_path / "x.jsonl"


# --- summary ---------------------------------------------------------------------------------------


def _priced_span(
    provider: TracerProvider, model: str, tokens: tuple[int, int, int], amount: float | None, rid: str
):
    span = provider.get_tracer("t").start_span(f"chat {model}")
    span.set_attribute(attr.GEN_AI_RESPONSE_MODEL, model)
    span.set_attribute(attr.GEN_AI_RESPONSE_ID, rid)
    span.set_attribute(attr.GEN_AI_USAGE_INPUT_TOKENS, tokens[0])
    span.set_attribute(attr.GEN_AI_USAGE_OUTPUT_TOKENS, tokens[1])
    span.set_attribute(attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, tokens[2])
    span.set_attribute(attr.LLM_COST_COST_STATUS, "priced" if amount is not None else "unpriced")
    if amount is not None:
        span.set_attribute(attr.GEN_AI_USAGE_COST_AMOUNT, amount)
    span.end()


def test_summary_prints_calls_tokens_and_cost_once_at_shutdown():
    out = io.StringIO()
    processor = SummarySpanProcessor(out, jsonl_path=Path("spans.jsonl"))
    provider = TracerProvider()
    provider.add_span_processor(processor)
    _priced_span(provider, "gpt-4o-mini", (1000, 200, 0), 0.00027, "r1")
    _priced_span(provider, "gpt-4o-mini", (1000, 100, 500), 0.0002, "r2")
    _priced_span(provider, "claude-sonnet-4-5", (2000, 50, 1024), 0.003, "r3")
    _priced_span(provider, "acme-private", (10, 10, 0), None, "r4")
    provider.get_tracer("t").start_span("not an llm span").end()
    provider.shutdown()
    processor.shutdown()
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == (
        "otel-llm-cost: 4 LLM calls, 4,010 input tokens (1,524 cache read), 360 output tokens, $0.003470"
    )
    assert lines[2].split() == ["claude-sonnet-4-5", "1", "2,000", "50", "0.003000"]
    assert lines[3].split() == ["gpt-4o-mini", "2", "2,000", "300", "0.000470"]
    assert lines[4].split() == ["acme-private", "1", "10", "10", "unpriced"]
    assert "1 call(s) could not be priced" in text
    assert lines[-1] == "  spans: spans.jsonl (otel-llm-cost report spans.jsonl)"
    assert len(lines) <= 24  # one screen
    assert text.count("otel-llm-cost:") == 1


def test_summary_counts_one_call_seen_by_two_instrumentations_once():
    summary = CallSummary()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("step"):
        _priced_span(provider, "gpt-4o", (10, 1, 0), 0.1, "same-id")
        _priced_span(provider, "gpt-4o", (10, 1, 0), 0.1, "same-id")
    for span in spans.get_finished_spans():
        summary.add(span)
    assert summary.models()["gpt-4o"].calls == 1


def test_summary_is_silent_without_llm_calls():
    out = io.StringIO()
    processor = SummarySpanProcessor(out)
    processor.shutdown()
    assert out.getvalue() == ""


def test_summary_folds_many_models_to_fit_one_screen():
    summary = CallSummary()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    for i in range(30):
        _priced_span(provider, f"model-{i:02d}", (1, 1, 0), 0.001 * (i + 1), f"r{i}")
    for span in spans.get_finished_spans():
        summary.add(span)
    lines = summary.render().splitlines()
    assert len(lines) == 2 + 10 + 1
    assert lines[2].split()[0] == "model-29"
    assert lines[-1] == "  ... 20 more models"


@pytest.mark.parametrize("bad", [None, "text", True])
def test_summary_ignores_malformed_token_counts(bad):
    summary = CallSummary()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    span = provider.get_tracer("t").start_span("chat x")
    span.set_attribute(attr.LLM_COST_COST_STATUS, "priced")
    span.set_attribute(attr.GEN_AI_USAGE_COST_AMOUNT, 0.5)
    if bad is not None:
        span.set_attribute(attr.GEN_AI_USAGE_INPUT_TOKENS, bad)
    span.end()
    summary.add(spans.get_finished_spans()[0])
    assert summary.models()["?"].input_tokens == 0
    assert summary.models()["?"].cost == pytest.approx(0.5)
