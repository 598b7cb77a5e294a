"""Synchronous ``messages.create`` / ``parse`` / ``beta.messages.create``, replayed through the real SDK."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from claude_replay import (
    BETA,
    BETA_STREAM,
    CACHED,
    CACHED_STREAM,
    PARSE,
    expected_token_attributes,
    llm_spans,
    only_span,
    recorded,
    request,
    token_attributes,
)
from opentelemetry.trace import SpanKind, StatusCode

from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor, _extract
from replay import ReplayServer, json_response
from sdk_calls import anthropic_client, kwargs_for

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


def _create(client: Any, body: dict[str, Any]) -> Any:
    return client.messages.create(**kwargs_for(client.messages.create, body))


def test_cache_write_then_read_are_two_spans_with_recorded_usage(instrumented: Any, exporter: Any) -> None:
    write, read = recorded(CACHED, 0), recorded(CACHED, 1)
    with ReplayServer([write, read], prefix="") as server:
        client = anthropic_client(server)
        first = _create(client, request(write))
        second = _create(client, request(read))
    spans = llm_spans(exporter)
    assert len(spans) == 2 == len(exporter.get_finished_spans())
    for span, message in zip(spans, (first, second), strict=True):
        assert token_attributes(span) == expected_token_attributes(message.usage.to_dict())
    assert spans[0].attributes[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 1163
    assert spans[1].attributes[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1163
    assert spans[1].attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 4 + 1163


def test_request_and_response_attributes(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(CACHED, 0)
    body = request(interaction, temperature=0.3, top_k=7, stop_sequences=["END"])
    with ReplayServer([interaction], prefix="") as server:
        message = _create(anthropic_client(server), body)
        port = int(server.url.rsplit(":", 1)[1])
    span = only_span(exporter)
    assert span.name == "chat claude-3-5-sonnet-20240620"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is not StatusCode.ERROR
    attributes = span.attributes
    assert {k: attributes[k] for k in _REQUEST_KEYS} == {
        attr.GEN_AI_OPERATION_NAME: "chat",
        attr.GEN_AI_PROVIDER_NAME: "anthropic",
        attr.GEN_AI_REQUEST_MODEL: "claude-3-5-sonnet-20240620",
        attr.GEN_AI_REQUEST_MAX_TOKENS: 1024,
        attr.GEN_AI_REQUEST_TEMPERATURE: 0.3,
        attr.GEN_AI_REQUEST_TOP_K: 7,
        attr.GEN_AI_REQUEST_STOP_SEQUENCES: ("END",),
        attr.GEN_AI_REQUEST_STREAM: False,
        attr.SERVER_ADDRESS: "127.0.0.1",
        attr.SERVER_PORT: port,
    }
    assert attributes[attr.GEN_AI_RESPONSE_ID] == message.id
    assert attributes[attr.GEN_AI_RESPONSE_MODEL] == message.model
    assert attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == (message.stop_reason,)
    assert attributes[attr.ANTHROPIC_REQUEST_ID] == "req_01MyCwuG5h48foDrdeatkutj"
    assert attributes[attr.LLM_COST_USAGE_SOURCE] == "provider"
    assert attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in attributes
    assert attr.LLM_COST_STREAM_OUTCOME not in attributes


_REQUEST_KEYS = (
    attr.GEN_AI_OPERATION_NAME,
    attr.GEN_AI_PROVIDER_NAME,
    attr.GEN_AI_REQUEST_MODEL,
    attr.GEN_AI_REQUEST_MAX_TOKENS,
    attr.GEN_AI_REQUEST_TEMPERATURE,
    attr.GEN_AI_REQUEST_TOP_K,
    attr.GEN_AI_REQUEST_STOP_SEQUENCES,
    attr.GEN_AI_REQUEST_STREAM,
    attr.SERVER_ADDRESS,
    attr.SERVER_PORT,
)


def test_cost_is_priced_from_the_inclusive_usage(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(CACHED, 0)
    with ReplayServer([interaction], prefix="") as server:
        _create(anthropic_client(server), request(interaction))
    attributes = only_span(exporter).attributes
    # A legacy recording (no 5-minute / 1-hour split): the API had only 5-minute writes then (#17).
    assert attributes[attr.LLM_COST_COST_STATUS] == attr.COST_PRICED
    assert (
        attributes[attr.LLM_COST_USAGE_CACHE_WRITE_5M]
        == attributes[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS]
    )
    assert attributes[attr.GEN_AI_USAGE_COST_CURRENCY] == "USD"
    assert attributes[attr.LLM_COST_COST_CACHE_WRITE] > attributes[attr.LLM_COST_COST_INPUT] > 0


def test_create_stream_records_usage_ttft_and_outcome(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(CACHED_STREAM, 0)
    with ReplayServer([interaction], prefix="") as server:
        stream = _create(anthropic_client(server), request(interaction))
        # The proxy passes for the SDK's class (0.x's Stream metaclass answers isinstance() itself).
        assert stream.__class__ is anthropic.Stream
        events = list(stream)
    start = next(e for e in events if e.type == "message_start")
    final = [e for e in events if e.type == "message_delta"][-1]
    attributes = only_span(exporter).attributes
    assert (
        attributes[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS]
        == start.message.usage.cache_creation_input_tokens
    )
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == final.usage.output_tokens
    assert attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert attributes[attr.LLM_COST_STREAM_OUTCOME] == attr.STREAM_COMPLETED
    assert attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attributes[attr.ANTHROPIC_REQUEST_ID] == "req_01JSeMFFxkhLG8Rhohx2omtN"


def test_beta_messages_create(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(BETA)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        method = client.beta.messages.create
        message = method(**kwargs_for(method, request(interaction)))
    assert token_attributes(only_span(exporter)) == expected_token_attributes(message.usage.to_dict())


def test_beta_messages_create_stream(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(BETA_STREAM)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        method = client.beta.messages.create
        events = list(method(**kwargs_for(method, request(interaction))))
    attributes = only_span(exporter).attributes
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == events[-2].usage.output_tokens
    assert attributes[attr.LLM_COST_STREAM_OUTCOME] == attr.STREAM_COMPLETED


def test_parse(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(PARSE)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        if not hasattr(client.messages, "parse"):
            pytest.skip("this anthropic version has no messages.parse")
        message = client.messages.parse(model="claude-sonnet-4-6", max_tokens=256, messages=_HELLO)
    assert token_attributes(only_span(exporter)) == expected_token_attributes(message.usage.to_dict())


_HELLO = [{"role": "user", "content": "Hello"}]


@pytest.mark.parametrize(
    ("status", "kind", "exception"),
    [
        (400, "invalid_request_error", anthropic.BadRequestError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (529, "overloaded_error", anthropic.APIStatusError),
    ],
)
def test_api_errors_reach_the_caller_and_mark_the_span(
    status: int, kind: str, exception: type[Exception], instrumented: Any, exporter: Any
) -> None:
    body = {"type": "error", "error": {"type": kind, "message": "scripted"}}
    scripted = json_response(body, status=status, headers={"request-id": "req_scripted"})
    with ReplayServer([scripted], prefix="") as server, pytest.raises(exception) as raised:
        anthropic_client(server).messages.create(
            model="claude-3-5-haiku-latest", max_tokens=8, messages=_HELLO
        )
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (
        span.attributes[attr.ERROR_TYPE] == f"{type(raised.value).__module__}.{type(raised.value).__name__}"
    )
    assert span.attributes[attr.ANTHROPIC_REQUEST_ID] == "req_scripted"
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes


def test_connection_error_reaches_the_caller(instrumented: Any, exporter: Any) -> None:
    with ReplayServer([], prefix="") as server:
        url = server.url
    client = anthropic.Anthropic(base_url=url, api_key="k", max_retries=0)  # the server is gone
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(model="claude-3-5-haiku-latest", max_tokens=8, messages=_HELLO)
    assert only_span(exporter).attributes[attr.ERROR_TYPE].endswith("APIConnectionError")


def test_our_failure_never_reaches_the_caller(
    instrumented: Any, exporter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("bug in otel-llm-cost")

    monkeypatch.setattr(_extract, "extract_usage", broken)
    interaction = recorded(CACHED, 0)
    with ReplayServer([interaction], prefix="") as server:
        message = _create(anthropic_client(server), request(interaction))
    assert message.usage.cache_creation_input_tokens == 1163
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in only_span(exporter).attributes


def test_cloud_clients_name_their_provider(instrumented: Any, exporter: Any) -> None:
    """Claude on Bedrock / Vertex through the SDK's own clients (the messages body is the same)."""
    interaction = recorded(CACHED, 0).with_(method=None, path=None)
    clients = {
        "gcp.vertex_ai": lambda url: anthropic.AnthropicVertex(
            access_token="t", region="us-east5", project_id="p", base_url=url, max_retries=0
        )
    }
    if "api_key" in anthropic.AnthropicBedrock.__init__.__code__.co_varnames:  # bearer auth: no botocore
        clients["aws.bedrock"] = lambda url: anthropic.AnthropicBedrock(
            api_key="k", aws_region="us-east-1", base_url=url, max_retries=0
        )
    for provider, make in clients.items():
        with ReplayServer([interaction], prefix="") as server:
            make(server.url).messages.create(
                model="claude-3-5-sonnet@20240620", max_tokens=8, messages=_HELLO
            )
        span = llm_spans(exporter)[-1]
        assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == provider
        assert span.attributes[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 1163
    assert len(exporter.get_finished_spans()) == len(clients)


def test_uninstrument_restores_the_sdk(tracer_provider: Any, exporter: Any) -> None:
    original = anthropic.resources.messages.Messages.create
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert anthropic.resources.messages.Messages.create is not original
    instrumentor.uninstrument()
    assert anthropic.resources.messages.Messages.create is original
    interaction = recorded(CACHED, 0)
    with ReplayServer([interaction], prefix="") as server:
        _create(anthropic_client(server), request(interaction))
    assert exporter.get_finished_spans() == ()
