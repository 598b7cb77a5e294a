"""OpenTelemetry instrumentation of the ``anthropic`` SDK's messages API, with usage and cost.

    from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument(tracer_provider=provider)

Instrumented: ``messages.create`` (with and without ``stream=True``), ``messages.parse``,
``messages.stream(...)`` (sync and async), and their ``beta.messages`` twins, including those of the
``AnthropicBedrock`` / ``AnthropicVertex`` clients. Each call is one ``chat {model}`` span, whether or
not the SDK's own tracing is on (see :mod:`._native`). ``instrument(budget_guard=...)`` checks each call
against a :class:`~otel_llm_cost.budget.BudgetGuard` before it is sent (default: ``OTEL_LLM_COST_BUDGETS``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_llm_cost._config import SCHEMA_URL, settings_from_env
from otel_llm_cost._log import logger
from otel_llm_cost.events import install_events, uninstall_events
from otel_llm_cost.instrumentation import _sent
from otel_llm_cost.instrumentation._lazy import when_imported
from otel_llm_cost.instrumentation._open_calls import finish_before_shutdown
from otel_llm_cost.instrumentation._wrapping import unwrap, wrap
from otel_llm_cost.instrumentation.anthropic import _native, _patch
from otel_llm_cost.instrumentation.anthropic.package import _instruments
from otel_llm_cost.metrics import install_metrics, uninstall_metrics
from otel_llm_cost.version import __version__

__all__ = ["AnthropicInstrumentor"]

# Modules whose ``Messages`` / ``AsyncMessages`` classes hold the methods (the cloud clients' beta
# resources copy the functions at import, so they are wrapped where they are, too).
_RESOURCE_MODULES = (
    "anthropic.resources.messages",
    "anthropic.resources.beta.messages",
    "anthropic.lib.bedrock._beta_messages",
    "anthropic.lib.vertex._beta_messages",
)
_SYNC_METHODS: dict[str, Callable[..., Any]] = {
    "create": _patch.messages_create,
    "parse": _patch.messages_create,
    "stream": _patch.messages_stream,
}
_ASYNC_METHODS: dict[str, Callable[..., Any]] = {
    "create": _patch.async_messages_create,
    "parse": _patch.async_messages_create,
    "stream": _patch.async_messages_stream,
}


class AnthropicInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Wraps the Anthropic SDK's messages methods; ``uninstrument()`` restores them."""

    # BaseInstrumentor is a singleton whose __init__ runs on every construction: state lives in _instrument.
    _wrapped: list[tuple[Any, str]]

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        finish_before_shutdown()  # open calls end before the tracer provider's exit handler runs
        self._wrapped = []
        from otel_llm_cost.budget._config import guard_for

        tracer = trace.get_tracer(
            __name__, __version__, tracer_provider=kwargs.get("tracer_provider"), schema_url=SCHEMA_URL
        )
        guard = guard_for(kwargs)  # budget_guard=..., else OTEL_LLM_COST_BUDGETS, else none
        capture = kwargs.get("capture_message_content")
        if capture is None:  # the GenAI conventions' switch, whatever the SDK's own tracing does
            capture = settings_from_env().capture_message_content
        self._metrics = install_metrics(kwargs.get("meter_provider"))  # exact under sampling
        self._events = install_events(kwargs.get("logger_provider"))  # GenAI events, when enabled
        self._cancel = when_imported("anthropic", lambda: self._install(tracer, guard, bool(capture)))

    def _install(self, tracer: trace.Tracer, guard: Any, capture: bool) -> None:
        for module_name in _RESOURCE_MODULES:
            module = _import(module_name)
            for name, methods in (("Messages", _SYNC_METHODS), ("AsyncMessages", _ASYNC_METHODS)):
                self._wrap_class(getattr(module, name, None), methods, (tracer, guard, capture))
        hook_module = _import(_native.SDK_HOOK_MODULE)
        client_base = getattr(hook_module, "BaseClient", None)
        if client_base is not None and hasattr(client_base, _sent.HOOK_NAME):  # requests built = sent
            self._wrap(client_base, _sent.HOOK_NAME, _sent.build_request)
            _sent.hooked(_native.SDK_HOOK_MODULE, True)
        if hasattr(hook_module, _native.SDK_HOOK):  # SDKs with their own tracing (1.x and later)
            self._wrap(hook_module, _native.SDK_HOOK, _native.start_api_call_span)
            if hasattr(hook_module, _native.SDK_RESULT_HOOK):
                self._wrap(hook_module, _native.SDK_RESULT_HOOK, _native.finish_api_call_span)
                _native.hook_results(True)

    def _uninstrument(self, **kwargs: Any) -> None:
        self._cancel()
        uninstall_metrics(self._metrics)
        uninstall_events(self._events)
        _native.hook_results(False)
        _sent.hooked(_native.SDK_HOOK_MODULE, False)
        for owner, name in reversed(getattr(self, "_wrapped", [])):
            unwrap(owner, name)
        self._wrapped = []

    def _wrap_class(
        self, cls: type | None, methods: dict[str, Callable[..., Any]], recording: tuple[Any, ...]
    ) -> None:
        if cls is None:
            return
        for name, factory in methods.items():
            if hasattr(cls, name):
                self._wrap(cls, name, factory(*recording))

    def _wrap(self, owner: Any, name: str, wrapper: Any) -> None:
        if wrap(owner, name, wrapper):
            self._wrapped.append((owner, name))


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception:  # optional parts (cloud clients) may be missing or need extras
        logger.debug("otel-llm-cost: %s not instrumented (cannot import it)", name, exc_info=True)
        return None
