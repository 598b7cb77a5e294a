"""No credentials in spans, ever; message content only when the user opted in.

Replays every indexed OpenAI-family interaction (sync) with content capture off and on, and scans every
attribute of every span produced for the API key, auth headers and the conversation's text.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from oai_helpers import API_KEY, MESSAGES, MODEL, chat_completion, client, llm_spans, one_span
from oai_replay import Case, openai_family_cases, replay
from opentelemetry.sdk.trace import ReadableSpan

from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from replay import ReplayServer, json_response

CASES = list(openai_family_cases())
CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions")
_MIN_TEXT = 12  # shorter strings ("user", "assistant", model names) are not conversation text


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        yield srv


def _request_texts(case: Case) -> list[str]:
    """The conversation text a request carried: message contents, Responses input and instructions."""
    request = case.interaction.request_json() or {}
    texts: list[Any] = [request.get("instructions"), request.get("input")]
    for message in request.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            texts.extend(part.get("text") for part in content if isinstance(part, dict))
        else:
            texts.append(content)
    if isinstance(request.get("input"), list):
        texts.extend(item.get("content") for item in request["input"] if isinstance(item, dict))
    return [t for t in texts if isinstance(t, str) and len(t) >= _MIN_TEXT]


def _values(span: ReadableSpan) -> list[str]:
    return [str(value) for value in (span.attributes or {}).values()]


def _replay_quietly(server: ReplayServer, case: Case) -> None:
    with contextlib.suppress(openai.APIStatusError):  # recorded errors: their spans are scanned too
        replay(server, case)


@pytest.mark.parametrize("case", CASES)
def test_no_secrets_and_no_content_by_default(
    case: Case, server: ReplayServer, instrument: Any, exporter: Any
) -> None:
    _replay_quietly(server, case)
    (span,) = llm_spans(exporter)
    values = _values(span)
    assert not any(API_KEY in v or "Bearer" in v or "api-key" in v.lower() for v in values)
    assert not set(CONTENT_KEYS) & set(span.attributes)
    for text in _request_texts(case):
        assert not any(text in v for v in values), text


@pytest.mark.parametrize("case", CASES)
def test_content_recorded_when_opted_in(
    case: Case, server: ReplayServer, instrument_with_content: Any, exporter: Any
) -> None:
    _replay_quietly(server, case)
    (span,) = llm_spans(exporter)
    assert not any(API_KEY in v or "Bearer" in v for v in _values(span))
    if case.entry["api"] == "embeddings":
        return  # the conventions record no messages for embeddings
    recorded = json.dumps([json.loads(span.attributes[k]) for k in CONTENT_KEYS if k in span.attributes])
    for text in _request_texts(case):
        assert json.dumps(text)[1:-1] in recorded, text
    if case.entry["status"] < 400 and case.entry["request"] == "recorded":
        assert "gen_ai.input.messages" in span.attributes or "gen_ai.system_instructions" in span.attributes
        assert "gen_ai.output.messages" in span.attributes


def test_environment_variable_turns_capture_on_and_the_argument_wins(
    tracer_provider: Any, exporter: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrumentor = OpenAIInstrumentor()
    with ReplayServer([json_response(chat_completion()), json_response(chat_completion())]) as srv:
        instrumentor.instrument(tracer_provider=tracer_provider)
        try:
            client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
        finally:
            instrumentor.uninstrument()
        captured = one_span(exporter)
        exporter.clear()
        instrumentor.instrument(tracer_provider=tracer_provider, capture_message_content=False)
        try:
            client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
        finally:
            instrumentor.uninstrument()
    assert json.loads(captured.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": MESSAGES[0]["content"]}]}
    ]
    assert (
        json.loads(captured.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"]
        == '{"answer": "hello"}'
    )
    assert "gen_ai.input.messages" not in one_span(exporter).attributes
