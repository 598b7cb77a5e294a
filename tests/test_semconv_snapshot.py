"""Everything we emit is in the conventions snapshot, with its type, instrument and unit (#18).

``tests/semconv_snapshot/genai.json`` pins the GenAI names we emit, extracted from the upstream
``semantic-conventions-genai`` texts at a recorded commit, and our own ``llm_cost.*`` metrics. These
tests drive the real SDKs (recordings replayed on loopback), agent steps, tools, a manual call, the cost
processor and the events, in both editions, through in-memory exporters and readers, and fail on any span
attribute, span event attribute, metric, metric attribute or log event that the snapshot does not have,
or that has another type, instrument kind or unit there. A newer snapshot is one deliberate diff.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import openai
import pytest
from oai_helpers import find_recording
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import Histogram, InMemoryMetricReader, Sum
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import LLMCostSpanProcessor, agent_step, llm_call, tool_call
from otel_llm_cost._config import SCHEMA_URL, SEMCONV_STABILITY_OPT_IN, semconv_latest
from otel_llm_cost.events import GenAIEvents
from otel_llm_cost.instrumentation._invocation import add_invocation_listener, remove_invocation_listener
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.metrics import LLMMetrics
from replay import ReplayServer, json_response, load
from sdk_calls import anthropic_client, call_anthropic, call_openai, openai_client

SNAPSHOT = json.loads((Path(__file__).parent / "semconv_snapshot" / "genai.json").read_text())
ATTRIBUTES: dict[str, Mapping[str, str]] = {
    **SNAPSHOT["attributes"],
    **SNAPSHOT["general_attributes"],
    **SNAPSHOT["not_upstream_attributes"],
}
METRICS: dict[str, Mapping[str, Any]] = {**SNAPSHOT["metrics"], **SNAPSHOT["ours"]["metrics"]}
OURS = SNAPSHOT["ours"]["prefix"]

CASSETTES = (
    (
        "Arize-ai+openinference/python/instrumentation/openinference-instrumentation-litellm/tests/"
        "cassettes/TestTokenCounts.test_anthropic.yaml",
        "anthropic",
    ),
    (
        "Arize-ai+openinference/js/packages/openinference-instrumentation-anthropic/test/cassettes/"
        "thinking-streaming.json",
        "anthropic",
    ),
    (
        "open-telemetry+opentelemetry-python-contrib/instrumentation-genai/opentelemetry-instrumentation-"
        "openai-v2/tests/cassettes/test_async_chat_completion_multiple_choices_streaming.yaml",
        "openai",
    ),
    (
        "open-telemetry+opentelemetry-python-contrib/instrumentation-genai/opentelemetry-instrumentation-"
        "openai-v2/tests/cassettes/test_responses_create_reports_reasoning_tokens[content_mode0].yaml",
        "openai",
    ),
)


class Emitted:
    """In-memory traces, metrics and logs of one run, and the instrumentation pointed at them."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer_provider.add_span_processor(LLMCostSpanProcessor(metrics=LLMMetrics(self.meter_provider)))
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.logs = InMemoryLogRecordExporter()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        self.events = GenAIEvents(self.logger_provider, details=True, exceptions=None)

    def metrics(self) -> list[Any]:
        data = self.reader.get_metrics_data()
        return [
            (scope.scope, metric)
            for resource in (data.resource_metrics if data else [])
            for scope in resource.scope_metrics
            for metric in scope.metrics
        ]


@pytest.fixture(params=["default", "latest"])
def emitted(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Emitted]]:
    if request.param == "latest":
        monkeypatch.setenv(SEMCONV_STABILITY_OPT_IN, "gen_ai_latest_experimental")
    else:
        monkeypatch.delenv(SEMCONV_STABILITY_OPT_IN, raising=False)
    semconv_latest.cache_clear()
    run = Emitted()
    kwargs = {"tracer_provider": run.tracer_provider, "meter_provider": run.meter_provider}
    OpenAIInstrumentor().instrument(capture_message_content=True, **kwargs)
    AnthropicInstrumentor().instrument(**kwargs)
    add_invocation_listener(run.events.record_call)
    try:
        _drive(run)
        yield request.param, run
    finally:
        remove_invocation_listener(run.events.record_call)
        OpenAIInstrumentor().uninstrument()
        AnthropicInstrumentor().uninstrument()
        semconv_latest.cache_clear()


def _drive(run: Emitted) -> None:
    """Every surface: both SDKs (streams, Responses, embeddings, a failure), steps, tools, a manual call."""
    providers = {"tracer_provider": run.tracer_provider, "meter_provider": run.meter_provider}
    workflow = agent_step("trip", operation="invoke_workflow", **providers)
    with workflow, agent_step("research", agent="researcher", **providers):
        for path, provider in CASSETTES:
            (interaction,) = load(path)
            with ReplayServer([interaction], prefix="" if provider == "anthropic" else "/v1") as srv:
                if provider == "anthropic":
                    call_anthropic(anthropic_client(srv), interaction)
                else:
                    call_openai(openai_client(srv), interaction)
        with agent_step("outline", operation="plan", **providers):
            _embeddings_and_a_failure()
        with (
            pytest.raises(ValueError),
            tool_call("search", call_id="call_1", tool_type="function", **providers),
        ):
            raise ValueError("no hits")
        _manual_call(run)


def _embeddings_and_a_failure() -> None:
    embedding, _ = find_recording(lambda e: e["api"] == "embeddings" and e["provider"] == "openai")
    refusal = json_response({"error": {"message": "slow down"}}, status=429)
    with ReplayServer([embedding, refusal]) as srv:
        sdk = openai_client(srv)
        sdk.embeddings.create(model="text-embedding-3-small", input="hello", dimensions=256)
        with pytest.raises(openai.RateLimitError):
            sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


def _manual_call(run: Emitted) -> None:
    # A model no price list knows: the unpriced-calls counter.
    body = {"id": "chatcmpl-1", "model": "no-such-model-xyz", "choices": [], "usage": {"prompt_tokens": 3}}
    with ReplayServer([json_response(body)]) as srv:
        url = srv.base_url + "/chat/completions"
        request = {"model": "no-such-model-xyz", "messages": [{"role": "user", "content": "hi"}]}
        with llm_call(url=url, request=request, tracer_provider=run.tracer_provider) as call:
            sent = urllib.request.Request(
                url, json.dumps(call.request).encode(), {"content-type": "application/json"}
            )
            with urllib.request.urlopen(sent) as response:
                call.set_usage(json.loads(response.read()))


# --- the checks ---------------------------------------------------------------------------------------


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, tuple | list) and value and all(isinstance(v, str) for v in value):
        return "string[]"
    return type(value).__name__


def _matches(declared: str, value: Any) -> bool:
    found = _type_of(value)
    return found == declared or (declared == "any" and found in ("string", "list", "dict", "tuple"))


def _check_attributes(where: str, attributes: Mapping[str, Any], problems: list[str]) -> None:
    for key, value in attributes.items():
        if key.startswith(OURS):
            continue
        declared = ATTRIBUTES.get(key)
        if declared is None:
            problems.append(f"{where}: {key} is not in the snapshot")
        elif not _matches(declared["type"], value):
            problems.append(f"{where}: {key} is {_type_of(value)}, the snapshot says {declared['type']}")


def _kind(metric: Any) -> str:
    data = metric.data
    if isinstance(data, Histogram):
        return "histogram"
    if isinstance(data, Sum):
        return "counter" if data.is_monotonic else "updowncounter"
    return type(data).__name__.lower()


def test_every_span_attribute_and_span_event_is_in_the_snapshot(emitted: tuple[str, Emitted]) -> None:
    _, run = emitted
    spans = run.spans.get_finished_spans()
    assert len(spans) >= 11  # both SDKs, embeddings, the failure, steps, tool, manual call
    problems: list[str] = []
    for span in spans:
        _check_attributes(f"span {span.name!r}", span.attributes or {}, problems)
        for event in span.events:
            _check_attributes(f"span {span.name!r} event {event.name!r}", event.attributes or {}, problems)
        assert span.instrumentation_scope.schema_url == SCHEMA_URL, span.instrumentation_scope
    assert problems == []
    names = {s.name for s in spans}
    assert {
        "invoke_agent researcher",
        "invoke_workflow trip",
        "plan researcher",
        "execute_tool search",
    } <= names


def test_every_metric_has_the_snapshots_instrument_and_unit(emitted: tuple[str, Emitted]) -> None:
    edition, run = emitted
    problems: list[str] = []
    seen: set[str] = set()
    for scope, metric in run.metrics():
        seen.add(metric.name)
        declared = METRICS.get(metric.name)
        if declared is None:
            problems.append(f"{metric.name} is not in the snapshot")
            continue
        found = (_kind(metric), metric.unit)
        if found != (declared["instrument"], declared["unit"]):
            problems.append(f"{metric.name} is {found}, the snapshot says {declared}")
        if edition not in declared["editions"]:
            problems.append(f"{metric.name} is not a metric of the {edition} edition")
        assert scope.schema_url == SCHEMA_URL, scope
        for point in metric.data.data_points:
            _check_attributes(f"metric {metric.name}", point.attributes, problems)
    assert problems == []
    expected = {name for name, found in METRICS.items() if edition in found["editions"]}
    assert seen == expected  # every name of the edition is driven, none of the other


def test_every_log_event_is_in_the_snapshot(emitted: tuple[str, Emitted]) -> None:
    edition, run = emitted
    problems: list[str] = []
    names = []
    for found in run.logs.get_finished_logs():
        record = found.log_record
        names.append(record.event_name)
        declared = SNAPSHOT["events"].get(record.event_name)
        if declared is None or edition not in declared["editions"]:
            problems.append(f"event {record.event_name} is not in the snapshot's {edition} edition")
        for key, value in (record.attributes or {}).items():
            if key in SNAPSHOT["attributes"] and SNAPSHOT["attributes"][key]["type"] == "any":
                continue  # structured on events
            _check_attributes(f"event {record.event_name}", {key: value}, problems)
        assert found.instrumentation_scope.schema_url == SCHEMA_URL
    assert problems == []
    assert "gen_ai.client.inference.operation.details" in names
    assert ("gen_ai.client.operation.exception" in names) is (edition == "latest")


def test_the_latest_editions_token_counters_add_up_to_the_spans(emitted: tuple[str, Emitted]) -> None:
    edition, run = emitted
    if edition != "latest":
        pytest.skip("the default edition's sums are checked in test_metrics.py")
    totals: dict[str, float] = {}
    for _, metric in run.metrics():
        if metric.name.startswith("gen_ai.client.inference.usage."):
            totals[metric.name] = sum(p.value for p in metric.data.data_points)
            assert all(p.attributes["gen_ai.token.modality"] == "unknown" for p in metric.data.data_points)
    spans = [s for s in run.spans.get_finished_spans() if s.attributes.get("gen_ai.operation.name") == "chat"]
    expected = {
        "input_tokens": "gen_ai.usage.input_tokens",
        "output_tokens": "gen_ai.usage.output_tokens",
        "cache_read.input_tokens": "gen_ai.usage.cache_read.input_tokens",
        "cache_write.input_tokens": "gen_ai.usage.cache_write.input_tokens",
        "reasoning.output_tokens": "gen_ai.usage.reasoning.output_tokens",
    }
    for suffix, attribute in expected.items():
        want = sum(s.attributes.get(attribute, 0) for s in spans)
        assert totals[f"gen_ai.client.inference.usage.{suffix}"] == want, suffix
