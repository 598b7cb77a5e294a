"""The zero-code set-up that ``opentelemetry-instrument`` runs before it loads instrumentors.

``opentelemetry-instrument`` picks one distro and one configurator by entry-point order (the first
found, unless ``OTEL_PYTHON_DISTRO`` / ``OTEL_PYTHON_CONFIGURATOR`` name one); without
``opentelemetry-distro`` there is no configurator at all, no SDK tracer provider, and every span is
dropped. otel-llm-cost therefore registers neither a distro nor a configurator (it would collide
with theirs, and which one ran would depend on install order). It registers this hook in the
``opentelemetry_pre_instrument`` group instead: every such hook runs, after the configurator and
before the instrumentors. The hook decides, always the same way:

1. A tracer provider is already set (a distro's configurator built it): leave it alone; only add the
   summary when ``OTEL_LLM_COST_SUMMARY=true``. The ``llm_cost_processor`` instrumentor adds the cost
   processor to it.
2. None is set, and ``OTEL_LLM_COST_AUTO_CONFIGURE`` is not ``false``: build the SDK from the standard
   ``OTEL_*`` variables, as ``opentelemetry-distro``'s configurator does. An OTLP endpoint without an
   exporter means ``otlp``; OTLP's protocol defaults to ``http/protobuf`` (the specification's default).
3. In case 2, with no traces exporter, endpoint or config file configured: the embedded default.
   Spans are appended to a JSONL file and a summary is printed at exit.

When several distros are installed and none is chosen by name, a warning says which one ran.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry import trace

from otel_llm_cost._exporter_check import missing_otlp_message, otlp_installed, wants_otlp
from otel_llm_cost._log import log_once, logger
from otel_llm_cost.environment_variables import OTEL_LLM_COST_AUTO_CONFIGURE, OTEL_LLM_COST_SUMMARY

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

__all__ = ["Plan", "plan_from_env", "pre_instrument"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@dataclass(frozen=True, slots=True)
class Plan:
    """What the hook does when no provider is set.

    Attributes:
        embedded: Write spans to the JSONL file (nothing else was configured).
        summary: Print the summary at exit.
        env_defaults: Variables to set when unset, before the SDK reads them.
    """

    embedded: bool
    summary: bool
    env_defaults: Mapping[str, str]


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    value = env.get(name, "").strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def plan_from_env(env: Mapping[str, str]) -> Plan:
    """Decide, from the environment alone, how to configure the SDK when nobody else did."""
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip()
    endpoint = any(env.get(name, "").strip() for name in _ENDPOINTS)
    embedded = not exporter and not endpoint and not env.get("OTEL_CONFIG_FILE", "").strip()
    defaults = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    if endpoint and not exporter:
        defaults["OTEL_TRACES_EXPORTER"] = "otlp"
        if "OTEL_EXPORTER_OTLP_ENDPOINT" in env:
            defaults["OTEL_METRICS_EXPORTER"] = "otlp"
    summary = _flag(env, OTEL_LLM_COST_SUMMARY)
    return Plan(embedded=embedded, summary=embedded if summary is None else summary, env_defaults=defaults)


def pre_instrument() -> None:
    """The ``opentelemetry_pre_instrument`` hook; never raises (a failure is logged once)."""
    try:
        _warn_if_distros_compete()
        _configure()
    except Exception:
        log_once("autoconfig", "otel-llm-cost: zero-code set-up failed", exc_info=True)


def _configure() -> None:
    env = os.environ
    if _flag(env, "OTEL_SDK_DISABLED"):
        return
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        if _flag(env, OTEL_LLM_COST_SUMMARY):
            _add_summary(trace.get_tracer_provider(), None)
        return
    if _flag(env, OTEL_LLM_COST_AUTO_CONFIGURE) is False:
        return
    plan = plan_from_env(env)
    for name, value in plan.env_defaults.items():
        env.setdefault(name, value)
    processors = _embedded_processors(plan) if plan.embedded else []
    try:
        _sdk_configure(processors)
    except Exception:
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            raise
        # A named exporter whose package is missing, say: keep the spans rather than lose them all.
        if wants_otlp(env, distro_installed=False) and not otlp_installed(env, distro_installed=False):
            log_once("autoconfig.exporters", missing_otlp_message("OTEL_EXPORTER_OTLP_ENDPOINT"))  # one line
        else:
            log_once(
                "autoconfig.exporters",
                "otel-llm-cost: could not configure the exporters from OTEL_* variables; "
                "writing spans to the JSONL file instead",
                exc_info=True,
            )
        fallback = Plan(embedded=True, summary=plan.summary, env_defaults={})
        _set_embedded_provider(_embedded_processors(fallback))
        return
    if plan.summary and not plan.embedded:
        _add_summary(trace.get_tracer_provider(), None)
    logger.debug("otel-llm-cost configured the SDK (embedded default: %s)", plan.embedded)


def configure_default() -> bool:
    """For ``configure()`` given no tracer provider while none is set: build the SDK as the zero-code
    path does (the embedded JSONL default when nothing is configured), so that nothing is lost silently.

    Returns:
        Whether a provider is set now.
    """
    if _flag(os.environ, OTEL_LLM_COST_AUTO_CONFIGURE) is False or _flag(os.environ, "OTEL_SDK_DISABLED"):
        log_once(
            "autoconfig.configure_none",
            "otel-llm-cost: configure() found no tracer provider, and OTEL_LLM_COST_AUTO_CONFIGURE=false: "
            "nothing is recorded until you set one (trace.set_tracer_provider) or pass tracer_provider=",
        )
        return False
    _configure()
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        return False
    log_once(
        "autoconfig.configure_default",
        "otel-llm-cost: configure() found no tracer provider; it configured one from the OTEL_* variables "
        "(with none set: spans to %s and a summary at exit)",
        os.environ.get("OTEL_LLM_COST_JSONL_PATH", "otel-llm-cost-spans.jsonl"),
    )
    return True


def _embedded_processors(plan: Plan) -> list[SpanProcessor]:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from otel_llm_cost.export.jsonl import JsonlSpanExporter
    from otel_llm_cost.export.summary import SummarySpanProcessor

    exporter = JsonlSpanExporter()
    processors: list[SpanProcessor] = [BatchSpanProcessor(exporter)]
    if plan.summary:
        processors.append(SummarySpanProcessor(jsonl_path=exporter.path))
    return processors


def _sdk_configure(processors: list[SpanProcessor]) -> None:
    from opentelemetry.instrumentation.version import __version__
    from opentelemetry.sdk._configuration import _OTelSDKConfigurator

    # The configurator distros subclass; it also honours OTEL_CONFIG_FILE (declarative configuration).
    _OTelSDKConfigurator().configure(auto_instrumentation_version=__version__, span_processors=processors)


def _set_embedded_provider(processors: list[SpanProcessor]) -> None:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider(resource=Resource.create({}))
    for processor in processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)


def _add_summary(provider: object, jsonl_path: Path | None) -> None:
    from otel_llm_cost.export.summary import SummarySpanProcessor

    add = getattr(provider, "add_span_processor", None)
    if add is not None:
        add(SummarySpanProcessor(jsonl_path=jsonl_path))


def _warn_if_distros_compete() -> None:
    from opentelemetry.util._importlib_metadata import entry_points

    if os.environ.get("OTEL_PYTHON_DISTRO"):
        return
    names = [ep.name for ep in entry_points(group="opentelemetry_distro")]
    if len(names) > 1:
        log_once(
            "autoconfig.distros",
            "otel-llm-cost: %d OpenTelemetry distros are installed (%s); opentelemetry-instrument used "
            "the first found, %r. Set OTEL_PYTHON_DISTRO to choose one; otel-llm-cost works with any.",
            len(names),
            ", ".join(names),
            names[0],
        )
