"""Issue #15, OpenAI side: caller-asked usage chunks, raw bodies read to the end, stream status, and
roll-ups over servers that repeat response ids. Real SDK over loopback HTTP."""

from __future__ import annotations

import pytest
from oai_helpers import MESSAGES, MODEL, chat_completion, client, llm_spans
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost import agent_step
from otel_llm_cost import attributes as attr
from otel_llm_cost.processor import LLMCostSpanProcessor
from replay import json_response


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
