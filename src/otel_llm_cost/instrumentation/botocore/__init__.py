"""OpenTelemetry instrumentation of Amazon Bedrock through ``botocore`` (``boto3``), with usage and cost.

    from otel_llm_cost.instrumentation.botocore import BotocoreInstrumentor

    BotocoreInstrumentor().instrument(tracer_provider=provider)

Instrumented: the ``bedrock-runtime`` client's ``converse``, ``converse_stream``, ``invoke_model`` and
``invoke_model_with_response_stream``, for every model family, with cross-region inference profiles
priced as Bedrock bills them. Each call is one ``chat {modelId}`` span (``embeddings`` for embedding
models). botocore sends over urllib3, neither httpx nor httpx2, so this is its own capture layer.

Why ``BaseClient._make_api_call`` and not botocore's event hooks: the hooks are registered per client
(``client.meta.events``), so covering clients made before ``instrument()`` would need patching anyway,
and pairing ``before-call`` with ``after-call`` / errors to keep one span open is more moving parts than
one wrapper around the call that sees the operation, its parameters, the parsed response (to observe
its stream or body) and the exception the caller gets.

``instrument(capture_message_content=True)`` (default: ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``)
records messages; ``instrument(budget_guard=...)`` checks each call against a budget before it is sent.

botocore is not imported by ``instrument()``: the wrapper is installed when the application imports
``botocore.client`` (at once if it already has), so instrumenting costs nothing to an app without boto3.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import Any

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_llm_cost._config import settings_from_env
from otel_llm_cost._log import log_once
from otel_llm_cost.instrumentation._wrapping import unwrap, wrap
from otel_llm_cost.instrumentation.botocore.package import _instruments
from otel_llm_cost.metrics import install_metrics, uninstall_metrics
from otel_llm_cost.version import __version__

__all__ = ["BotocoreInstrumentor"]

_MODULE = "botocore.client"
_METHOD = "_make_api_call"


class BotocoreInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Wraps ``botocore.client.BaseClient._make_api_call`` (lazily); ``uninstrument()`` restores it."""

    # BaseInstrumentor is a singleton whose __init__ runs on every construction: state lives in _instrument.
    _wrapper: Any = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        from otel_llm_cost.budget._config import guard_for

        tracer = trace.get_tracer(__name__, __version__, tracer_provider=kwargs.get("tracer_provider"))
        capture = kwargs.get("capture_message_content")
        if capture is None:
            capture = settings_from_env().capture_message_content
        self._settings = (tracer, guard_for(kwargs), bool(capture))
        self._metrics = install_metrics(kwargs.get("meter_provider"))
        self._wrapper = None
        self._installed = True
        wrapt.register_post_import_hook(self._on_import, _MODULE)  # runs now if already imported

    def _on_import(self, module: Any) -> None:
        if not getattr(self, "_installed", False) or self._wrapper is not None:
            return  # uninstrumented since, or installed by an earlier registration
        try:
            from otel_llm_cost.instrumentation.botocore import _patch

            wrapper = _patch.make_api_call(*self._settings)
            if wrap(module.BaseClient, _METHOD, wrapper):
                self._wrapper = wrapper
        except Exception:
            log_once("botocore.instrument", "otel-llm-cost could not instrument botocore", exc_info=True)

    def _uninstrument(self, **kwargs: Any) -> None:
        self._installed = False
        uninstall_metrics(self._metrics)
        module = sys.modules.get(_MODULE)
        if module is not None:
            unwrap(module.BaseClient, _METHOD)  # our layer only, wherever it sits; a no-op without one
        self._wrapper = None
