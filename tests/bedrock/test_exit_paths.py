"""Every way a Bedrock call can end: the span ends once, with the outcome, and with what was seen.

Streams are served frame by frame (one AWS event-stream message per HTTP chunk) from real recordings;
a stream cut short keeps the input it saw and estimates the output (``llm_cost.usage.source=estimated``).
InvokeModel's body is observed as the app reads it: unread, closed or dropped, the span still ends, with
Bedrock's token counts from the response headers.
"""

from __future__ import annotations

import binascii
import gc
import json
import struct
from typing import Any

import pytest
from botocore.exceptions import EventStreamError
from opentelemetry.trace import StatusCode

from bedrock_replay import Case, cases, client, params
from otel_llm_cost import attributes as attr
from otel_llm_cost.budget import BudgetGuard
from otel_llm_cost.errors import BudgetExceeded
from otel_llm_cost.instrumentation.botocore import BotocoreInstrumentor
from replay import Interaction, ReplayServer, json_response

_BY_FILE = {(case.file.rsplit("/", 1)[-1], case.index): case for case in cases()}
CONVERSE_STREAM = _BY_FILE["TestConverseStream.test_invoke_text_message.yaml", 0]
ANTHROPIC_STREAM = _BY_FILE["TestInvokeModelWithStreamResponse.test_invoke.yaml", 0]
INVOKE = _BY_FILE["TestClaudeInvokeModelMessageApi.test_invoke_model.yaml", 0]
CONVERSE = _BY_FILE["TestNovaInvokeModel.test_nova_converse.yaml", 0]


def frames(body: bytes) -> tuple[bytes, ...]:
    """The AWS event-stream messages of a body, each as its bytes (a message starts with its length)."""
    out, start = [], 0
    while start < len(body):
        (length,) = struct.unpack_from(">I", body, start)
        out.append(body[start : start + length])
        start += length
    return tuple(out)


def exception_frame(kind: str, message: str) -> bytes:
    """An event-stream ``exception`` message, as Bedrock sends a mid-stream error."""
    headers = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
        for name, value in (
            (":message-type", "exception"),
            (":exception-type", kind),
            (":content-type", "application/json"),
        )
    )
    payload = json.dumps({"message": message}).encode()
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message_bytes = prelude + headers + payload
    return message_bytes + struct.pack(">I", binascii.crc32(message_bytes))


def _served(case: Case, **changes: Any) -> Interaction:
    interaction = case.interaction()
    return interaction.with_(events=frames(interaction.body), **changes)


def _only_span(exporter: Any) -> Any:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def _assert_cut_short(span: Any, outcome: str) -> None:
    attributes = span.attributes
    assert attributes[attr.LLM_COST_STREAM_OUTCOME] == outcome
    assert attributes[attr.LLM_COST_USAGE_SOURCE] == "estimated"
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attributes


def test_converse_stream_left_with_break_then_dropped(instrumented, exporter):
    with ReplayServer([_served(CONVERSE_STREAM)], prefix="") as server:
        response = client(server.url).converse_stream(**params(CONVERSE_STREAM))
        for event in response["stream"]:
            if "contentBlockDelta" in event:
                break
        assert not exporter.get_finished_spans()  # the caller may still come back for more
        del response, event
        gc.collect()
    _assert_cut_short(_only_span(exporter), "abandoned")


def test_converse_stream_left_after_its_last_event_is_completed(instrumented, exporter):
    with ReplayServer([_served(CONVERSE_STREAM)], prefix="") as server:
        stream = client(server.url).converse_stream(**params(CONVERSE_STREAM))["stream"]
        for event in stream:
            if "metadata" in event:
                break
        stream.close()
    attributes = _only_span(exporter).attributes
    assert attributes[attr.LLM_COST_STREAM_OUTCOME] == "completed"
    assert attributes[attr.LLM_COST_USAGE_SOURCE] == "provider"
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == CONVERSE_STREAM.usage["output"]


def test_converse_stream_closed_after_the_first_content(instrumented, exporter):
    with ReplayServer([_served(CONVERSE_STREAM)], prefix="") as server:
        stream = client(server.url).converse_stream(**params(CONVERSE_STREAM))["stream"]
        iterator = iter(stream)
        while "contentBlockDelta" not in next(iterator):
            pass
        stream.close()
    span = _only_span(exporter)
    _assert_cut_short(span, "abandoned")
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 0  # Converse reports input only at the end


def test_converse_stream_closed_unread(instrumented, exporter):
    with ReplayServer([_served(CONVERSE_STREAM)], prefix="") as server:
        client(server.url).converse_stream(**params(CONVERSE_STREAM))["stream"].close()
    attributes = _only_span(exporter).attributes
    assert attributes[attr.LLM_COST_STREAM_OUTCOME] == "abandoned"
    assert attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in attributes


def test_invoke_stream_closed_keeps_anthropic_input(instrumented, exporter):
    with ReplayServer([_served(ANTHROPIC_STREAM)], prefix="") as server:
        body = client(server.url).invoke_model_with_response_stream(**params(ANTHROPIC_STREAM))["body"]
        seen = [event for _, event in zip(range(5), body, strict=False)]
        body.close()
    assert len(seen) == 5
    span = _only_span(exporter)
    _assert_cut_short(span, "abandoned")
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 702  # from message_start
    assert span.attributes[attr.GEN_AI_RESPONSE_ID] == "msg_bdrk_01UgUptJTW7LFg8dn1kcyjpz"


def test_exception_event_mid_stream(instrumented, exporter):
    events = frames(ANTHROPIC_STREAM.interaction().body)
    broken = (*events[:6], exception_frame("modelStreamErrorException", "the model broke"))
    interaction = ANTHROPIC_STREAM.interaction().with_(events=broken)
    with ReplayServer([interaction], prefix="") as server:
        body = client(server.url).invoke_model_with_response_stream(**params(ANTHROPIC_STREAM))["body"]
        with pytest.raises(EventStreamError, match="the model broke"):
            for _ in body:
                pass
    span = _only_span(exporter)
    _assert_cut_short(span, "error")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[attr.ERROR_TYPE] == "botocore.exceptions.EventStreamError"


def test_connection_dropped_mid_stream(instrumented, exporter):
    with ReplayServer([_served(CONVERSE_STREAM, drop_after=4)], prefix="") as server:
        stream = client(server.url).converse_stream(**params(CONVERSE_STREAM))["stream"]
        with pytest.raises(Exception) as raised:
            list(stream)
    span = _only_span(exporter)
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "error"
    assert span.attributes[attr.ERROR_TYPE].endswith(type(raised.value).__qualname__)


def test_completed_stream_keeps_a_bounded_number_of_events(instrumented, exporter):
    with ReplayServer([_served(ANTHROPIC_STREAM)], prefix="") as server:
        body = client(server.url).invoke_model_with_response_stream(**params(ANTHROPIC_STREAM))["body"]
        recorder = body._self_recorder
        count = sum(1 for _ in body)
    assert count == recorder.count == 28
    assert len(recorder.chunks) < count and recorder.dropped > 0
    assert _only_span(exporter).attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 98  # Bedrock's count


# --- InvokeModel's body --------------------------------------------------------------------------------


def _invoke(server: ReplayServer) -> dict[str, Any]:
    return client(server.url).invoke_model(**params(INVOKE))


def test_body_read_in_chunks_ends_the_span_at_its_end(instrumented, exporter):
    with ReplayServer([INVOKE.interaction()], prefix="") as server:
        body = _invoke(server)["body"]
        assert not exporter.get_finished_spans()  # nothing read yet: the call is not over
        chunks = list(body.iter_chunks(64))
    assert json.loads(b"".join(chunks))["usage"]["output_tokens"] == 246
    attributes = _only_span(exporter).attributes
    assert attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 246


def test_body_closed_unread_ends_with_the_header_counts(instrumented, exporter):
    with ReplayServer([INVOKE.interaction()], prefix="") as server:
        _invoke(server)["body"].close()
    attributes = _only_span(exporter).attributes
    assert attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 38
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 246
    assert attr.GEN_AI_RESPONSE_FINISH_REASONS not in attributes  # the body was never read


def test_body_dropped_unread_ends_the_span(instrumented, exporter):
    with ReplayServer([INVOKE.interaction()], prefix="") as server:
        response = _invoke(server)
        del response
        gc.collect()
    assert _only_span(exporter).attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 246


def test_body_cut_short_fails_with_the_header_counts(instrumented, exporter):
    interaction = INVOKE.interaction().with_(drop_after=100)
    with ReplayServer([interaction], prefix="") as server:
        body = _invoke(server)["body"]
        with pytest.raises(Exception) as raised:
            body.read()
    span = _only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[attr.ERROR_TYPE].endswith(type(raised.value).__qualname__)
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 246


# --- one span, or none -----------------------------------------------------------------------------------


def test_uninstrument_restores_botocore(tracer_provider, exporter):
    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    instrumentor.uninstrument()
    with ReplayServer([CONVERSE.interaction()], prefix="") as server:
        client(server.url).converse(**params(CONVERSE))
    assert not exporter.get_finished_spans()


def test_other_operations_pass_through(instrumented, exporter):
    reply = json_response({"action": "NONE", "outputs": [], "assessments": []})
    with ReplayServer([reply], prefix="") as server:
        result = client(server.url).apply_guardrail(
            guardrailIdentifier="g", guardrailVersion="1", source="INPUT", content=[{"text": {"text": "hi"}}]
        )
    assert result["action"] == "NONE"
    assert not exporter.get_finished_spans()


def test_budget_refuses_before_sending(tracer_provider, exporter):
    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, budget_guard=BudgetGuard("global:calls=1/1m"))
    try:
        with ReplayServer([CONVERSE.interaction(), CONVERSE.interaction()], prefix="") as server:
            bedrock = client(server.url)
            bedrock.converse(**params(CONVERSE))
            with pytest.raises(BudgetExceeded):
                bedrock.converse(**params(CONVERSE))
            assert len(server.requests) == 1
    finally:
        instrumentor.uninstrument()
    assert len(exporter.get_finished_spans()) == 1


# --- bodies that are not what the room reads ------------------------------------------------------------

_HEADER_COUNTS = {"X-Amzn-Bedrock-Input-Token-Count": "12", "X-Amzn-Bedrock-Output-Token-Count": "34"}


def _scripted_invoke(body: bytes, content_type: str) -> Interaction:
    headers = tuple({"content-type": content_type, **_HEADER_COUNTS}.items())
    return Interaction(method=None, path=None, status=200, headers=headers, body=body)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (bytes(range(256)) * 64, "application/octet-stream"),  # binary
        (b'{"outputText": "cut', "application/json"),  # not JSON after all
        (json.dumps({"images": ["A" * (2 << 20)]}).encode(), "application/json"),  # larger than we keep
    ],
    ids=["binary", "truncated-json", "large"],
)
def test_invoke_body_the_room_cannot_read_still_gives_the_header_counts(
    instrumented, exporter, body, content_type
):
    with ReplayServer([_scripted_invoke(body, content_type)], prefix="") as server:
        response = client(server.url).invoke_model(modelId="amazon.titan-image-generator-v2:0", body=b"{}")
        assert response["body"].read() == body  # the caller gets every byte, unchanged
    attributes = _only_span(exporter).attributes
    assert attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 12
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 34
    assert attr.GEN_AI_RESPONSE_FINISH_REASONS not in attributes


def test_invoke_body_read_with_readinto(instrumented, exporter):
    with ReplayServer([INVOKE.interaction()], prefix="") as server:
        body = _invoke(server)["body"]
        buffer, received = bytearray(100), bytearray()
        while count := body.readinto(buffer):
            received += buffer[:count]
    assert json.loads(received)["stop_reason"] == "end_turn"
    assert _only_span(exporter).attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
