"""Collector down: instrumented calls do not wait for the exporter, and memory stays bounded.

A ``BatchSpanProcessor`` exports by OTLP (HTTP and gRPC) to a port that refuses connections, and to one that
accepts but never answers. Checked by structure, not by timing:

- every ``export()`` runs on the processor's worker thread, never on a calling thread;
- against the black hole, hundreds of calls complete while the first export is still stuck in flight
  (its timeout is far longer than the whole test), so no call waited for it;
- the queue bound holds: spans produced = handed to the exporter + queued + dropped, the queue never exceeds
  its size, the overflow is counted as dropped (the SDK's own ``otel.sdk.processor.span.processed``
  metric, ``error.type=queue_full``), and dropped spans are garbage: the live span count stays within
  the queue size plus the batches being exported.

A generous per-call bound (far below the exporter's timeout) backs that up.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from reliability_endpoints import BlackHole, refused_port
from reliability_loopback import OPENAI_MODEL, UsageEchoServer

from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor

EXPORT_TIMEOUT_S = 60  # the exporter's documented bound per export; far longer than the test
QUEUE = 64
BATCH = 16
CALLS = 400
CALL_BOUND_S = 5.0  # generous: a call on this loopback takes milliseconds
WORKER = "OtelBatchSpanRecordProcessor"


class WatchedExporter(SpanExporter):
    """Delegates to a real OTLP exporter; notes which threads export, and what is in flight."""

    def __init__(self, real: SpanExporter) -> None:
        self.real = real
        self.threads: set[str] = set()
        self.handed = 0
        self.in_flight = 0
        self.started = threading.Event()
        self._lock = threading.Lock()
        self._shut = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self.threads.add(threading.current_thread().name)
            self.handed += len(spans)
            self.in_flight += 1
        self.started.set()
        try:
            return self.real.export(spans)
        finally:
            with self._lock:
                self.in_flight -= 1

    def shutdown(self) -> None:
        with self._lock:
            if self._shut:
                return
            self._shut = True
        self.real.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class LiveSpans(SpanProcessor):
    """Keeps a weak reference to every ended span: how many are still alive is what memory holds."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[ReadableSpan]] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.refs.append(weakref.ref(span))

    def alive(self) -> int:
        gc.collect()
        return sum(ref() is not None for ref in self.refs)


def http_exporter(port: int) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", timeout=EXPORT_TIMEOUT_S)


def grpc_exporter(port: int) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=EXPORT_TIMEOUT_S)


EXPORTERS: dict[str, Callable[[int], SpanExporter]] = {"http": http_exporter, "grpc": grpc_exporter}


def processed(reader: InMemoryMetricReader) -> dict[str | None, int]:
    """The SDK's ``otel.sdk.processor.span.processed`` counts by ``error.type`` (``None``: handed on)."""
    counts: dict[str | None, int] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "otel.sdk.processor.span.processed":
                    for point in metric.data.data_points:
                        key = point.attributes.get("error.type")
                        counts[key] = counts.get(key, 0) + point.value
    return counts


class Pipeline:
    """An instrumented OpenAI client whose spans go through a batch processor to ``exporter``."""

    def __init__(self, exporter: SpanExporter, base_url: str) -> None:
        self.reader = InMemoryMetricReader()
        self.watched = WatchedExporter(exporter)
        self.live = LiveSpans()
        self.processor = BatchSpanProcessor(
            self.watched,
            max_queue_size=QUEUE,
            max_export_batch_size=BATCH,
            schedule_delay_millis=50,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
        )
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.live)
        self.provider.add_span_processor(self.processor)
        self.instrumentor = OpenAIInstrumentor()
        self.instrumentor.instrument(tracer_provider=self.provider)
        self.client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=120)
        self.produced = 0

    def call(self, key: int) -> float:
        """One instrumented call; returns its duration in seconds."""
        start = time.monotonic()
        reply = self.client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=key
        )
        elapsed = time.monotonic() - start
        assert reply.usage is not None and reply.usage.completion_tokens == key
        self.produced += 1
        return elapsed

    def close(self) -> None:
        """Shut down without waiting out the exporter's retries: the exporter first (it interrupts its
        backoff and refuses further batches at once), then the processor, which drains its queue."""
        self.instrumentor.uninstrument()
        self.client.close()
        self.watched.shutdown()
        self.processor.shutdown()
        assert self.watched.in_flight == 0, "an export outlived the processor's shutdown"


@pytest.fixture(autouse=True)
def sdk_metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # The batch processor counts dropped spans only with its internal metrics on (read at construction).
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")


@pytest.fixture(scope="module")
def llm() -> Iterator[UsageEchoServer]:
    with UsageEchoServer() as server:
        yield server


def run_calls(pipeline: Pipeline) -> list[float]:
    durations = [pipeline.call(1)]
    assert pipeline.watched.started.wait(30), "the batch processor never started an export"
    durations += [pipeline.call(key) for key in range(2, CALLS + 1)]
    return durations


def check_bounded(pipeline: Pipeline, durations: list[float]) -> None:
    assert pipeline.watched.threads == {WORKER}, pipeline.watched.threads
    assert max(durations) < CALL_BOUND_S, max(durations)
    # Held: the queue, the batch in the exporter, the batch being popped for the next export.
    assert pipeline.live.alive() <= QUEUE + 2 * BATCH + 1


@pytest.mark.parametrize("protocol", sorted(EXPORTERS))
def test_black_hole_collector(protocol: str, llm: UsageEchoServer) -> None:
    with BlackHole() as hole:
        pipeline = Pipeline(EXPORTERS[protocol](hole.port), llm.openai_base_url)
        try:
            durations = run_calls(pipeline)
            # Every call above finished while the first export was stuck: none of them waited for it.
            assert pipeline.watched.in_flight == 1
            stuck = pipeline.watched.handed
            check_bounded(pipeline, durations)
            counts = processed(pipeline.reader)
            assert counts.get("queue_full") == pipeline.produced - QUEUE - stuck, counts
            assert counts.get(None) == stuck, counts
            assert hole.accepted >= 1
        finally:
            hole.close()  # the stuck export fails at once, so shutdown does not wait for its timeout
            pipeline.close()


@pytest.mark.parametrize("protocol", sorted(EXPORTERS))
def test_refusing_collector(protocol: str, llm: UsageEchoServer) -> None:
    pipeline = Pipeline(EXPORTERS[protocol](refused_port()), llm.openai_base_url)
    try:
        durations = run_calls(pipeline)
        check_bounded(pipeline, durations)
    finally:
        pipeline.close()
    counts = processed(pipeline.reader)
    assert counts.get("queue_full", 0) > 0, "the queue never overflowed: the test proves nothing"
    assert sum(counts.values()) == pipeline.produced, counts
    assert counts.get(None) == pipeline.watched.handed, counts
