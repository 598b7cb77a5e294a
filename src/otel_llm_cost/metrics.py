"""OpenTelemetry metrics of LLM calls and agent steps, exact whatever the trace sampler keeps.

Call metrics are recorded by an invocation listener
(:func:`~otel_llm_cost._calls.add_invocation_listener`), which runs for every
instrumented call, its span sampled or not; a span processor would only see sampled spans. The phase
histogram is recorded by the cost span processor when a step span ends (steps are spans).

The GenAI instruments come in two editions, chosen once per process by
``OTEL_SEMCONV_STABILITY_OPT_IN`` (``gen_ai_latest_experimental``: the newest conventions; default: the
names the official Python GenAI instrumentations emit today): see :mod:`otel_llm_cost._call_metrics`.
Ours are the same in both:

=============================================== ========= ==========================================
instrument                                      unit      what
=============================================== ========= ==========================================
``llm_cost.client.cost`` (counter)              USD       cost of priced calls
``llm_cost.client.unpriced_calls`` (counter)    {call}    calls that could not be priced
``llm_cost.client.partial_calls`` (counter)     {call}    calls priced without a unit the data lacks
``llm_cost.step.phase.duration`` (histogram)    s         agent-step phases, by ``llm_cost.phase``
=============================================== ========= ==========================================

Agent steps and tool executions have metrics of their own (durations, outcomes, steps running now),
recorded by :func:`~otel_llm_cost.agent_step` / :func:`~otel_llm_cost.tool_call`: see
:mod:`otel_llm_cost._agent_metrics`.

Histograms use the GenAI conventions' advised bucket boundaries. Attributes come from a fixed set:
``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``server.address``, ``server.port``, ``error.type``, ``gen_ai.agent.name`` and ``llm_cost.step.name`` (of
the enclosing :func:`~otel_llm_cost.agent_step`), and ``gen_ai.token.type`` / ``gen_ai.token.modality`` /
``llm_cost.phase``. Nothing per user, session or prompt. Each attribute keeps at most ``max_values``
distinct values; later new values are recorded as ``_other``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Generic, NamedTuple, TypeVar

from opentelemetry import metrics
from opentelemetry.metrics import NoOpMeter

from otel_llm_cost import attributes as attr
from otel_llm_cost._call_metrics import (  # the default edition's names, re-exported
    CACHE_READ_TOKENS,
    CACHE_WRITE_TOKENS,
    DURATION_BUCKETS,
    OPERATION_DURATION,
    REASONING_TOKENS,
    TIME_PER_OUTPUT_CHUNK,
    TIME_TO_FIRST_CHUNK,
    TOKEN_BUCKETS,
    TOKEN_USAGE,
    DefaultEdition,
    LabelSet,
    LatestEdition,
)
from otel_llm_cost._calls import Subscription
from otel_llm_cost._config import SCHEMA_URL, semconv_latest
from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import log_once
from otel_llm_cost._provider_cache import ProviderCache
from otel_llm_cost._steps import current_step
from otel_llm_cost.instrumentation._invocation import error_type
from otel_llm_cost.version import __version__

try:  # the API's proxy counter, whose backing instrument is set when a meter provider is
    from opentelemetry.metrics._internal.instrument import _ProxyCounter
except ImportError:  # pragma: no cover - an API without it: every call is recorded
    _ProxyCounter = None  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.pricing import Cost
    from otel_llm_cost.usage import Usage

__all__ = [
    "CACHE_READ_TOKENS",
    "CACHE_WRITE_TOKENS",
    "DURATION_BUCKETS",
    "OPERATION_DURATION",
    "OVERFLOW_VALUE",
    "REASONING_TOKENS",
    "TIME_PER_OUTPUT_CHUNK",
    "TIME_TO_FIRST_CHUNK",
    "TOKEN_BUCKETS",
    "TOKEN_USAGE",
    "LLMMetrics",
    "PrometheusEndpoint",
    "get_metrics",
    "install_metrics",
    "serve_prometheus",
    "uninstall_metrics",
]

OVERFLOW_VALUE: Final = "_other"
_SCHEMA_URL: Final = SCHEMA_URL  # kept for importers of the old private name

COST: Final = "llm_cost.client.cost"
UNPRICED_CALLS: Final = "llm_cost.client.unpriced_calls"
PARTIAL_CALLS: Final = "llm_cost.client.partial_calls"  # priced without a billed unit the data lacks (#17)
PHASE_DURATION: Final = "llm_cost.step.phase.duration"


_LABEL_SETS = 4096  # most label sets kept ready (see LLMMetrics._labels)


class _Cap:
    """At most ``limit`` distinct values per attribute key; later ones become ``_other``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")

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

    def __init__(
        self,
        meter_provider: MeterProvider | None = None,
        *,
        max_values: int = 100,
        latest: bool | None = None,
    ) -> None:
        meter = metrics.get_meter(__name__, __version__, meter_provider, schema_url=SCHEMA_URL)
        self.latest = semconv_latest() if latest is None else latest
        self._edition = LatestEdition(meter) if self.latest else DefaultEdition(meter)
        self._cost = meter.create_counter(COST, "USD", "Cost of LLM calls, in US dollars.")
        self._unpriced = meter.create_counter(UNPRICED_CALLS, "{call}", "LLM calls that could not be priced.")
        self._partial = meter.create_counter(
            PARTIAL_CALLS, "{call}", "LLM calls priced without some billed unit the price data lacks."
        )
        self._phase = meter.create_histogram(
            PHASE_DURATION,
            unit="s",
            description="Time an agent step spent in each phase.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        # The global meter is a proxy until a provider is set: its instruments drop every measurement,
        # and a call's labels need not be built for them (#20). One read of the cost counter's backing
        # instrument tells, per call, whether a provider has been set since.
        self._proxied = type(self._cost) is _ProxyCounter and hasattr(self._cost, "_real_instrument")
        self._silent = isinstance(meter, NoOpMeter)
        self._cap = _Cap(max_values)
        self._label_sets: dict[tuple[Any, ...], LabelSet] = {}
        self.subscription = Subscription(self.record_call)

    def record_call(
        self,
        invocation: LLMInvocation,
        usage: Usage | None,
        cost: Cost | None,
        error: BaseException | None,
    ) -> None:
        """Record one finished call (an invocation listener: never raises)."""
        if (self._cost._real_instrument is None) if self._proxied else self._silent:
            return  # every instrument is a no-op: no meter provider yet, or a no-op one
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
        labels = self._labels(invocation)
        error_labels = labels
        if error is not None:
            error_type_name = self._cap(attr.ERROR_TYPE, error_type(error))
            error_labels = LabelSet({**labels.base, attr.ERROR_TYPE: error_type_name})
        self._edition.record(invocation, usage, labels, error_labels)
        if usage is None:
            return
        if cost is None:  # a failed call on an unsampled span is not priced by the invocation
            cost = _price(invocation, usage)
        status, amount = cost.status, cost.amount
        if amount is not None and status != attr.COST_UNPRICED:
            self._cost.add(float(amount), error_labels.base)
            if status == attr.COST_PARTIAL:
                self._partial.add(1, error_labels.base)
        else:
            self._unpriced.add(1, error_labels.base)

    def _labels(self, invocation: LLMInvocation) -> LabelSet:
        """The call's metric attributes: made once per distinct (operation, provider, models, server,
        agent, step) and shared after (the instruments never change them)."""
        key = (
            invocation.operation,
            invocation.provider,
            invocation.request_model,
            invocation.response_model,
            invocation.server_address,
            invocation.server_port,
            current_step(),
        )
        labels = self._label_sets.get(key)
        if labels is None:
            labels = LabelSet(self._make_labels(invocation, key[-1]))
            if len(self._label_sets) >= _LABEL_SETS:  # capped values make few sets; a bound all the same
                self._label_sets.clear()
            self._label_sets[key] = labels
        return labels

    def _make_labels(
        self, invocation: LLMInvocation, step_names: tuple[str | None, str | None]
    ) -> dict[str, Any]:
        cap = self._cap
        labels: dict[str, Any] = {
            attr.GEN_AI_OPERATION_NAME: cap(attr.GEN_AI_OPERATION_NAME, invocation.operation),
            attr.GEN_AI_PROVIDER_NAME: cap(attr.GEN_AI_PROVIDER_NAME, invocation.provider),
        }
        for key, value in (
            (attr.GEN_AI_REQUEST_MODEL, invocation.request_model),
            (attr.GEN_AI_RESPONSE_MODEL, invocation.response_model),
            (attr.SERVER_ADDRESS, invocation.server_address),
        ):
            if value:
                labels[key] = cap(key, value)
        port = invocation.server_port
        if invocation.server_address and port is not None and cap(attr.SERVER_PORT, str(port)) != "_other":
            labels[attr.SERVER_PORT] = port
        agent, step = step_names
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


_Instruments = TypeVar("_Instruments")


class PerMeterProvider(Generic[_Instruments]):
    """One set of instruments per meter provider (``None``: the global one), made on first use.

    Instruments are made once per provider, not per call; providers are held by identity (weakly
    where they can be: see :class:`~otel_llm_cost._provider_cache.ProviderCache`).
    """

    def __init__(self, make: Callable[[MeterProvider | None], _Instruments]) -> None:
        self._make = make
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")
        self._by_provider: ProviderCache[_Instruments] = ProviderCache()
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
            return self._by_provider.get_or_make(meter_provider, lambda: self._make(meter_provider))


_llm_metrics: PerMeterProvider[LLMMetrics] = PerMeterProvider(LLMMetrics)


def get_metrics(meter_provider: MeterProvider | None = None) -> LLMMetrics:
    """The one :class:`LLMMetrics` of ``meter_provider`` (the global provider when ``None``)."""
    return _llm_metrics.get(meter_provider)


def install_metrics(meter_provider: MeterProvider | None = None) -> LLMMetrics:
    """Record every instrumented call into ``meter_provider``'s metrics (counted: see uninstall)."""
    found = get_metrics(meter_provider)
    found.subscription.hold()
    return found


def uninstall_metrics(installed: LLMMetrics) -> None:
    """Undo one :func:`install_metrics` (given what it returned); recording stops when all are undone."""
    installed.subscription.release()


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
