"""Request and response fields of the newest GenAI conventions, on real SDK calls (#18).

``gen_ai.request.reasoning.level``, ``gen_ai.request.previous_response.id``,
``openai.response.system_fingerprint``, ``gen_ai.embeddings.dimension.count``, ``gen_ai.request.stream``
set both ways, and the output messages' deprecated ``finish_reason`` (kept by default, as the official
packages do; dropped under ``gen_ai_latest_experimental``), consistent with the span's finish reasons.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from oai_helpers import (
    MESSAGES,
    MODEL,
    chat_completion,
    chat_stream,
    client,
    details,
    find_recording,
    one_span,
)

import sdk_calls
from otel_llm_cost._config import SEMCONV_STABILITY_OPT_IN, semconv_latest
from replay import ReplayServer, json_response, sse_response


@pytest.fixture(params=["default", "latest"])
def edition(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "latest":
        monkeypatch.setenv(SEMCONV_STABILITY_OPT_IN, "http, gen_ai_latest_experimental")
    else:
        monkeypatch.delenv(SEMCONV_STABILITY_OPT_IN, raising=False)
    semconv_latest.cache_clear()
    yield request.param
    semconv_latest.cache_clear()


def test_chat_records_reasoning_level_fingerprint_and_stream_false(instrument: Any, exporter: Any) -> None:
    body = chat_completion(system_fingerprint="fp_44709d6fcb")
    with ReplayServer([json_response(body)]) as srv:
        client(srv).chat.completions.create(model=MODEL, messages=MESSAGES, reasoning_effort="low")
    span = one_span(exporter)
    assert span.attributes["gen_ai.request.reasoning.level"] == "low"
    assert span.attributes["openai.response.system_fingerprint"] == "fp_44709d6fcb"
    assert span.attributes["gen_ai.request.stream"] is False


def test_chat_stream_records_fingerprint_and_stream_true(instrument: Any, exporter: Any) -> None:
    events = chat_stream()
    for event in events:
        if isinstance(event, dict):
            event["system_fingerprint"] = "fp_stream"
    with ReplayServer([sse_response(events)]) as srv:
        for _ in client(srv).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            pass
    span = one_span(exporter)
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["openai.response.system_fingerprint"] == "fp_stream"


def test_responses_record_reasoning_level_and_previous_response(
    edition: str, instrument_with_content: Any, exporter: Any
) -> None:
    interaction, _ = find_recording(
        lambda e: (
            e["api"] == "responses"
            and not e["stream"]
            and details(e["usage"], "output_tokens_details", "reasoning_tokens") > 0
        )
    )
    request = interaction.request_json()
    request.update(reasoning={"effort": "high"}, previous_response_id="resp_0123456789aBCdef")
    with ReplayServer([interaction]) as srv:
        method = sdk_calls.openai_client(srv).responses.create
        method(**sdk_calls.kwargs_for(method, request))
    span = one_span(exporter)
    assert span.attributes["gen_ai.request.reasoning.level"] == "high"
    assert span.attributes["gen_ai.request.previous_response.id"] == "resp_0123456789aBCdef"
    (message,) = json.loads(span.attributes["gen_ai.output.messages"])
    if edition == "latest":
        assert "finish_reason" not in message  # deprecated: the span's finish reasons hold it
    else:  # the same value as on the span, not the Responses status ("completed")
        assert [message["finish_reason"]] == list(span.attributes["gen_ai.response.finish_reasons"])


def test_chat_output_messages_drop_the_deprecated_finish_reason_when_opted_in(
    edition: str, instrument_with_content: Any, exporter: Any
) -> None:
    with ReplayServer([json_response(chat_completion())]) as srv:
        client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
    (message,) = json.loads(one_span(exporter).attributes["gen_ai.output.messages"])
    assert ("finish_reason" in message) is (edition == "default")


def test_embeddings_record_the_dimension_count(instrument: Any, exporter: Any) -> None:
    interaction, _ = find_recording(lambda e: e["api"] == "embeddings" and e["provider"] == "openai")
    with ReplayServer([interaction]) as srv:
        client(srv).embeddings.create(model="text-embedding-3-small", input="hello", dimensions=256)
    span = one_span(exporter)
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 256
