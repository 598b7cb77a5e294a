"""Message content of Bedrock calls: recorded only on opt-in, as semantic-convention JSON, never bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from bedrock_replay import Case, call, cases, client
from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation.botocore import BotocoreInstrumentor
from replay import ReplayServer

_BY_FILE = {(case.file.rsplit("/", 1)[-1], case.index): case for case in cases()}


@pytest.fixture
def capturing(tracer_provider: TracerProvider) -> Iterator[None]:
    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, capture_message_content=True)
    yield
    instrumentor.uninstrument()


def _attributes(case: Case, exporter: Any) -> tuple[dict[str, Any], Any]:
    with ReplayServer([case.interaction()], prefix="") as server:
        result = call(client(server.url, case.region), case)
    (span,) = exporter.get_finished_spans()
    return dict(span.attributes), result


def _messages(attributes: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return json.loads(attributes[key])


def test_converse_tool_call_messages(capturing, exporter):
    attributes, result = _attributes(_BY_FILE["test_converse_tool_call_with_content.yaml", 1], exporter)
    inputs = _messages(attributes, attr.GEN_AI_INPUT_MESSAGES)
    assert [message["role"] for message in inputs] == ["user", "assistant", "user"]
    assert "tool_call" in {part["type"] for part in inputs[1]["parts"]}
    assert {part["type"] for part in inputs[2]["parts"]} == {"tool_call_response"}
    (output,) = _messages(attributes, attr.GEN_AI_OUTPUT_MESSAGES)
    assert output["finish_reason"] == result["stopReason"]
    expected = [block["text"] for block in result["output"]["message"]["content"] if "text" in block]
    assert [part["content"] for part in output["parts"] if part["type"] == "text"] == expected


def test_converse_stream_output_is_the_streamed_text(capturing, exporter):
    case = _BY_FILE["TestConverseStream.test_invoke_text_message.yaml", 0]
    attributes, events = _attributes(case, exporter)
    text = "".join(
        e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e
    )
    (output,) = _messages(attributes, attr.GEN_AI_OUTPUT_MESSAGES)
    assert output["parts"] == [{"type": "text", "content": text}]
    assert output["finish_reason"] == "end_turn"
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == case.usage["output"]  # all events kept, same count


def test_invoke_model_image_is_recorded_by_kind_only(capturing, exporter):
    case = _BY_FILE["TestClaudeInvokeModelMessageApi.test_invoke_model_with_image.yaml", 1]
    attributes, result = _attributes(case, exporter)
    image = next(
        block["source"]["data"]
        for message in case.request_json()["messages"]
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "image"
    )
    assert all(image[:40] not in str(value) for value in attributes.values())
    inputs = _messages(attributes, attr.GEN_AI_INPUT_MESSAGES)
    assert {"type": "image"} in inputs[0]["parts"]
    (output,) = _messages(attributes, attr.GEN_AI_OUTPUT_MESSAGES)
    assert output["parts"][0]["content"] == result["content"][0]["text"]


def test_invoke_stream_output_of_nova(capturing, exporter):
    case = _BY_FILE["test_invoke_model_with_response_stream_with_content[amazon.nova].yaml", 0]
    attributes, _ = _attributes(case, exporter)
    inputs = _messages(attributes, attr.GEN_AI_INPUT_MESSAGES)
    assert inputs[0]["parts"][0]["content"] == case.request_json()["messages"][0]["content"][0]["text"]
    (output,) = _messages(attributes, attr.GEN_AI_OUTPUT_MESSAGES)
    assert output["parts"][0]["content"]


def test_prompt_families_record_one_user_message(capturing, exporter):
    case = _BY_FILE["test_invoke_model_with_content[meta.llama].yaml", 0]
    attributes, result = _attributes(case, exporter)
    assert _messages(attributes, attr.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": case.request_json()["prompt"]}]}
    ]
    (output,) = _messages(attributes, attr.GEN_AI_OUTPUT_MESSAGES)
    assert output["parts"] == [{"type": "text", "content": result["generation"]}]


def test_no_content_without_opt_in(instrumented, exporter):
    attributes, _ = _attributes(_BY_FILE["test_converse_tool_call_with_content.yaml", 1], exporter)
    assert attr.GEN_AI_INPUT_MESSAGES not in attributes
    assert attr.GEN_AI_OUTPUT_MESSAGES not in attributes
