"""Tracing for the examples: the provider ``opentelemetry-instrument`` built, or one made here.

Under ``opentelemetry-instrument`` the examples use the global tracer provider as configured from the
environment (our entry points instrument the SDKs and add the cost processor). Run with plain
``python``, they build the same thing in code: the embedded default (spans appended to
``otel-llm-cost-spans.jsonl``, a summary at exit), plus OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT``
is set.
"""

from __future__ import annotations

import os
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import otel_llm_cost
from otel_llm_cost.export.jsonl import JsonlSpanExporter
from otel_llm_cost.export.summary import SummarySpanProcessor


def tracer_provider(service: str) -> tuple[TracerProvider, bool]:
    """The provider to use and whether this process owns it (then call ``shutdown()`` at the end)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # opentelemetry-instrument made it
        return current, False
    resource = Resource.create({} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service})
    provider = TracerProvider(resource=resource)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            print("pip install opentelemetry-exporter-otlp-proto-http to export over OTLP", file=sys.stderr)
        else:
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    jsonl = JsonlSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(jsonl))
    provider.add_span_processor(SummarySpanProcessor(jsonl_path=jsonl.path))
    otel_llm_cost.configure(tracer_provider=provider)
    return provider, True


def use_demo_server(key_variable: str) -> bool:
    """Offline unless the provider's API key is set (``OTEL_LLM_COST_DEMO_SERVER=1`` forces offline)."""
    return os.environ.get("OTEL_LLM_COST_DEMO_SERVER") == "1" or not os.environ.get(key_variable)
