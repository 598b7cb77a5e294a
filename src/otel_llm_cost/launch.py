"""Set-up: ``configure()`` for code, and the entry points ``opentelemetry-instrument`` loads.

``opentelemetry-instrument`` builds the tracer provider (through whichever distro and configurator are
installed) before it loads instrumentors, so our span processor rides in on an instrumentor of its
own, ``llm_cost_processor``: it attaches :class:`~otel_llm_cost.processor.LLMCostSpanProcessor` to the
provider that auto-configuration made, whatever distro made it, and
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` can switch it off by name like any other.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import log_once, logger
from otel_llm_cost._provider_cache import ProviderCache

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from otel_llm_cost.processor import LLMCostSpanProcessor

# (modules of which one must be installed, instrumentor class path): the SDK wrappers where the meaning
# needs them, and the wire capture beneath httpx / httpx2 for every other LLM call.
_INSTRUMENTORS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("openai",), "otel_llm_cost.instrumentation.openai:OpenAIInstrumentor"),
    (("anthropic",), "otel_llm_cost.instrumentation.anthropic:AnthropicInstrumentor"),
    # Installed lazily: botocore is wrapped when the app imports it, not imported here.
    (("botocore",), "otel_llm_cost.instrumentation.botocore:BotocoreInstrumentor"),
    (("httpx2", "httpx"), "otel_llm_cost.instrumentation.wire:WireInstrumentor"),
    # google-genai's async client sends over aiohttp when it is installed, beneath the wire capture's sight.
    (("aiohttp",), "otel_llm_cost.instrumentation.google_genai:GoogleGenAIInstrumentor"),
)

_processors: ProviderCache[LLMCostSpanProcessor] = ProviderCache()  # any provider, hashable or not
_processors_lock = threading.Lock()
reinit_locks_after_fork(__name__, "_processors_lock")
_prometheus_endpoints: list[Any] = []
_configured_metrics: list[Any] = []  # call metrics configure() installed, kept for the process


def configure(
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    *,
    prices: str | os.PathLike[str] | None = None,
    prometheus_port: int | None = None,
    prometheus_host: str = "127.0.0.1",
    **options: Any,
) -> list[BaseInstrumentor]:
    """Instrument every installed SDK we support, and the wire capture beneath ``httpx`` / ``httpx2``
    (every other LLM call), and install the cost span processor.

    Example::

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        otel_llm_cost.configure(tracer_provider=provider)

    Args:
        tracer_provider: where spans go; the global provider when omitted. With neither (no global
            provider set), the SDK is configured from the ``OTEL_*`` variables as under
            ``opentelemetry-instrument``: with none set, spans go to a JSONL file and a summary is
            printed at exit (``OTEL_LLM_COST_AUTO_CONFIGURE=false``: a warning instead).
        meter_provider: where metrics go (token, duration, cost and phase metrics, recorded for
            every call even when its span is not sampled); the global provider when omitted.
        prices: a price override file (TOML or YAML) for models the price dataset does not know,
            and aliases; overrides ``OTEL_LLM_COST_PRICES_FILE``.
        prometheus_port: serve the metrics for Prometheus at ``http://{prometheus_host}:{port}/metrics``
            (a new meter provider; needs ``opentelemetry-exporter-prometheus``). Not with
            ``meter_provider``. See :func:`otel_llm_cost.metrics.serve_prometheus`.
        prometheus_host: the address the Prometheus endpoint binds; loopback by default.
        options: passed to each instrumentor's ``instrument()``.

    Returns:
        The instrumentors that were installed (call ``uninstrument()`` on them to undo).

    Errors: what you pass explicitly is checked here and raises (you can fix it at once); what
    comes from the environment (``OTEL_LLM_COST_BUDGETS``, ``..._BUDGET_STORE``, ``..._PRICES_FILE``)
    is one warning line that turns off only that part, because a deployment's variables must never
    take an application's telemetry (or the application) down with them.

    Raises:
        ConfigurationError: both ``meter_provider`` and ``prometheus_port`` were given, or
            ``budget_guard`` is not a guard.
        PriceFileError: ``prices`` cannot be read or holds an invalid entry (raised here, at
            set-up, so that a bad file never surfaces inside an LLM call).
    """
    _check_budget_guard(options.get("budget_guard"))
    if prices is not None:
        from otel_llm_cost.pricing import Pricer, load_overrides, set_pricer

        set_pricer(Pricer(load_overrides(prices)))
    if prometheus_port is not None:
        meter_provider = _serve_prometheus(meter_provider, prometheus_port, prometheus_host)
    if tracer_provider is None and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        from otel_llm_cost._autoconfig import configure_default

        # Nothing set anywhere: the zero-code default rather than nothing at all.
        _alone("the default exporters", configure_default)
    _alone("the cost span processor", install_processor, tracer_provider, meter_provider)
    installed = _instrument_all(tracer_provider, meter_provider, options)
    _alone(
        "live stats and llm_call defaults", _install_in_process,
        tracer_provider, meter_provider, options.get("budget_guard"), bool(installed),
    )  # fmt: skip
    logger.debug("otel-llm-cost instrumented: %s", [type(i).__name__ for i in installed])
    return installed


def _check_budget_guard(guard: object) -> None:
    from otel_llm_cost.errors import ConfigurationError

    if guard is not None and not callable(getattr(guard, "admit", None)):
        raise ConfigurationError(
            f"configure(budget_guard=...): expected a BudgetGuard, got {type(guard).__name__}"
        )


def _alone(part: str, step: Any, *args: Any) -> None:
    """Run one part of the set-up; a failure is one line and leaves the other parts running."""
    try:
        step(*args)
    except Exception as error:
        log_once(
            f"configure.part.{part}", "otel-llm-cost: %s is OFF (everything else runs): %s: %s",
            part, type(error).__name__, error,
        )  # fmt: skip


def _instrument_all(
    tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None, options: dict[str, Any]
) -> list[BaseInstrumentor]:
    installed: list[BaseInstrumentor] = []
    for module_names, target in _INSTRUMENTORS:
        if not any(importlib.util.find_spec(name) is not None for name in module_names):
            continue
        module_name = module_names[0]
        module_path, class_name = target.split(":")
        try:
            instrumentor = getattr(importlib.import_module(module_path), class_name)()
            instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, **options)
        except Exception:
            log_once(f"configure.{module_name}", "could not instrument %s", module_name, exc_info=True)
            continue
        installed.append(instrumentor)
    return installed


def install_processor(
    tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None
) -> LLMCostSpanProcessor | None:
    """Add the cost span processor to ``tracer_provider`` (the global one when omitted), once.

    The processor records agent-step phases into ``meter_provider`` (the global one when omitted).

    Returns:
        The processor, or ``None`` when the provider is not an SDK provider (nothing to attach to).
    """
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    add = getattr(provider, "add_span_processor", None)
    if add is None:
        log_once(
            "launch.no_sdk_provider",
            "otel-llm-cost: the tracer provider %r is not an SDK provider; spans will not be priced "
            "by the processor",
            type(provider).__name__,
        )
        return None
    from otel_llm_cost.instrumentation._open_calls import finish_before_shutdown
    from otel_llm_cost.metrics import get_metrics
    from otel_llm_cost.processor import LLMCostSpanProcessor

    finish_before_shutdown()  # open calls end before the provider's own exit handler shuts it down
    with _processors_lock:
        processor = _processors.get(provider)
        if processor is None:
            processor = LLMCostSpanProcessor(metrics=get_metrics(meter_provider))
            add(processor)
            _processors.set(provider, processor)
        elif meter_provider is not None:
            processor.metrics = get_metrics(meter_provider)
    return processor


def _install_in_process(
    tracer_provider: Any, meter_provider: Any, budget_guard: Any, instrumented: bool
) -> None:
    """What is not an instrumentor: defaults of ``llm_call`` and agent metrics, live stats, and the
    call metrics of ``llm_call`` when no instrumentor records them (their ``uninstrument()`` stops them)."""
    from otel_llm_cost._configured import Configured, set_configured
    from otel_llm_cost.live_stats import install_stats
    from otel_llm_cost.metrics import install_metrics

    set_configured(Configured(tracer_provider, meter_provider, budget_guard))
    if not instrumented and not _configured_metrics:
        _configured_metrics.append(install_metrics(meter_provider))
    install_stats()


def _serve_prometheus(meter_provider: MeterProvider | None, port: int, host: str) -> MeterProvider:
    from otel_llm_cost.errors import ConfigurationError
    from otel_llm_cost.metrics import serve_prometheus

    if meter_provider is not None:
        raise ConfigurationError("configure(): give meter_provider or prometheus_port, not both")
    try:
        endpoint = serve_prometheus(port, host)
    except ImportError as error:
        raise ConfigurationError(
            "configure(prometheus_port=...) needs opentelemetry-exporter-prometheus "
            "(pip install 'otel-llm-cost[prometheus]')"
        ) from error
    _prometheus_endpoints.append(endpoint)  # served for the life of the process
    logger.debug("otel-llm-cost metrics served at http://%s:%d/metrics", host, endpoint.port)
    return endpoint.meter_provider


class CostProcessorInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Loaded by ``opentelemetry-instrument`` as ``llm_cost_processor``: installs the span processor."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        install_processor(kwargs.get("tracer_provider"), kwargs.get("meter_provider"))
        from otel_llm_cost.live_stats import install_stats

        install_stats()

    def _uninstrument(self, **kwargs: Any) -> None:
        # The SDK has no public way to remove a processor; it stays, and is harmless.
        pass
