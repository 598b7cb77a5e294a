"""OpenTelemetry instrumentation of the ``openai`` SDK: one priced ``gen_ai`` span per call.

Usage::

    from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=provider)

Instrumented: ``chat.completions.create`` / ``.parse`` / ``.stream``, ``responses.create`` / ``.parse`` /
``.stream`` and ``embeddings.create``, sync and async, including ``with_raw_response`` and
``with_streaming_response``. ``instrument()`` accepts ``tracer_provider``, ``capture_message_content``
(default: the ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` environment variable) and
``budget_guard`` (a :class:`~otel_llm_cost.budget.BudgetGuard`; default: ``OTEL_LLM_COST_BUDGETS``).
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_llm_cost._config import SCHEMA_URL, settings_from_env
from otel_llm_cost.events import install_events, uninstall_events
from otel_llm_cost.instrumentation import _sent
from otel_llm_cost.instrumentation._lazy import when_imported
from otel_llm_cost.instrumentation._open_calls import finish_before_shutdown
from otel_llm_cost.instrumentation._wrapping import unwrap, wrap
from otel_llm_cost.instrumentation.openai.package import _instruments
from otel_llm_cost.metrics import install_metrics, uninstall_metrics
from otel_llm_cost.version import __version__

__all__ = ["OpenAIInstrumentor"]


# (module, class, method, wrapper factory in _patch); a row whose class or method is missing is skipped.
_TARGETS: Final = (
    ("openai.resources.chat.completions", "Completions", "create", "chat_completions_create"),
    ("openai.resources.chat.completions", "AsyncCompletions", "create", "async_chat_completions_create"),
    ("openai.resources.chat.completions", "Completions", "parse", "chat_completions_parse"),
    ("openai.resources.chat.completions", "AsyncCompletions", "parse", "async_chat_completions_parse"),
    ("openai.resources.beta.chat.completions", "Completions", "parse", "chat_completions_parse"),
    ("openai.resources.beta.chat.completions", "AsyncCompletions", "parse", "async_chat_completions_parse"),
    ("openai.resources.responses", "Responses", "create", "responses_create"),
    ("openai.resources.responses", "AsyncResponses", "create", "async_responses_create"),
    ("openai.resources.responses", "Responses", "parse", "responses_parse"),
    ("openai.resources.responses", "AsyncResponses", "parse", "async_responses_parse"),
    ("openai.resources.embeddings", "Embeddings", "create", "embeddings_create"),
    ("openai.resources.embeddings", "AsyncEmbeddings", "create", "async_embeddings_create"),
)


def _owner(module_name: str, class_name: str, method: str) -> type | None:
    """The class that has ``method``, or ``None`` when this SDK version lacks it."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    owner = getattr(module, class_name, None)
    return owner if isinstance(owner, type) and hasattr(owner, method) else None


_SDK_BASE = "openai._base_client"


class OpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the OpenAI SDK (and every OpenAI-compatible server it is pointed at)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        finish_before_shutdown()  # open calls end before the tracer provider's exit handler runs
        tracer = trace.get_tracer(__name__, __version__, kwargs.get("tracer_provider"), schema_url=SCHEMA_URL)
        capture = kwargs.get("capture_message_content")
        if capture is None:
            capture = settings_from_env().capture_message_content
        from otel_llm_cost.budget._config import guard_for

        guard = guard_for(kwargs)
        self._metrics = install_metrics(kwargs.get("meter_provider"))  # exact under sampling
        self._events = install_events(kwargs.get("logger_provider"))  # GenAI events, when enabled
        self._installed = False
        self._cancel = when_imported("openai", lambda: self._install(tracer, bool(capture), guard))

    def _install(self, tracer: trace.Tracer, capture: bool, guard: Any) -> None:
        from otel_llm_cost.instrumentation.openai import _patch  # deferred: it imports openai

        recorder = _patch.Recorder(tracer, capture, guard)
        for module_name, class_name, method, factory in _TARGETS:
            owner = _owner(module_name, class_name, method)
            if owner is not None:
                wrap(owner, method, getattr(_patch, factory)(recorder))
        client_base = _owner(_SDK_BASE, "BaseClient", _sent.HOOK_NAME)
        if client_base is not None and wrap(client_base, _sent.HOOK_NAME, _sent.build_request):
            _sent.hooked(_SDK_BASE, True)  # a call that built no request was refused locally
        self._installed = True

    def _uninstrument(self, **kwargs: Any) -> None:
        self._cancel()
        uninstall_metrics(self._metrics)
        uninstall_events(self._events)
        if not self._installed:  # the SDK was never imported: nothing was wrapped
            return
        self._installed = False
        for module_name, class_name, method, _ in _TARGETS:
            owner = _owner(module_name, class_name, method)
            if owner is not None:
                unwrap(owner, method)
        client_base = _owner(_SDK_BASE, "BaseClient", _sent.HOOK_NAME)
        if client_base is not None:
            unwrap(client_base, _sent.HOOK_NAME)
        _sent.hooked(_SDK_BASE, False)
