"""Issue #15, OpenAI side: caller-asked usage chunks, raw bodies read to the end, stream status, and
roll-ups over servers that repeat response ids. Real SDK over loopback HTTP."""

from __future__ import annotations

import pytest
from oai_helpers import MESSAGES, MODEL, USAGE, chat_completion, chat_stream, client, llm_spans
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost import agent_step
from otel_llm_cost import attributes as attr
from otel_llm_cost.processor import LLMCostSpanProcessor
from replay import json_response, sse_response


@pytest.fixture
def priced(tracer_provider: TracerProvider) -> TracerProvider:
    tracer_provider.add_span_processor(LLMCostSpanProcessor())
    return tracer_provider


def test_issue_15_a_server_repeating_response_ids_still_counts_every_call(
    replay_server, instrument, priced, exporter
):
    calls = 10
    with replay_server([json_response(chat_completion()) for _ in range(calls)]) as srv:
        sdk = client(srv)
        with agent_step("loop", tracer_provider=priced):
            for _ in range(calls):
                sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
    chats = [s for s in llm_spans(exporter) if s.name.startswith("chat ")]
    assert len(chats) == calls
    assert {s.attributes[attr.GEN_AI_RESPONSE_ID] for s in chats} == {"chatcmpl-scripted"}
    (step,) = [s for s in exporter.get_finished_spans() if s.name == "invoke_agent loop"]
    assert step.attributes[attr.LLM_COST_TOTAL_LLM_CALLS] == calls
    one = chats[0].attributes
    assert step.attributes[attr.LLM_COST_TOTAL_INPUT_TOKENS] == calls * one[attr.GEN_AI_USAGE_INPUT_TOKENS]


@pytest.mark.parametrize(
    "asked",
    [
        {"extra_body": {"stream_options": {"include_usage": True}}},
        {"stream_options": {"include_usage": True}},
        {
            "stream_options": {"include_usage": False},
            "extra_body": {"stream_options": {"include_usage": True}},
        },
    ],
    ids=["extra_body", "argument", "extra_body_overrides_argument"],
)
def test_issue_15_a_usage_chunk_the_caller_asked_for_reaches_the_caller(
    asked, replay_server, instrument, exporter
):
    with replay_server([sse_response(chat_stream())]) as srv:
        stream = client(srv).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, **asked)
        chunks = list(stream)
    assert srv.requests[0].json()["stream_options"] == {"include_usage": True}
    assert chunks[-1].usage is not None and chunks[-1].choices == []  # not hidden: the caller asked
    (span,) = llm_spans(exporter)
    assert span.attributes[attr.LLM_COST_USAGE_SOURCE] == "provider"
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == USAGE["completion_tokens"]


@pytest.mark.parametrize("read", ["iter_lines", "iter_bytes", "iter_text", "read", "text"])
@pytest.mark.parametrize("is_async", [False, True])
async def test_issue_15_a_stream_read_as_bytes_gets_no_injected_chunk_and_a_recorded_span(
    read, is_async, replay_server, instrument, exporter
):
    with replay_server([sse_response(chat_stream(usage=False))]) as srv:
        api = client(srv, is_async=is_async).chat.completions.with_streaming_response
        create = api.create(model=MODEL, messages=MESSAGES, stream=True)
        if is_async:
            async with create as response:
                got = getattr(response, read)()
                body = await got if read in ("read", "text") else [piece async for piece in got]
        else:
            with create as response:
                got = getattr(response, read)()
                body = got if read in ("read", "text") else list(got)
    assert "stream_options" not in srv.requests[0].json()  # nothing injected into what the app reads
    text = body.decode() if isinstance(body, bytes) else str(body)
    assert '"choices": []' not in text and '"choices":[]' not in text
    (span,) = llm_spans(exporter)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "completed"
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "estimated"
    assert attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in span.attributes


def test_issue_15_a_json_body_read_as_json_is_recorded_with_provider_usage(
    replay_server, instrument, exporter
):
    with replay_server([json_response(chat_completion())]) as srv:
        api = client(srv).chat.completions.with_streaming_response
        with api.create(model=MODEL, messages=MESSAGES) as response:
            assert response.json()["id"] == "chatcmpl-scripted"
    (span,) = llm_spans(exporter)
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == USAGE["completion_tokens"]
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "priced"


def test_issue_15_a_request_the_sdk_refuses_before_sending_is_not_an_llm_error(
    replay_server, instrument, exporter
):
    with replay_server([]) as srv:
        with pytest.raises(TypeError):
            client(srv).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, n="x", bogus=1)
        assert srv.requests == []
    (span,) = exporter.get_finished_spans()
    assert span.attributes[attr.LLM_COST_REQUEST_SENT] is False
    assert attr.ERROR_TYPE not in span.attributes
