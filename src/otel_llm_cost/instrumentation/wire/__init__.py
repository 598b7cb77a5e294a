"""The wire capture: one priced ``gen_ai`` span per LLM API call sent through ``httpx`` or ``httpx2``.

Usage::

    from otel_llm_cost.instrumentation.wire import WireInstrumentor

    WireInstrumentor().instrument(tracer_provider=provider)

Beneath every SDK and framework that sends over ``httpx`` / ``httpx2`` (LiteLLM, the OpenAI SDK's generic
``client.post``, a raw ``httpx.post`` to Ollama or a gateway), it recognises requests to a known LLM host
(the provider table, private hosts where self-hosted servers run, and ``OTEL_LLM_COST_WIRE_HOSTS``) and a
path one of the :mod:`otel_llm_cost.apis` rooms owns, and records them as an SDK wrapper would: request
attributes, usage, cost, time to first chunk, stream outcome, metrics, budgets and live stats. Where an
SDK wrapper (or another instrumentation's LLM span) already covers a request, it adds nothing.

``instrument()`` accepts ``tracer_provider``, ``meter_provider``, ``budget_guard`` and ``hosts`` (the
same entries as ``OTEL_LLM_COST_WIRE_HOSTS``, which it replaces).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Collection
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_llm_cost.environment_variables import OTEL_LLM_COST_WIRE_HOSTS
from otel_llm_cost.instrumentation._wrapping import unwrap, wrap
from otel_llm_cost.metrics import install_metrics, uninstall_metrics
from otel_llm_cost.version import __version__

__all__ = ["WireInstrumentor"]

_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"
# (HTTP client module, class, wrapper factory in _patch).
_TARGETS: Final = (
    ("httpx", "Client", "client_send"),
    ("httpx", "AsyncClient", "async_client_send"),
    ("httpx2", "Client", "client_send"),
    ("httpx2", "AsyncClient", "async_client_send"),
)


def _owner(module_name: str, class_name: str) -> tuple[Any, type] | None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    owner = getattr(module, class_name, None)
    return (module, owner) if isinstance(owner, type) and hasattr(owner, "send") else None


class WireInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Records LLM API calls at ``Client.send`` / ``AsyncClient.send`` of ``httpx`` and ``httpx2``."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # either client is enough; a missing one is skipped

    def _instrument(self, **kwargs: Any) -> None:
        from otel_llm_cost.budget._config import guard_for
        from otel_llm_cost.instrumentation.wire import _patch
        from otel_llm_cost.instrumentation.wire._hosts import HostTable, parse_hosts

        tracer = trace.get_tracer(
            __name__, __version__, kwargs.get("tracer_provider"), schema_url=_SCHEMA_URL
        )
        hosts = kwargs.get("hosts")
        table = HostTable(
            parse_hosts(hosts if hosts is not None else os.environ.get(OTEL_LLM_COST_WIRE_HOSTS))
        )
        recorder = _patch.Recorder(tracer, table, guard_for(kwargs))
        self._metrics = install_metrics(kwargs.get("meter_provider"))
        for module_name, class_name, factory in _TARGETS:
            found = _owner(module_name, class_name)
            if found is not None:
                module, owner = found
                wrap(owner, "send", getattr(_patch, factory)(recorder, module))

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstall_metrics(self._metrics)
        for module_name, class_name, _ in _TARGETS:
            found = _owner(module_name, class_name)
            if found is not None:
                unwrap(found[1], "send")
