"""GenAI events on real SDK calls: the opt-in details event and the exception event (#18)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from oai_helpers import MESSAGES, MODEL, chat_completion, client
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost._config import SCHEMA_URL
from otel_llm_cost.events import DETAILS_EVENT, EXCEPTION_EVENT, GenAIEvents, details_enabled
from otel_llm_cost.instrumentation._invocation import add_invocation_listener, remove_invocation_listener
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from replay import ReplayServer, json_response


class Logs:
    def __init__(self, *, details: bool, exceptions: bool) -> None:
        self.exporter = InMemoryLogRecordExporter()
        provider = LoggerProvider()
        provider.add_log_record_processor(SimpleLogRecordProcessor(self.exporter))
        self.events = GenAIEvents(provider, details=details, exceptions=exceptions)

    def records(self, name: str) -> list[Any]:
        return [r for r in self.exporter.get_finished_logs() if r.log_record.event_name == name]


@pytest.fixture
def logs(tracer_provider: TracerProvider) -> Iterator[Logs]:
    found = Logs(details=True, exceptions=True)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, capture_message_content=True)
    add_invocation_listener(found.events.record_call)
    yield found
    remove_invocation_listener(found.events.record_call)
    instrumentor.uninstrument()


def test_the_details_event_carries_the_call_with_structured_messages(logs: Logs, exporter: Any) -> None:
    with ReplayServer([json_response(chat_completion())]) as srv:
        client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
    (span,) = exporter.get_finished_spans()
    (found,) = logs.records(DETAILS_EVENT)
    record = found.log_record
    assert record.span_id == span.context.span_id and record.trace_id == span.context.trace_id
    assert record.attributes["gen_ai.operation.name"] == "chat"
    assert record.attributes["gen_ai.request.model"] == MODEL
    assert record.attributes["gen_ai.usage.input_tokens"] == span.attributes["gen_ai.usage.input_tokens"]
    messages = record.attributes["gen_ai.input.messages"]
    assert messages[0]["role"] == "user"  # structured, not the span's JSON string
    assert not any(key.startswith("llm_cost.") for key in record.attributes)
    assert found.instrumentation_scope.schema_url == SCHEMA_URL
    assert logs.records(EXCEPTION_EVENT) == []


def test_a_failed_call_gives_the_exception_event_at_warn(logs: Logs, exporter: Any) -> None:
    refusal = json_response({"error": {"message": "slow down"}}, status=429)
    with ReplayServer([refusal]) as srv, pytest.raises(openai.RateLimitError):
        client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
    (span,) = exporter.get_finished_spans()
    (found,) = logs.records(EXCEPTION_EVENT)
    record = found.log_record
    assert record.severity_number.value == 13
    assert record.attributes["exception.type"] == "openai.RateLimitError"
    assert "slow down" in record.attributes["exception.message"]
    assert "Traceback" in record.attributes["exception.stacktrace"]
    assert record.span_id == span.context.span_id


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT": "true"}, True),
        ({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only"}, False),
        ({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY"}, True),
        ({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_and_event"}, True),
    ],
)
def test_the_details_event_is_opt_in_with_the_official_switches(
    environ: dict[str, str], expected: bool
) -> None:
    assert details_enabled(environ) is expected


def test_instrument_takes_a_logger_provider_and_the_environment_switch(
    tracer_provider: TracerProvider, exporter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT", "true")
    logs = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, logger_provider=provider)
    try:
        with ReplayServer([json_response(chat_completion())]) as srv:
            client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    (found,) = logs.get_finished_logs()
    assert found.log_record.event_name == DETAILS_EVENT
    assert "gen_ai.input.messages" not in found.log_record.attributes  # content capture is off
