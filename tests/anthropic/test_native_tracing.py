"""Exactly one LLM span per call, whether the SDK's own tracing is on, off, or absent (anthropic 0.x).

With the SDK's tracing on, its call span is folded into ours (see ``_native``): its trace context is what
the SDK propagates. In the SDK's default content mode the SDK records nothing (its tracing work is
skipped) and our span takes the response's status code and account headers; in ``content`` mode it keeps
what the SDK records (``url.*``, ``http.*``, content).
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from claude_replay import (
    CACHED,
    CACHED_STREAM,
    SDK_HAS_TRACING,
    expected_token_attributes,
    only_span,
    recorded,
    request,
    token_attributes,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import attributes as attr
from replay import ReplayServer, json_response
from sdk_calls import anthropic_client, kwargs_for

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
needs_sdk_tracing = pytest.mark.skipif(not SDK_HAS_TRACING, reason="this anthropic version has no tracing")

SURFACES = ("create", "create_stream", "stream_helper")
# Recorded usage of CACHED[0] (non-streaming) and CACHED_STREAM[0].
_SDK_ONLY = ("http.response.status_code", "url.path", "http.request.method")
# What only the SDK's own tracing records (in content mode), beyond what a quiet fold reads.
_SDK_RECORDED = ("url.path", "http.request.method")


def _call(client: Any, surface: str) -> tuple[Any, dict[str, Any]]:
    """Make the call; return the served interaction's request id and the final usage as sent."""
    if surface == "create":
        message = client.messages.create(**kwargs_for(client.messages.create, request(recorded(CACHED))))
        return message._request_id, message.usage.to_dict()
    body = request(recorded(CACHED_STREAM))
    if surface == "create_stream":
        events = list(client.messages.create(**kwargs_for(client.messages.create, body)))
        usage = {**events[0].message.usage.to_dict(), "output_tokens": events[-2].usage.output_tokens}
        return None, usage
    body.pop("stream")
    with client.messages.stream(**kwargs_for(client.messages.stream, body)) as stream:
        return stream.request_id, stream.get_final_message().usage.to_dict()


def _interaction(surface: str) -> Any:
    return recorded(CACHED if surface == "create" else CACHED_STREAM)


def _sdk_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _assert_ours(span: Any, usage: dict[str, Any], surface: str) -> None:
    assert span.instrumentation_scope.name == "otel_llm_cost.instrumentation.anthropic"
    assert span.name == "chat claude-3-5-sonnet-20240620"
    assert token_attributes(span) == expected_token_attributes(usage)
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert span.attributes[attr.ANTHROPIC_REQUEST_ID].startswith("req_")
    assert span.attributes[attr.LLM_COST_COST_STATUS] == attr.COST_PRICED
    if surface != "create":
        assert span.attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


# --- on (the default in anthropic >= 1) ------------------------------------------------------------------


@needs_sdk_tracing
def test_uninstrumented_sdk_emits_its_own_span() -> None:
    """The baseline the next tests change: without us, the SDK's provider gets one span per call."""
    sdk_provider, sdk_exporter = _sdk_provider()
    with ReplayServer([_interaction("create")], prefix="") as server:
        _call(anthropic_client(server, open_telemetry={"tracer_provider": sdk_provider}), "create")
    assert [s.name for s in sdk_exporter.get_finished_spans()] == ["anthropic.messages.create"]


@needs_sdk_tracing
@pytest.mark.parametrize("surface", SURFACES)
def test_on_with_another_provider_folds_into_one_span(surface: str, instrumented: Any, exporter: Any) -> None:
    sdk_provider, sdk_exporter = _sdk_provider()
    with ReplayServer([_interaction(surface)], prefix="") as server:
        client = anthropic_client(server, open_telemetry={"tracer_provider": sdk_provider})
        request_id, usage = _call(client, surface)
        sent = server.requests[0].headers
    assert sdk_exporter.get_finished_spans() == ()
    span = only_span(exporter)
    _assert_ours(span, usage, surface)
    # The response's status and account headers are read by us; the SDK's own tracing is skipped...
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["anthropic.organization.id"] == "REDACTED"  # as recorded
    assert not set(_SDK_RECORDED) & set(span.attributes)
    if request_id:
        assert span.attributes[attr.ANTHROPIC_REQUEST_ID] == request_id
    # ...and the trace context it sent is our span's.
    context = span.get_span_context()
    assert sent["traceparent"].split("-")[1:3] == [f"{context.trace_id:032x}", f"{context.span_id:016x}"]


@needs_sdk_tracing
def test_on_with_the_same_provider_is_one_span(
    tracer_provider: Any, instrumented: Any, exporter: Any
) -> None:
    with ReplayServer([_interaction("create")], prefix="") as server:
        client = anthropic_client(server, open_telemetry={"tracer_provider": tracer_provider})
        _, usage = _call(client, "create")
    _assert_ours(only_span(exporter), usage, "create")


@needs_sdk_tracing
@pytest.mark.parametrize("surface", SURFACES)
def test_on_in_content_mode_keeps_what_the_sdk_records(
    surface: str, instrumented: Any, exporter: Any
) -> None:
    sdk_provider, sdk_exporter = _sdk_provider()
    option = {"tracer_provider": sdk_provider, "traces": {"content_mode": "content"}}
    with ReplayServer([_interaction(surface)], prefix="") as server:
        request_id, usage = _call(anthropic_client(server, open_telemetry=option), surface)
        sent = server.requests[0].headers
    assert sdk_exporter.get_finished_spans() == ()
    span = only_span(exporter)
    _assert_ours(span, usage, surface)
    if surface == "create":  # a stream's content is recorded by the SDK after our span ended: dropped
        assert attr.GEN_AI_OUTPUT_MESSAGES in span.attributes
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["url.path"] == "/v1/messages"
    assert span.attributes["http.request.method"] == "POST"
    assert span.attributes["anthropic.organization.id"] == "REDACTED"
    if request_id:
        assert span.attributes[attr.ANTHROPIC_REQUEST_ID] == request_id
    context = span.get_span_context()
    assert sent["traceparent"].split("-")[1:3] == [f"{context.trace_id:032x}", f"{context.span_id:016x}"]


@needs_sdk_tracing
def test_on_an_error_response_gives_its_status_and_headers(instrumented: Any, exporter: Any) -> None:
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "scripted"}}
    headers = {"request-id": "req_scripted", "anthropic-organization-id": "org_1"}
    with ReplayServer([json_response(body, status=429, headers=headers)], prefix="") as server:
        client = anthropic_client(server, open_telemetry={"tracer_provider": _sdk_provider()[0]})
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(**kwargs_for(client.messages.create, request(recorded(CACHED))))
    attributes = only_span(exporter).attributes
    assert attributes["http.response.status_code"] == 429
    assert attributes["anthropic.organization.id"] == "org_1"
    assert attributes[attr.ANTHROPIC_REQUEST_ID] == "req_scripted"
    assert attributes[attr.ERROR_TYPE] == "anthropic.RateLimitError"


# --- off ---------------------------------------------------------------------------------------------------


@needs_sdk_tracing
@pytest.mark.parametrize("surface", SURFACES)
def test_off_by_client_option(surface: str, instrumented: Any, exporter: Any) -> None:
    sdk_provider, sdk_exporter = _sdk_provider()
    option = {"tracer_provider": sdk_provider, "traces": False}
    with ReplayServer([_interaction(surface)], prefix="") as server:
        _, usage = _call(anthropic_client(server, open_telemetry=option), surface)
    assert sdk_exporter.get_finished_spans() == ()
    span = only_span(exporter)
    _assert_ours(span, usage, surface)
    assert not set(_SDK_ONLY) & set(span.attributes)


@needs_sdk_tracing
@pytest.mark.parametrize("surface", SURFACES)
def test_off_by_environment(
    surface: str, instrumented: Any, exporter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")
    with ReplayServer([_interaction(surface)], prefix="") as server:
        client = anthropic_client(server)
        assert client.open_telemetry["traces"]["enabled"] is False
        _, usage = _call(client, surface)
    span = only_span(exporter)
    _assert_ours(span, usage, surface)
    assert not set(_SDK_ONLY) & set(span.attributes)


# --- absent (anthropic 0.x) --------------------------------------------------------------------------------


@pytest.mark.skipif(SDK_HAS_TRACING, reason="this anthropic version traces its own calls")
@pytest.mark.parametrize("surface", SURFACES)
def test_absent(surface: str, instrumented: Any, exporter: Any) -> None:
    with ReplayServer([_interaction(surface)], prefix="") as server:
        _, usage = _call(anthropic_client(server), surface)
    span = only_span(exporter)
    _assert_ours(span, usage, surface)
    assert not set(_SDK_ONLY) & set(span.attributes)
