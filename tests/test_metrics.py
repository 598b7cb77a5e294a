"""Metrics: names, units, buckets and attributes; the cardinality cap; exact sums when traces are dropped.

Recorded calls are replayed through the real openai and anthropic SDKs; the expected figures come from the
spans of the same calls made with every trace sampled.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, TraceIdRatioBased

import otel_llm_cost
from otel_llm_cost import LLMCostSpanProcessor, agent_step
from otel_llm_cost import attributes as attr
from otel_llm_cost import metrics as m
from otel_llm_cost._calls import listeners_after_end as _listeners
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.usage import Usage
from replay import load
from sdk_calls import anthropic_client, call_anthropic, call_openai, openai_client

# (recording, provider): cache reads and writes, reasoning tokens, streams with usage, both SDKs.
RECORDINGS = [
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
    (
        "Arize-ai+openinference/python/instrumentation/openinference-instrumentation-langchain/tests/"
        "cassettes/test_instrumentor/test_token_counts.yaml",
        "openai",
    ),
]
STREAMED = 2
CALL_KEYS = {
    attr.GEN_AI_OPERATION_NAME,
    attr.GEN_AI_PROVIDER_NAME,
    attr.GEN_AI_REQUEST_MODEL,
    attr.GEN_AI_RESPONSE_MODEL,
    attr.SERVER_ADDRESS,
    attr.SERVER_PORT,
    attr.ERROR_TYPE,
    attr.GEN_AI_AGENT_NAME,
    attr.LLM_COST_STEP_NAME,
}


class Run:
    """Instrumented SDKs on an in-memory tracer provider (with ``sampler``) and meter provider."""

    def __init__(self, sampler: Sampler) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(sampler=sampler)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def replay_all(self, replay_server: Any) -> None:
        for path, provider in RECORDINGS:
            (interaction,) = load(path)
            with replay_server([interaction], prefix="" if provider == "anthropic" else "/v1") as srv:
                if provider == "anthropic":
                    call_anthropic(anthropic_client(srv), interaction)
                else:
                    call_openai(openai_client(srv), interaction)

    def points(self, name: str) -> list[Any]:
        return [
            point for metric in self.metrics() if metric.name == name for point in metric.data.data_points
        ]

    def metrics(self) -> list[Any]:
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            metric
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        ]

    def total(self, name: str, **attributes: str) -> float:
        total = 0.0
        for point in self.points(name):
            if attributes.items() <= dict(point.attributes).items():
                total += point.sum if isinstance(point, HistogramDataPoint) else point.value
        return total


@pytest.fixture
def instrumented() -> Iterator[list[Run]]:
    runs: list[Run] = []
    yield runs
    OpenAIInstrumentor().uninstrument()
    AnthropicInstrumentor().uninstrument()


def instrument(runs: list[Run], sampler: Sampler) -> Run:
    run = Run(sampler)
    runs.append(run)
    for instrumentor in (OpenAIInstrumentor(), AnthropicInstrumentor()):
        instrumentor.uninstrument()
        instrumentor.instrument(tracer_provider=run.tracer_provider, meter_provider=run.meter_provider)
    return run


def span_totals(spans: list[ReadableSpan]) -> dict[str, float]:
    totals = dict.fromkeys(
        ("input", "output", "cache_read", "cache_write", "reasoning", "cost", "unpriced"), 0.0
    )
    names = {
        "input": attr.GEN_AI_USAGE_INPUT_TOKENS,
        "output": attr.GEN_AI_USAGE_OUTPUT_TOKENS,
        "cache_read": attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        "cache_write": attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
        "reasoning": attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    }
    for span in spans:
        for key, name in names.items():
            totals[key] += span.attributes.get(name, 0)
        amount = span.attributes.get(attr.GEN_AI_USAGE_COST_AMOUNT)
        if amount is None:
            totals["unpriced"] += 1
        else:
            totals["cost"] += float(Decimal(str(amount)))
    return totals


def metric_totals(run: Run) -> dict[str, float]:
    return {
        "input": run.total(m.TOKEN_USAGE, **{attr.GEN_AI_TOKEN_TYPE: "input"}),
        "output": run.total(m.TOKEN_USAGE, **{attr.GEN_AI_TOKEN_TYPE: "output"}),
        "cache_read": run.total(m.CACHE_READ_TOKENS),
        "cache_write": run.total(m.CACHE_WRITE_TOKENS),
        "reasoning": run.total(m.REASONING_TOKENS),
        "cost": run.total(m.COST),
        "unpriced": run.total(m.UNPRICED_CALLS),
    }


@pytest.mark.parametrize("sampler", [ALWAYS_OFF, TraceIdRatioBased(0)], ids=["always_off", "ratio_0"])
def test_token_and_cost_metrics_are_exact_when_every_trace_is_dropped(replay_server, instrumented, sampler):
    sampled = instrument(instrumented, ALWAYS_ON)
    sampled.replay_all(replay_server)
    expected = span_totals(sampled.exporter.get_finished_spans())
    assert len(sampled.exporter.get_finished_spans()) == len(RECORDINGS)
    assert expected["cache_read"] > 0 and expected["cache_write"] > 0 and expected["reasoning"] > 0
    assert expected["cost"] > 0
    assert metric_totals(sampled) == pytest.approx(expected, rel=1e-12)

    dropped = instrument(instrumented, sampler)
    dropped.replay_all(replay_server)
    assert dropped.exporter.get_finished_spans() == ()
    assert metric_totals(dropped) == pytest.approx(expected, rel=1e-12)
    durations = dropped.points(m.OPERATION_DURATION)
    assert sum(point.count for point in durations) == len(RECORDINGS)
    assert sum(point.count for point in dropped.points(m.TIME_TO_FIRST_CHUNK)) == STREAMED


def test_names_units_buckets_and_attribute_sets(replay_server, instrumented):
    run = instrument(instrumented, ALWAYS_ON)
    run.replay_all(replay_server)
    found = {metric.name: metric for metric in run.metrics()}
    units = {
        m.TOKEN_USAGE: "{token}",
        m.OPERATION_DURATION: "s",
        m.TIME_TO_FIRST_CHUNK: "s",
        m.TIME_PER_OUTPUT_CHUNK: "s",
        m.COST: "USD",
        m.CACHE_READ_TOKENS: "{token}",
        m.CACHE_WRITE_TOKENS: "{token}",
        m.REASONING_TOKENS: "{token}",
    }
    assert {name: found[name].unit for name in units} == units
    assert m.TOKEN_BUCKETS == (
        1,
        4,
        16,
        64,
        256,
        1024,
        4096,
        16384,
        65536,
        262144,
        1048576,
        4194304,
        16777216,
        67108864,
    )
    for name in (m.OPERATION_DURATION, m.TIME_TO_FIRST_CHUNK, m.TIME_PER_OUTPUT_CHUNK):
        assert all(tuple(p.explicit_bounds) == m.DURATION_BUCKETS for p in run.points(name))
    assert all(tuple(p.explicit_bounds) == m.TOKEN_BUCKETS for p in run.points(m.TOKEN_USAGE))
    for metric in run.metrics():
        for point in metric.data.data_points:
            keys = set(point.attributes)
            allowed = CALL_KEYS | ({attr.GEN_AI_TOKEN_TYPE} if metric.name == m.TOKEN_USAGE else set())
            assert keys <= allowed, (metric.name, keys)
            assert {attr.GEN_AI_OPERATION_NAME, attr.GEN_AI_PROVIDER_NAME, attr.GEN_AI_REQUEST_MODEL} <= keys
    models = {p.attributes[attr.GEN_AI_REQUEST_MODEL] for p in run.points(m.OPERATION_DURATION)}
    assert "claude-3-5-haiku-20241022" in models
    assert {p.attributes[attr.GEN_AI_TOKEN_TYPE] for p in run.points(m.TOKEN_USAGE)} == {"input", "output"}
    per_chunk = run.points(m.TIME_PER_OUTPUT_CHUNK)
    assert sum(p.count for p in per_chunk) > STREAMED  # one observation per chunk after the first
    for point in run.points(m.OPERATION_DURATION):  # where the call went, and which model answered
        assert point.attributes[attr.SERVER_ADDRESS] == "127.0.0.1"
        assert isinstance(point.attributes[attr.SERVER_PORT], int)


def fake_call(model: str, **fields: Any) -> SimpleNamespace:
    values = {
        "operation": "chat",
        "provider": "openai",
        "request_model": model,
        "start_ns": 0,
        "end_ns": 2_000_000_000,
        "first_chunk_ns": None,
        "output_chunks": None,
        "chunk_ns": None,
        "response_model": None,
        "server_address": None,
        "server_port": None,
        **fields,
    }
    return SimpleNamespace(**values)


def in_memory() -> Run:
    return Run(ALWAYS_ON)


def test_the_cardinality_cap_folds_new_values_into_other():
    run = in_memory()
    metrics = m.LLMMetrics(run.meter_provider, max_values=2)
    for model in ("m1", "m2", "m3", "m4", "m1"):
        metrics.record_call(fake_call(model), Usage(10, 1), None, None)
    models = {p.attributes[attr.GEN_AI_REQUEST_MODEL]: p.count for p in run.points(m.OPERATION_DURATION)}
    assert models == {"m1": 2, "m2": 1, m.OVERFLOW_VALUE: 2}
    assert run.total(m.TOKEN_USAGE, **{attr.GEN_AI_TOKEN_TYPE: "input"}) == 50  # nothing lost, only folded


def test_stream_timing_errors_unpriced_calls_and_step_names():
    run = in_memory()
    metrics = m.LLMMetrics(run.meter_provider)
    arrivals = [500_000_000 + n * 100_000_000 for n in range(1, 11)]  # 10 chunks after the first, 0.1 s apart
    streamed = fake_call(
        "gpt-4o", first_chunk_ns=500_000_000, end_ns=1_500_000_000, output_chunks=11, chunk_ns=arrivals
    )
    with agent_step("answer", agent="bot"):
        metrics.record_call(streamed, Usage(100, 10), None, None)
    metrics.record_call(fake_call("no-such-model-xyz"), Usage(5, 5), None, None)
    metrics.record_call(fake_call("gpt-4o"), None, None, TimeoutError("slow"))
    (ttfc,) = run.points(m.TIME_TO_FIRST_CHUNK)
    assert ttfc.sum == pytest.approx(0.5)
    assert dict(ttfc.attributes) == {
        attr.GEN_AI_OPERATION_NAME: "chat",
        attr.GEN_AI_PROVIDER_NAME: "openai",
        attr.GEN_AI_REQUEST_MODEL: "gpt-4o",
        attr.GEN_AI_AGENT_NAME: "bot",
        attr.LLM_COST_STEP_NAME: "answer",
    }
    (per_chunk,) = run.points(m.TIME_PER_OUTPUT_CHUNK)
    assert per_chunk.count == 10  # one observation per chunk after the first
    assert per_chunk.sum == pytest.approx(1.0)
    assert per_chunk.min == pytest.approx(0.1) and per_chunk.max == pytest.approx(0.1)
    assert run.total(m.COST, **{attr.GEN_AI_REQUEST_MODEL: "gpt-4o"}) > 0
    assert run.total(m.UNPRICED_CALLS) == 1
    errors = [p for p in run.points(m.OPERATION_DURATION) if attr.ERROR_TYPE in p.attributes]
    assert [p.attributes[attr.ERROR_TYPE] for p in errors] == ["TimeoutError"]


@pytest.mark.parametrize("latest", [False, True], ids=["default edition", "latest edition"])
def test_shared_label_sets_keep_a_failed_calls_error_type_to_that_call(latest):
    run = in_memory()
    metrics = m.LLMMetrics(run.meter_provider, latest=latest)
    metrics.record_call(fake_call("gpt-4o"), Usage(7, 3), None, TimeoutError("slow"))
    metrics.record_call(fake_call("gpt-4o"), Usage(1, 1), None, None)  # same label set, no error
    metrics.record_call(fake_call("gpt-4o"), Usage(1, 1), None, None)
    if latest:
        points = run.points("gen_ai.client.inference.operation.input_tokens")
        assert {p.attributes.get(attr.ERROR_TYPE): p.sum for p in points} == {"TimeoutError": 7, None: 2}
    else:
        points = run.points(m.TOKEN_USAGE)
        sums = {
            (p.attributes.get(attr.ERROR_TYPE), p.attributes[attr.GEN_AI_TOKEN_TYPE]): p.sum for p in points
        }
        assert sums == {
            ("TimeoutError", "input"): 7,
            ("TimeoutError", "output"): 3,
            (None, "input"): 2,
            (None, "output"): 2,
        }


def test_the_phase_histogram_is_recorded_by_the_processor():
    run = in_memory()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(LLMCostSpanProcessor(metrics=m.LLMMetrics(run.meter_provider)))
    tracer = tracer_provider.get_tracer("test")
    step = tracer.start_span(
        "invoke_agent plan",
        start_time=0,
        attributes={
            attr.LLM_COST_SPAN_TYPE: "agent_step",
            attr.GEN_AI_AGENT_NAME: "bot",
            "llm_cost.step.name": "plan",
        },
    )
    step.end(end_time=3_000_000_000)
    points = {p.attributes[attr.LLM_COST_PHASE]: p for p in run.points(m.PHASE_DURATION)}
    assert set(points) == {"pre_processing", "time_to_first_token", "generation", "tool", "post_processing"}
    assert points["pre_processing"].sum == pytest.approx(3.0)
    assert dict(points["tool"].attributes) == {
        attr.LLM_COST_PHASE: "tool",
        attr.GEN_AI_AGENT_NAME: "bot",
        attr.LLM_COST_STEP_NAME: "plan",
    }
    assert tuple(points["tool"].explicit_bounds) == m.DURATION_BUCKETS
    assert all(isinstance(p, HistogramDataPoint) for p in points.values())


def test_install_is_counted_and_uninstall_stops_recording():
    run = in_memory()
    installed = m.install_metrics(run.meter_provider)
    assert m.install_metrics(run.meter_provider) is installed
    m.uninstall_metrics(installed)
    assert _listeners.count(installed.record_call) == 1
    m.uninstall_metrics(installed)
    assert installed.record_call not in _listeners
    m.uninstall_metrics(installed)  # more uninstalls than installs: harmless
    assert installed.record_call not in _listeners


def test_configure_wires_metrics_into_the_instrumentors_and_the_processor(replay_server, instrumented):
    run = Run(ALWAYS_OFF)
    OpenAIInstrumentor().uninstrument()
    AnthropicInstrumentor().uninstrument()
    installed = otel_llm_cost.configure(
        tracer_provider=run.tracer_provider, meter_provider=run.meter_provider
    )
    # google-genai's async client over aiohttp has its own instrumentor, installed where aiohttp is.
    genai = {"GoogleGenAIInstrumentor"} if importlib.util.find_spec("aiohttp") else set()
    assert {type(i).__name__ for i in installed} == {
        "OpenAIInstrumentor",
        "AnthropicInstrumentor",
        "BotocoreInstrumentor",
        "WireInstrumentor",
        *genai,
    }
    run.replay_all(replay_server)
    assert sum(point.count for point in run.points(m.OPERATION_DURATION)) == len(RECORDINGS)
    processor = otel_llm_cost.install_processor(run.tracer_provider)
    assert processor is not None and processor.metrics is m.get_metrics(run.meter_provider)
    for instrumentor in installed:
        instrumentor.uninstrument()
    assert m.get_metrics(run.meter_provider).record_call not in _listeners


def test_configure_refuses_a_meter_provider_and_a_prometheus_port_together():
    with pytest.raises(otel_llm_cost.errors.ConfigurationError, match="not both"):
        otel_llm_cost.configure(TracerProvider(), MeterProvider(), prometheus_port=0)


def test_counters_are_sums_and_not_histograms(replay_server, instrumented):
    run = instrument(instrumented, ALWAYS_ON)
    run.replay_all(replay_server)
    for name in (m.COST, m.CACHE_READ_TOKENS, m.CACHE_WRITE_TOKENS, m.REASONING_TOKENS):
        assert run.points(name) and all(isinstance(p, NumberDataPoint) for p in run.points(name))


_GLOBAL_PROVIDER_SET_LATER = """
from types import SimpleNamespace
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from otel_llm_cost import metrics as m
from otel_llm_cost.usage import Usage

call = SimpleNamespace(
    operation="chat", provider="openai", request_model="gpt-4o", start_ns=0, end_ns=10**9,
    first_chunk_ns=None, output_chunks=None, chunk_ns=None, response_model=None,
    server_address=None, server_port=None,
)
recorder = m.LLMMetrics()  # on the global provider, not set yet: proxies that drop everything
recorder.record_call(call, Usage(7, 1), None, None)
print(len(recorder._label_sets))
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
recorder.record_call(call, Usage(100, 10), None, None)
points = [
    point
    for resource in reader.get_metrics_data().resource_metrics
    for scope in resource.scope_metrics
    for metric in scope.metrics
    if metric.name == m.TOKEN_USAGE
    for point in metric.data.data_points
]
print(sorted(point.sum for point in points))
"""


def test_calls_are_recorded_once_a_global_meter_provider_is_set_after_the_instruments_were_made():
    # Until a provider is set, the global meter's instruments drop every measurement and the call's
    # labels are not even built (#20); the first call after it is recorded in full. In a fresh process:
    # the global meter provider can be set once.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _GLOBAL_PROVIDER_SET_LATER], capture_output=True, text=True, check=True
    )
    skipped, recorded = done.stdout.split("\n")[:2]
    assert skipped == "0"  # no label set built for the proxies
    assert recorded == "[10, 100]"  # output and input tokens of the second call only


def test_a_no_op_meter_provider_records_nothing_and_raises_nothing():
    from opentelemetry.metrics import NoOpMeterProvider

    recorder = m.LLMMetrics(NoOpMeterProvider())
    recorder.record_call(fake_call("gpt-4o"), Usage(10, 1), None, None)
    recorder.record_call(fake_call("gpt-4o"), None, None, TimeoutError("slow"))
    assert recorder._label_sets == {}  # no label set built for instruments that drop everything
