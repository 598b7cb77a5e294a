"""The ``google-genai`` SDK's async calls that bypass ``httpx``: sent over ``aiohttp`` when it is installed.

    from otel_llm_cost.instrumentation.google_genai import GoogleGenAIInstrumentor

    GoogleGenAIInstrumentor().instrument(tracer_provider=provider)

``google-genai`` sends its sync calls, and its async ones when ``aiohttp`` is absent, over ``httpx2`` (or
``httpx``): the wire capture (:mod:`otel_llm_cost.instrumentation.wire`) records those. With ``aiohttp``
installed (``google-genai[aiohttp]``) its async client sends over ``aiohttp``, which the wire capture does
not see; this instrumentor records exactly those calls, one span per request
(``AsyncModels._generate_content``, ``_generate_content_stream`` and ``_embed_content``, beneath automatic
function calling and continuation), read by the same Gemini rooms (:mod:`otel_llm_cost.apis.gemini`).
Every other call passes through untouched. ``instrument(budget_guard=...)`` checks each recorded call
against a :class:`~otel_llm_cost.budget.BudgetGuard` before it is sent (default: ``OTEL_LLM_COST_BUDGETS``).
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_llm_cost.instrumentation._wrapping import unwrap, wrap
from otel_llm_cost.instrumentation.google_genai import _patch
from otel_llm_cost.instrumentation.google_genai.package import _instruments
from otel_llm_cost.metrics import install_metrics, uninstall_metrics
from otel_llm_cost.version import __version__

__all__ = ["GoogleGenAIInstrumentor"]

_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"
_METHODS: Final = (
    ("_generate_content", _patch.async_generate_content),
    ("_generate_content_stream", _patch.async_generate_content_stream),
    ("_embed_content", _patch.async_embed_content),
)


def _async_models() -> type | None:
    try:
        owner = importlib.import_module("google.genai.models").AsyncModels
    except (ImportError, AttributeError):
        return None
    return owner if isinstance(owner, type) else None


class GoogleGenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Wraps ``google-genai``'s async generate-content requests; records those sent over ``aiohttp``."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        from otel_llm_cost.budget._config import guard_for

        guard = guard_for(kwargs)
        tracer = trace.get_tracer(
            __name__, __version__, kwargs.get("tracer_provider"), schema_url=_SCHEMA_URL
        )
        self._metrics = install_metrics(kwargs.get("meter_provider"))
        owner = _async_models()
        if owner is None:
            return
        for name, factory in _METHODS:
            if name in vars(owner):
                wrap(owner, name, factory(tracer, guard))

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstall_metrics(self._metrics)
        owner = _async_models()
        if owner is not None:
            for name, _ in _METHODS:
                unwrap(owner, name)
