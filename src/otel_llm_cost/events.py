"""GenAI events (log records with an event name) of finished LLM calls.

Two events of the GenAI conventions (``client-inference.md``, ``gen-ai-exceptions.md``):

- ``gen_ai.client.inference.operation.details``: the call's attributes, messages included, as one
  structured record, for backends that keep content apart from traces. Opt-in, as the conventions say:
  emitted when ``OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT`` is true, or
  ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is ``event_only`` / ``span_and_event``, the two
  switches of the official GenAI packages. Messages are in it only when content capture is on.
- ``gen_ai.client.operation.exception``: a failed call, with ``exception.type``, ``exception.message``
  and ``exception.stacktrace`` at severity WARN. Emitted under
  ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` (the official packages do not emit it
  by default, and the default edition stays what they emit).

Both are recorded by an invocation listener, for every call, its span sampled or not; the record carries
the span's context so that backends link it to the trace. Nothing here filters or scrubs content.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import trace
from opentelemetry._logs import LogRecord, SeverityNumber, get_logger

from otel_llm_cost import attributes as attr
from otel_llm_cost._calls import Subscription
from otel_llm_cost._config import CAPTURE_MESSAGE_CONTENT, SCHEMA_URL, semconv_latest
from otel_llm_cost._log import log_once
from otel_llm_cost._scrub import exception_attributes
from otel_llm_cost.metrics import PerMeterProvider
from otel_llm_cost.version import __version__

if TYPE_CHECKING:
    from opentelemetry._logs import LoggerProvider

    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.pricing import Cost
    from otel_llm_cost.usage import Usage

__all__ = ["DETAILS_EVENT", "EXCEPTION_EVENT", "GenAIEvents", "install_events", "uninstall_events"]

DETAILS_EVENT: Final = "gen_ai.client.inference.operation.details"
EXCEPTION_EVENT: Final = "gen_ai.client.operation.exception"
EMIT_EVENT: Final = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"

_EVENT_MODES: Final = frozenset({"event_only", "span_and_event"})
# Span attributes the details event repeats: the conventions' names only, not our cost breakdown.
_PREFIXES: Final = ("gen_ai.", "server.", "error.type", "openai.")
# Content held as JSON strings on spans; events MUST carry it structured.
_STRUCTURED: Final = frozenset(
    {attr.GEN_AI_INPUT_MESSAGES, attr.GEN_AI_OUTPUT_MESSAGES, attr.GEN_AI_SYSTEM_INSTRUCTIONS}
)


def details_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for the details event (see the module's notes)."""
    if environ.get(EMIT_EVENT, "").strip().lower() == "true":
        return True
    return environ.get(CAPTURE_MESSAGE_CONTENT, "").strip().lower() in _EVENT_MODES


class GenAIEvents:
    """The events of one logger provider; :meth:`record_call` is an invocation listener (never raises).

    Args:
        logger_provider: where the records go; default the global provider.
        details: emit ``gen_ai.client.inference.operation.details``; default from the environment.
        exceptions: emit ``gen_ai.client.operation.exception``; default under the latest conventions.
    """

    def __init__(
        self,
        logger_provider: LoggerProvider | None = None,
        *,
        details: bool | None = None,
        exceptions: bool | None = None,
    ) -> None:
        self._logger = get_logger(__name__, __version__, logger_provider, schema_url=SCHEMA_URL)
        self.details = details_enabled() if details is None else details
        self.exceptions = semconv_latest() if exceptions is None else exceptions
        self.subscription = Subscription(self.record_call)

    def record_call(
        self,
        invocation: LLMInvocation,
        usage: Usage | None,
        cost: Cost | None,
        error: BaseException | None,
    ) -> None:
        if not (self.details or (self.exceptions and error is not None)):
            return
        try:
            context = trace.set_span_in_context(invocation.span)
            if error is not None and self.exceptions:
                self._logger.emit(
                    LogRecord(
                        event_name=EXCEPTION_EVENT,
                        severity_number=SeverityNumber.WARN,
                        context=context,
                        attributes=exception_attributes(error),
                    )
                )
            if self.details:
                self._logger.emit(
                    LogRecord(
                        event_name=DETAILS_EVENT, context=context, attributes=_details_attributes(invocation)
                    )
                )
        except Exception:
            log_once("events.record_call", "otel-llm-cost could not emit a GenAI event", exc_info=True)


def _details_attributes(invocation: LLMInvocation) -> dict[str, Any]:
    """The call's conventions attributes as its (ended) span holds them; the basics for an unsampled one."""
    found: dict[str, Any] = {
        attr.GEN_AI_OPERATION_NAME: invocation.operation,
        attr.GEN_AI_PROVIDER_NAME: invocation.provider,
    }
    if invocation.request_model:
        found[attr.GEN_AI_REQUEST_MODEL] = invocation.request_model
    for key, value in (getattr(invocation.span, "attributes", None) or {}).items():
        if not key.startswith(_PREFIXES):
            continue
        if key in _STRUCTURED and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        found[key] = value
    return found


_events: PerMeterProvider[GenAIEvents] = PerMeterProvider(GenAIEvents)  # one per logger provider


def install_events(logger_provider: LoggerProvider | None = None) -> GenAIEvents:
    """Emit the events of every instrumented call into ``logger_provider`` (counted: see uninstall)."""
    events = _events.get(logger_provider)  # type: ignore[arg-type]
    events.subscription.hold(listen=events.details or events.exceptions)  # else nothing to listen for
    return events


def uninstall_events(installed: GenAIEvents) -> None:
    """Undo one :func:`install_events`; emitting stops when all are undone."""
    installed.subscription.release()
