"""OpenTelemetry metrics of LLM calls and agent steps, exact whatever the trace sampler keeps.

Call metrics are recorded by an invocation listener
(:func:`~otel_llm_cost.instrumentation._invocation.add_invocation_listener`), which runs for every
instrumented call, its span sampled or not; a span processor would only see sampled spans. The phase
histogram is recorded by the cost span processor when a step span ends (steps are spans).

=============================================== ========= ==========================================
instrument                                      unit      what
=============================================== ========= ==========================================
``gen_ai.client.token.usage`` (histogram)       {token}   input and output tokens per call, by
                                                          ``gen_ai.token.type``
``gen_ai.client.operation.duration`` (hist.)    s         call duration
``gen_ai.client.operation.time_to_first_chunk`` s         streamed calls: time to the first content
``gen_ai.client.operation.time_per_output_chunk`` s       streamed calls: mean time per chunk after
                                                          the first (one observation per stream)
``llm_cost.client.cost`` (counter)              USD       cost of priced calls
``llm_cost.client.unpriced_calls`` (counter)    {call}    calls that could not be priced
``llm_cost.client.partial_calls`` (counter)     {call}    calls priced without a unit the data lacks
``llm_cost.client.token.cache_read`` (counter)  {token}   cache-read input tokens
``llm_cost.client.token.cache_write`` (counter) {token}   cache-write input tokens
``llm_cost.client.token.reasoning`` (counter)   {token}   reasoning output tokens
``llm_cost.step.phase.duration`` (histogram)    s         agent-step phases, by ``llm_cost.phase``
=============================================== ========= ==========================================

Agent steps and tool executions have metrics of their own (durations, outcomes, steps running now),
recorded by :func:`~otel_llm_cost.agent_step` / :func:`~otel_llm_cost.tool_call`: see
:mod:`otel_llm_cost._agent_metrics`.

Histograms use the GenAI conventions' advised bucket boundaries. Attributes come from a fixed set:
``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``, ``error.type``,
``gen_ai.agent.name`` and ``llm_cost.step.name`` (of the enclosing :func:`~otel_llm_cost.agent_step`),
and ``gen_ai.token.type`` / ``llm_cost.phase``. Nothing per user, session or prompt. Each attribute
keeps at most ``max_values`` distinct values; later new values are recorded as ``_other``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Generic, NamedTuple, TypeVar

from opentelemetry import metrics

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost._steps import current_step
from otel_llm_cost.instrumentation._invocation import (
    add_invocation_listener,
    error_type,
    remove_invocation_listener,
)
from otel_llm_cost.version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.pricing import Cost
    from otel_llm_cost.usage import Usage

__all__ = [
    "DURATION_BUCKETS",
    "OVERFLOW_VALUE",
    "TOKEN_BUCKETS",
    "LLMMetrics",
    "PrometheusEndpoint",
    "get_metrics",
    "install_metrics",
    "serve_prometheus",
    "uninstall_metrics",
]

# The GenAI conventions' advised boundaries, seconds (duration, time to first chunk, time per chunk).
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: Final = tuple(4**n for n in range(14))  # 1, 4, 16, ... 67108864, as the conventions advise
OVERFLOW_VALUE: Final = "_other"
_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"

TOKEN_USAGE: Final = "gen_ai.client.token.usage"
OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"
COST: Final = "llm_cost.client.cost"
UNPRICED_CALLS: Final = "llm_cost.client.unpriced_calls"
PARTIAL_CALLS: Final = "llm_cost.client.partial_calls"  # priced without a billed unit the data lacks (#17)
CACHE_READ_TOKENS: Final = "llm_cost.client.token.cache_read"
CACHE_WRITE_TOKENS: Final = "llm_cost.client.token.cache_write"
REASONING_TOKENS: Final = "llm_cost.client.token.reasoning"
PHASE_DURATION: Final = "llm_cost.step.phase.duration"


class _Cap:
    """At most ``limit`` distinct values per attribute key; later ones become ``_other``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, value: str) -> str:
        seen = self._seen.get(key)
        if seen is not None and value in seen:
            return value
        with self._lock:
            seen = self._seen.setdefault(key, set())
            if value in seen or len(seen) < self._limit:
                seen.add(value)
                return value
        log_once(
            f"metrics.cap.{key}", "metric attribute %s has %d values; more go to _other", key, self._limit
        )
        return OVERFLOW_VALUE


class LLMMetrics:
    """The instruments, made once from a meter, and the two recording entry points.

    Args:
        meter_provider: Where the metrics go; default the global provider.
        max_values: Most distinct values kept per attribute (model names, agent and step names...).
    """

    def __init__(self, meter_provider: MeterProvider | None = None, *, max_values: int = 100) -> None:
        meter = metrics.get_meter(__name__, __version__, meter_provider, schema_url=_SCHEMA_URL)
        seconds = {"unit": "s", "explicit_bucket_boundaries_advisory": DURATION_BUCKETS}
        self._token_usage = meter.create_histogram(
            TOKEN_USAGE,
            "{token}",
            "Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self._duration = meter.create_histogram(
            OPERATION_DURATION, description="GenAI operation duration.", **seconds
        )
        self._ttfc = meter.create_histogram(
            TIME_TO_FIRST_CHUNK,
            description="Time to receive the first chunk of a streamed response.",
            **seconds,
        )
        self._per_chunk = meter.create_histogram(
            TIME_PER_OUTPUT_CHUNK,
            description="Mean time per output chunk after the first, per stream.",
            **seconds,
        )
        self._cost = meter.create_counter(COST, "USD", "Cost of LLM calls, in US dollars.")
        self._unpriced = meter.create_counter(UNPRICED_CALLS, "{call}", "LLM calls that could not be priced.")
        self._partial = meter.create_counter(
            PARTIAL_CALLS, "{call}", "LLM calls priced without some billed unit the price data lacks."
        )
        self._cache_read = meter.create_counter(CACHE_READ_TOKENS, "{token}", "Input tokens read from cache.")
        self._cache_write = meter.create_counter(
            CACHE_WRITE_TOKENS, "{token}", "Input tokens written to cache."
        )
        self._reasoning = meter.create_counter(REASONING_TOKENS, "{token}", "Reasoning output tokens.")
        self._phase = meter.create_histogram(
            PHASE_DURATION, description="Time an agent step spent in each phase.", **seconds
        )
        self._cap = _Cap(max_values)
        self._installs = 0

    def record_call(
        self,
        invocation: LLMInvocation,
        usage: Usage | None,
        cost: Cost | None,
        error: BaseException | None,
    ) -> None:
        """Record one finished call (an invocation listener: never raises)."""
        try:
            self._record_call(invocation, usage, cost, error)
        except Exception:
            log_once("metrics.record_call", "otel-llm-cost could not record call metrics", exc_info=True)

    def record_phases(self, phases: Mapping[str, float], agent: str | None, step: str | None) -> None:
        """Record one ended step's phases, in seconds, keyed by phase name (never raises)."""
        try:
            base = self._names({}, agent, step)
            for phase, seconds in phases.items():
                self._phase.record(seconds, {**base, attr.LLM_COST_PHASE: phase})
        except Exception:
            log_once("metrics.record_phases", "otel-llm-cost could not record step phases", exc_info=True)

    def _record_call(
        self, invocation: LLMInvocation, usage: Usage | None, cost: Cost | None, error: BaseException | None
    ) -> None:
        labels = self._labels(invocation, error)
        start, end, first = invocation.start_ns, invocation.end_ns, invocation.first_chunk_ns
        if end is not None:
            self._duration.record(max(end - start, 0) / 1e9, labels)
        if first is not None:
            self._ttfc.record(max(first - start, 0) / 1e9, labels)
            chunks = invocation.output_chunks
            if end is not None and chunks is not None and chunks > 1:
                self._per_chunk.record(max(end - first, 0) / 1e9 / (chunks - 1), labels)
        if usage is None:
            return
        self._token_usage.record(usage.input_tokens, {**labels, attr.GEN_AI_TOKEN_TYPE: "input"})
        self._token_usage.record(usage.output_tokens, {**labels, attr.GEN_AI_TOKEN_TYPE: "output"})
        for counter, count in (
            (self._cache_read, usage.cache_read_tokens),
            (self._cache_write, usage.cache_write_tokens),
            (self._reasoning, usage.reasoning_tokens),
        ):
            if count:
                counter.add(count, labels)
        if cost is None:  # a failed call on an unsampled span is not priced by the invocation
            cost = _price(invocation, usage)
        if cost.amount is not None and cost.status != attr.COST_UNPRICED:
            self._cost.add(float(cost.amount), labels)
            if cost.status == attr.COST_PARTIAL:
                self._partial.add(1, labels)
        else:
            self._unpriced.add(1, labels)

    def _labels(self, invocation: LLMInvocation, error: BaseException | None) -> dict[str, Any]:
        cap = self._cap
        labels: dict[str, Any] = {
            attr.GEN_AI_OPERATION_NAME: cap(attr.GEN_AI_OPERATION_NAME, invocation.operation),
            attr.GEN_AI_PROVIDER_NAME: cap(attr.GEN_AI_PROVIDER_NAME, invocation.provider),
        }
        if invocation.request_model:
            labels[attr.GEN_AI_REQUEST_MODEL] = cap(attr.GEN_AI_REQUEST_MODEL, invocation.request_model)
        if error is not None:
            labels[attr.ERROR_TYPE] = cap(attr.ERROR_TYPE, error_type(error))
        agent, step = current_step()
        return self._names(labels, agent, step)

    def _names(self, labels: dict[str, Any], agent: str | None, step: str | None) -> dict[str, Any]:
        if agent:
            labels[attr.GEN_AI_AGENT_NAME] = self._cap(attr.GEN_AI_AGENT_NAME, agent)
        if step:
            labels[attr.LLM_COST_STEP_NAME] = self._cap(attr.LLM_COST_STEP_NAME, step)
        return labels


def _price(invocation: LLMInvocation, usage: Usage) -> Cost:
    from otel_llm_cost.pricing import get_pricer

    return get_pricer().price(usage, invocation.request_model, invocation.provider)


_lock = threading.Lock()
_Instruments = TypeVar("_Instruments")


class PerMeterProvider(Generic[_Instruments]):
    """One set of instruments per meter provider (``None``: the global one), made on first use.

    Instruments are made once per provider, not per call; providers are held weakly.
    """

    def __init__(self, make: Callable[[MeterProvider | None], _Instruments]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._by_provider: weakref.WeakKeyDictionary[Any, _Instruments] = weakref.WeakKeyDictionary()
        self._for_global: list[_Instruments] = []

    def get(self, meter_provider: MeterProvider | None) -> _Instruments:
        found = self._for_global[0] if meter_provider is None and self._for_global else None
        if found is None and meter_provider is not None:
            found = self._by_provider.get(meter_provider)
        if found is not None:
            return found
        with self._lock:
            if meter_provider is None:
                if not self._for_global:
                    self._for_global.append(self._make(None))
                return self._for_global[0]
            found = self._by_provider.get(meter_provider)
            if found is None:
                found = self._by_provider[meter_provider] = self._make(meter_provider)
            return found


_llm_metrics: PerMeterProvider[LLMMetrics] = PerMeterProvider(LLMMetrics)


def get_metrics(meter_provider: MeterProvider | None = None) -> LLMMetrics:
    """The one :class:`LLMMetrics` of ``meter_provider`` (the global provider when ``None``)."""
    return _llm_metrics.get(meter_provider)


def install_metrics(meter_provider: MeterProvider | None = None) -> LLMMetrics:
    """Record every instrumented call into ``meter_provider``'s metrics (counted: see uninstall)."""
    found = get_metrics(meter_provider)
    with _lock:
        found._installs += 1
        if found._installs == 1:
            add_invocation_listener(found.record_call)
    return found


def uninstall_metrics(installed: LLMMetrics) -> None:
    """Undo one :func:`install_metrics` (given what it returned); recording stops when all are undone."""
    with _lock:
        if installed._installs == 0:
            return
        installed._installs -= 1
        if installed._installs == 0:
            remove_invocation_listener(installed.record_call)


class PrometheusEndpoint(NamedTuple):
    """A meter provider whose metrics are served at ``http://{host}:{port}/metrics``."""

    meter_provider: MeterProvider
    host: str
    port: int
    server: Any

    def shutdown(self) -> None:
        """Stop serving and shut the meter provider down."""
        self.server.shutdown()
        self.server.server_close()
        self.meter_provider.shutdown()  # type: ignore[attr-defined]


def serve_prometheus(port: int = 9464, host: str = "127.0.0.1") -> PrometheusEndpoint:
    """Serve a new SDK meter provider's metrics for Prometheus to scrape (needs the ``prometheus`` extra).

    The endpoint has its own registry, so several may run in one process. Under
    ``opentelemetry-instrument``, ``OTEL_METRICS_EXPORTER=prometheus`` does the same for the global
    provider instead.

    Args:
        port: Port to listen on; 0 picks a free one (read it back from the result).
        host: Address to bind; loopback by default.
    """
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    reader = PrometheusMetricReader(registry=registry)
    server, _thread = start_http_server(port, host, registry=registry)
    provider = SDKMeterProvider(metric_readers=[reader])
    return PrometheusEndpoint(provider, host, int(server.server_address[1]), server)
