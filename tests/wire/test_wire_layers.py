"""One LLM span per call, whichever layers see it: the SDK wrappers above, the wire capture beneath.

The real ``openai`` and ``anthropic`` SDKs (over httpx2) talk to the loopback replay server. With our SDK
wrappers on, the wire capture adds nothing; without them (or on a path no wrapper covers, such as the
OpenAI client's generic ``post``, LiteLLM's route), the wire capture gives the span. Another
instrumentation's LLM span (the ``anthropic`` SDK's own tracing) is the call's span too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from claude_replay import CACHED, CACHED_STREAM, expected_token_attributes, recorded
from oai_helpers import MESSAGES, USAGE, chat_completion, chat_stream
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from replay import json_response, sse_response

WIRE_SCOPE = "otel_llm_cost.instrumentation.wire"


def llm_spans(exporter: Any) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if attr.GEN_AI_OPERATION_NAME in (s.attributes or {})]


@pytest.fixture
def sdk_wrappers(tracer_provider: TracerProvider) -> Iterator[None]:
    wrappers = (OpenAIInstrumentor(), AnthropicInstrumentor())
    for wrapper in wrappers:
        wrapper.instrument(tracer_provider=tracer_provider)
    yield
    for wrapper in wrappers:
        wrapper.uninstrument()


def _openai(srv: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)


@pytest.mark.parametrize("stream", [False, True])
def test_openai_sdk_with_our_wrapper_gives_its_span_only(replay_server, wire, sdk_wrappers, exporter, stream):
    reply = sse_response(chat_stream()) if stream else json_response(chat_completion())
    with replay_server([reply]) as srv:
        result = _openai(srv).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=stream)
        if stream:
            list(result)
    (span,) = llm_spans(exporter)
    assert span.instrumentation_scope.name == "otel_llm_cost.instrumentation.openai"
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == USAGE["prompt_tokens"]


@pytest.mark.parametrize("path", [CACHED, CACHED_STREAM])
def test_anthropic_sdk_with_our_wrapper_gives_its_span_only(
    replay_server, wire, sdk_wrappers, exporter, path
):
    interaction = recorded(path)
    body = interaction.request_json()
    with replay_server([interaction], prefix="") as srv:
        client = anthropic.Anthropic(base_url=srv.url, api_key="k", max_retries=0)
        result = client.messages.create(**body)
        if body.get("stream"):
            list(result)
    (span,) = llm_spans(exporter)
    assert span.instrumentation_scope.name == "otel_llm_cost.instrumentation.anthropic"


@pytest.mark.parametrize("stream", [False, True])
def test_openai_sdk_without_a_wrapper_is_recorded_by_the_wire(replay_server, wire, exporter, stream):
    reply = sse_response(chat_stream()) if stream else json_response(chat_completion())
    with replay_server([reply]) as srv:
        result = _openai(srv).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=stream, stream_options={"include_usage": True}
        )
        if stream:
            list(result)
    (span,) = llm_spans(exporter)
    assert span.instrumentation_scope.name == WIRE_SCOPE
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == USAGE["prompt_tokens"]
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == USAGE["completion_tokens"]
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "priced"
    if stream:
        assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "completed"
        assert span.attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


def test_openai_generic_post_is_recorded_by_the_wire(replay_server, wire, sdk_wrappers, exporter):
    """LiteLLM's OpenAI route: ``client.post("/chat/completions", ...)``, which no SDK wrapper covers."""
    with replay_server([json_response(chat_completion())]) as srv:
        completion = _openai(srv).post(
            "/chat/completions",
            body={"model": "gpt-4o-mini", "messages": MESSAGES},
            cast_to=openai.types.chat.ChatCompletion,
        )
    assert completion.usage.prompt_tokens == USAGE["prompt_tokens"]
    (span,) = llm_spans(exporter)
    assert span.instrumentation_scope.name == WIRE_SCOPE
    assert span.attributes[attr.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == USAGE["prompt_tokens"]


def test_anthropic_native_tracing_span_is_the_calls_span(replay_server, wire, tracer_provider, exporter):
    """The SDK's own call span is current while it sends: the wire capture adds nothing beneath it."""
    interaction = recorded(CACHED)
    with replay_server([interaction], prefix="") as srv:
        client = anthropic.Anthropic(
            base_url=srv.url, api_key="k", max_retries=0, open_telemetry={"tracer_provider": tracer_provider}
        )
        client.messages.create(**interaction.request_json())
    spans = llm_spans(exporter)
    assert [s.instrumentation_scope.name for s in spans] != [WIRE_SCOPE]
    assert len(spans) == 1, [(s.name, s.instrumentation_scope.name) for s in spans]


def test_anthropic_sdk_without_a_wrapper_or_tracing_is_recorded_by_the_wire(replay_server, wire, exporter):
    interaction = recorded(CACHED)
    with replay_server([interaction], prefix="") as srv:
        client = anthropic.Anthropic(base_url=srv.url, api_key="k", max_retries=0, open_telemetry=False)
        client.messages.create(**interaction.request_json())
    (span,) = llm_spans(exporter)
    assert span.instrumentation_scope.name == WIRE_SCOPE
    expected = expected_token_attributes(interaction.body_json()["usage"])
    assert {k: span.attributes[k] for k in expected} == expected


def test_http_client_spans_nest_under_the_llm_span(replay_server, wire, tracer_provider, exporter):
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor

    http = HTTPX2ClientInstrumentor()
    http.instrument(tracer_provider=tracer_provider)
    try:
        with replay_server([json_response(chat_completion())]) as srv:
            httpx2.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES})
    finally:
        http.uninstrument()
    (llm,) = llm_spans(exporter)
    others = [s for s in exporter.get_finished_spans() if s is not llm]
    assert others and all(s.parent is not None and s.parent.span_id == llm.context.span_id for s in others)


def test_llm_call_around_a_raw_request_is_one_span(replay_server, wire, tracer_provider, exporter):
    from otel_llm_cost import llm_call

    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    with replay_server([json_response(chat_completion())]) as srv:
        url = srv.url + "/v1/chat/completions"
        with llm_call(url=url, request=body, tracer_provider=tracer_provider) as call:
            call.set_usage(httpx2.post(url, json=body).json()["usage"])
    (span,) = llm_spans(exporter)
    assert span.instrumentation_scope.name != WIRE_SCOPE
