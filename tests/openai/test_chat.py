"""``chat.completions.create`` / ``.parse``, not streamed: sync, async, raw and streaming-response forms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openai
import pydantic
import pytest
from oai_helpers import (
    MESSAGES,
    MODEL,
    USAGE,
    chat_completion,
    client,
    details,
    expected_tokens,
    find_recording,
    one_span,
    token_attributes,
)
from openai.types.chat import ChatCompletion
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Sampler
from opentelemetry.trace import SpanKind, StatusCode

import sdk_calls
from otel_llm_cost.apis import _openai_fields as _extract
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor, _patch
from otel_llm_cost.pricing import Pricer, get_pricer, set_pricer
from replay import ReplayServer, json_response


class Answer(pydantic.BaseModel):
    answer: str


@pytest.mark.parametrize("is_async", [False, True])
async def test_create_records_the_recorded_call(is_async: bool, instrument: Any, exporter: Any) -> None:
    interaction, entry = find_recording(
        lambda e: (
            e["provider"] == "openai"
            and e["api"] == "chat.completions"
            and not e["stream"]
            and details(e["usage"], "prompt_tokens_details", "cached_tokens") > 0
        )
    )
    with ReplayServer([interaction]) as srv:
        sdk_client = sdk_calls.openai_client(srv, is_async=is_async)
        call = sdk_calls.acall_openai(sdk_client, interaction) if is_async else None
        replayed = await call if call else sdk_calls.call_openai(sdk_client, interaction)
    assert isinstance(replayed.result, ChatCompletion)
    span = one_span(exporter)
    request = interaction.request_json()
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"chat {request['model']}"
    assert span.attributes["gen_ai.request.model"] == request["model"]
    assert span.attributes["gen_ai.response.model"] == replayed.result.model
    assert span.attributes["gen_ai.response.id"] == replayed.result.id
    assert list(span.attributes["gen_ai.response.finish_reasons"]) == [
        c.finish_reason for c in replayed.result.choices
    ]
    assert span.attributes["server.address"] == "127.0.0.1"
    assert span.attributes["gen_ai.request.stream"] is False
    assert token_attributes(span) == expected_tokens("chat.completions", entry["usage"])
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] > 0


class _StartAttributes(SpanProcessor):
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.seen.append(dict(span.attributes))


class _ReadingSampler(Sampler):
    """A sampler whose decision may depend on attributes: it records those it was shown."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def should_sample(self, parent_context: Any, trace_id: int, name: str, *args: Any, **kwargs: Any) -> Any:
        attributes = kwargs.get("attributes", args[1] if len(args) > 1 else None)
        self.seen.append(dict(attributes or {}))
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, *args, **kwargs)

    def get_description(self) -> str:
        return "reading"


def _call_with_every_parameter(srv: ReplayServer) -> None:
    client(srv).chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        max_completion_tokens=64,
        temperature=0.2,
        top_p=0.9,
        frequency_penalty=0.5,
        presence_penalty=-0.5,
        seed=7,
        n=2,
        stop=["END"],
        service_tier="flex",
    )


def _request_attributes(port: object) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "self_hosted",  # a loopback server: never named by its address (#14)
        "gen_ai.request.model": MODEL,
        "server.address": "127.0.0.1",
        "server.port": port,
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.presence_penalty": -0.5,
        "gen_ai.request.seed": 7,
        "gen_ai.request.choice.count": 2,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.stream": False,
        "openai.request.service_tier": "flex",
    }


def test_a_sampler_that_reads_attributes_sees_the_request_attributes_at_start(exporter: Any) -> None:
    sampler = _ReadingSampler()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    started = _StartAttributes()
    provider.add_span_processor(started)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with ReplayServer([json_response(chat_completion())]) as srv:
            _call_with_every_parameter(srv)
    finally:
        instrumentor.uninstrument()
    (shown,) = sampler.seen
    assert shown == {**_request_attributes(shown["server.port"]), "gen_ai.request.stop_sequences": ["END"]}
    assert isinstance(shown["server.port"], int)
    (attributes,) = started.seen  # and so do span processors' on_start
    assert attributes == _request_attributes(shown["server.port"])


def test_with_the_default_sampler_the_span_holds_the_request_attributes(
    instrument: Any, tracer_provider: Any, exporter: Any
) -> None:
    """The default sampler reads no attributes: they are written just after the start (#20), the same."""
    started = _StartAttributes()
    tracer_provider.add_span_processor(started)
    with ReplayServer([json_response(chat_completion())]) as srv:
        _call_with_every_parameter(srv)
    assert started.seen == [{}]  # documented: on_start sees them only with a sampler that may read them
    span = one_span(exporter)
    port = span.attributes["server.port"]
    assert isinstance(port, int)
    assert {key: span.attributes[key] for key in _request_attributes(port)} == _request_attributes(port)


@pytest.mark.parametrize("is_async", [False, True])
async def test_parse_gives_one_span_with_usage(is_async: bool, instrument: Any, exporter: Any) -> None:
    with ReplayServer([json_response(chat_completion())]) as srv:
        completions = client(srv, is_async=is_async).chat.completions
        result = completions.parse(model=MODEL, messages=MESSAGES, response_format=Answer)
        parsed = await result if is_async else result
    assert parsed.choices[0].message.parsed == Answer(answer="hello")
    span = one_span(exporter)
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.usage.input_tokens"] == USAGE["prompt_tokens"]
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]


def test_parse_length_error_keeps_the_billed_usage(instrument: Any, exporter: Any) -> None:
    body = chat_completion()
    body["choices"][0]["finish_reason"] = "length"
    with ReplayServer([json_response(body)]) as srv, pytest.raises(openai.LengthFinishReasonError):
        client(srv).chat.completions.parse(model=MODEL, messages=MESSAGES, response_format=Answer)
    span = one_span(exporter)
    assert span.attributes["error.type"] == "openai.LengthFinishReasonError"
    assert span.attributes["gen_ai.usage.input_tokens"] == USAGE["prompt_tokens"]
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.parametrize("method", ["create", "parse"])
@pytest.mark.parametrize("is_async", [False, True])
async def test_with_raw_response(method: str, is_async: bool, instrument: Any, exporter: Any) -> None:
    with ReplayServer([json_response(chat_completion(), headers={"x-request-id": "req_1"})]) as srv:
        raw_api = client(srv, is_async=is_async).chat.completions.with_raw_response
        kwargs: dict[str, Any] = {"response_format": Answer} if method == "parse" else {}
        result = getattr(raw_api, method)(model=MODEL, messages=MESSAGES, **kwargs)
        raw = await result if is_async else result
    assert isinstance(raw, openai._legacy_response.LegacyAPIResponse)
    assert raw.headers["x-request-id"] == "req_1"
    completion = raw.parse()
    assert completion.usage.prompt_tokens == USAGE["prompt_tokens"]
    assert raw.parse() is completion  # parsing twice gives the SDK's cached object
    span = one_span(exporter)
    assert span.attributes["gen_ai.usage.input_tokens"] == USAGE["prompt_tokens"]
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-scripted"


@pytest.mark.parametrize("is_async", [False, True])
async def test_with_streaming_response(is_async: bool, instrument: Any, exporter: Any) -> None:
    with ReplayServer([json_response(chat_completion())]) as srv:
        api = client(srv, is_async=is_async).chat.completions.with_streaming_response
        if is_async:
            async with api.create(model=MODEL, messages=MESSAGES) as response:
                assert isinstance(response, openai._response.AsyncAPIResponse)
                completion = await response.parse()
        else:
            with api.create(model=MODEL, messages=MESSAGES) as response:
                assert isinstance(response, openai._response.APIResponse)
                completion = response.parse()
    assert isinstance(completion, ChatCompletion)
    span = one_span(exporter)
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]


def test_with_streaming_response_read_as_bytes_is_recorded_from_the_body(
    instrument: Any, exporter: Any
) -> None:
    with ReplayServer([json_response(chat_completion())]) as srv:
        api = client(srv).chat.completions.with_streaming_response
        with api.create(model=MODEL, messages=MESSAGES) as response:
            assert json.loads(response.read())["id"] == "chatcmpl-scripted"
    span = one_span(exporter)
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]  # issue #15


def test_with_streaming_response_never_read_still_ends_the_span(instrument: Any, exporter: Any) -> None:
    with ReplayServer([json_response(chat_completion())]) as srv:
        api = client(srv).chat.completions.with_streaming_response
        with api.create(model=MODEL, messages=MESSAGES):
            pass
    span = one_span(exporter)
    assert "gen_ai.usage.input_tokens" not in span.attributes


@pytest.mark.parametrize("is_async", [False, True])
async def test_http_error_reaches_the_caller_unchanged(
    is_async: bool, instrument: Any, exporter: Any
) -> None:
    error_body = {
        "error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}
    }
    with ReplayServer([json_response(error_body, 429)]) as srv, pytest.raises(openai.RateLimitError) as info:
        result = client(srv, is_async=is_async).chat.completions.create(model=MODEL, messages=MESSAGES)
        if is_async:
            await result
    assert info.value.status_code == 429
    span = one_span(exporter)
    assert span.attributes["error.type"] == "openai.RateLimitError"
    assert span.status.status_code is StatusCode.ERROR
    assert "gen_ai.usage.input_tokens" not in span.attributes


def test_azure_client_is_attributed_to_azure(instrument: Any, exporter: Any) -> None:
    with ReplayServer([json_response(chat_completion())]) as srv:
        azure = openai.AzureOpenAI(
            azure_endpoint=srv.url, api_version="2024-10-21", api_key="test-key", max_retries=0
        )
        azure.chat.completions.create(model="my-deployment", messages=MESSAGES)
    span = one_span(exporter)
    assert span.attributes["gen_ai.provider.name"] == "azure.ai.openai"
    assert srv.requests[0].path == "/openai/deployments/my-deployment/chat/completions"


class _SpyPricer(Pricer):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    def price(self, usage: Any, model: Any, provider: Any, **kwargs: Any) -> Any:
        self.calls.append({"usage": usage, "model": model, "provider": provider, **kwargs})
        return super().price(usage, model, provider, **kwargs)


@pytest.fixture
def spy_pricer() -> Iterator[_SpyPricer]:
    previous = get_pricer()
    spy = _SpyPricer()
    set_pricer(spy)
    yield spy
    set_pricer(previous)


def test_service_tier_and_provider_cost_reach_pricing(
    instrument: Any, exporter: Any, spy_pricer: _SpyPricer
) -> None:
    body = chat_completion(service_tier="flex", usage={**USAGE, "cost": 0.00123})
    with ReplayServer([json_response(body)]) as srv:
        client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
    (call,) = spy_pricer.calls
    assert call["service_tier"] == "flex"
    assert call["provider_cost"] == 0.00123
    assert call["model"] == "gpt-4o-mini-2024-07-18"
    span = one_span(exporter)
    assert span.attributes["openai.response.service_tier"] == "flex"
    assert span.attributes["gen_ai.usage.cost.source"] == "provider"
    assert Decimal(str(span.attributes["gen_ai.usage.cost.amount"])) == Decimal("0.00123")


def test_a_fault_of_ours_never_reaches_the_caller(
    instrument: Any, exporter: Any, monkeypatch: Any, no_instrumentation_faults: Any
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("bug in the extractor")

    monkeypatch.setattr(_extract, "chat_completion_fields", broken)
    with ReplayServer([json_response(chat_completion())]) as srv:
        completion = client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.id == "chatcmpl-scripted"
    assert one_span(exporter).end_time is not None
    logged = [r.getMessage() for r in no_instrumentation_faults.records]
    assert "otel-llm-cost could not record an OpenAI response" in logged
    no_instrumentation_faults.records.clear()


def test_a_fault_at_start_leaves_the_call_untraced(
    instrument: Any, exporter: Any, monkeypatch: Any, no_instrumentation_faults: Any
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("bug in the request reader")

    monkeypatch.setattr(_patch, "_server_of", broken)
    with ReplayServer([json_response(chat_completion())]) as srv:
        completion = client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.usage.total_tokens == USAGE["total_tokens"]
    assert exporter.get_finished_spans() == ()
    no_instrumentation_faults.records.clear()


def test_span_nests_under_the_callers_span_and_over_the_http_request(
    instrument: Any, exporter: Any, tracer_provider: Any
) -> None:
    tracer = tracer_provider.get_tracer("test")
    inside: list[Any] = []

    def on_request(request: Any) -> None:
        with tracer.start_as_current_span("http request") as span:  # what an HTTP instrumentation would do
            inside.append(span)

    http_client = openai.DefaultHttpxClient(event_hooks={"request": [on_request]})
    with ReplayServer([json_response(chat_completion())]) as srv, tracer.start_as_current_span("agent step"):
        client(srv, http_client=http_client).chat.completions.create(model=MODEL, messages=MESSAGES)
    llm = one_span(exporter)
    (step,) = [s for s in exporter.get_finished_spans() if s.name == "agent step"]
    assert llm.parent.span_id == step.context.span_id
    assert inside[0].parent.span_id == llm.context.span_id


def test_a_one_shot_messages_iterable_is_left_to_the_sdk(instrument_with_content: Any, exporter: Any) -> None:
    with ReplayServer([json_response(chat_completion())]) as srv:
        client(srv).chat.completions.create(model=MODEL, messages=(m for m in MESSAGES))
    assert srv.requests[0].json()["messages"] == MESSAGES
    assert one_span(exporter).attributes["gen_ai.usage.input_tokens"] == USAGE["prompt_tokens"]


def test_whole_number_sampling_parameters_are_written_as_the_conventions_type_them(
    instrument: Any, exporter: Any
) -> None:
    """``temperature=1`` is a double attribute (1.0), as the conventions type it, not an int one: a backend
    with typed columns would otherwise see both types under one name."""
    with ReplayServer([json_response(chat_completion())]) as srv:
        client(srv).chat.completions.create(
            model=MODEL, messages=MESSAGES, temperature=1, top_p=1, frequency_penalty=0, presence_penalty=-1
        )
    attributes = one_span(exporter).attributes
    written = {
        key: attributes[key]
        for key in (
            "gen_ai.request.temperature",
            "gen_ai.request.top_p",
            "gen_ai.request.frequency_penalty",
            "gen_ai.request.presence_penalty",
        )
    }
    assert written == {
        "gen_ai.request.temperature": 1.0,
        "gen_ai.request.top_p": 1.0,
        "gen_ai.request.frequency_penalty": 0.0,
        "gen_ai.request.presence_penalty": -1.0,
    }
    assert all(type(value) is float for value in written.values())
