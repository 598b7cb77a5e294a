"""Every recorded Gemini / Vertex AI, Cohere and Ollama exchange, decoded and read by its room directly.

The room must give the recorded usage exactly (from the whole body, or from the stream's events), the
response model and id where the recording has them, and a cost equal to genai-prices' ``calc_price``
(``unpriced`` exactly where genai-prices has no price, and always for a self-hosted Ollama).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from families_recorded import (
    FAMILY_ROOMS,
    RECORDED_AT,
    TOLERANCE,
    Case,
    cases,
    expected_usage,
    payloads,
    reference_price,
)

from otel_llm_cost.apis import WireRequest, find_wire_api
from otel_llm_cost.pricing import Pricer
from otel_llm_cost.providers import provider_for_host

CASES = cases(*FAMILY_ROOMS)


def wire_request(case: Case) -> WireRequest:
    entry, interaction = case.entry, case.interaction
    split = urlsplit(f"//{entry['host']}")
    return WireRequest(
        method=entry["method"],
        host=split.hostname,
        port=split.port,
        path=entry["path"],
        query=entry["query"],
        body=interaction.request_json(),
        provider=provider_for_host(split.hostname, split.port),
    )


def read(case: Case) -> tuple[Any, WireRequest]:
    request = wire_request(case)
    room = find_wire_api(request.method, request.path)
    assert room is not None and room.name == case.entry["room"]
    events = payloads(case.interaction)
    assert room.is_streaming(request) == case.entry["stream"]
    if case.entry["stream"]:
        return room.stream_fields(events, 0, request), request
    return room.response_fields(events[0], request), request


def test_every_family_is_recorded():
    assert {case.entry["provider"] for case in CASES} == {"gemini", "vertexai", "cohere", "ollama"}
    assert len(CASES) >= 150


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_room_reads_recorded_usage_and_price(case: Case, shared_pricer: Pricer):
    fields, request = read(case)
    block = case.entry["usage"]
    assert fields.usage is not None
    if block is None:  # Ollama's /api/embeddings reports no counts: estimated from the prompt
        assert fields.usage.source == "estimated"
        assert fields.usage.input_tokens > 0
        return
    assert fields.usage == expected_usage(case.entry["room"], block)
    model = fields.model or find_wire_api(request.method, request.path).request_model(request)  # type: ignore[union-attr]
    assert model
    cost = shared_pricer.price(fields.usage, model, request.provider, at=RECORDED_AT)
    expected = reference_price(fields.usage, model, request.provider)
    if expected is None:
        assert (cost.status, cost.amount) == ("unpriced", None)
    else:
        assert cost.status == "priced"
        assert cost.amount is not None and abs(cost.amount - expected) <= TOLERANCE


@pytest.mark.parametrize("case", [c for c in CASES if c.entry["stream"]], ids=lambda case: case.id)
def test_streams_are_read_from_their_opening_and_closing_events(case: Case):
    """What the wire capture keeps of a long stream (the opening events and the last few) is enough."""
    request = wire_request(case)
    room = find_wire_api(request.method, request.path)
    assert room is not None
    events = payloads(case.interaction)
    first = next((i for i, event in enumerate(events) if room.is_content_event(event)), 0)
    kept = [*events[: first + 1], *events[-4:]] if len(events) > first + 5 else events
    dropped = len(events) - len(kept)
    whole, part = room.stream_fields(events, 0, request), room.stream_fields(kept, dropped, request)
    assert part.usage == whole.usage
    assert part.model == whole.model
    assert part.attributes == whole.attributes


def test_vertex_regional_hosts_are_vertex_ai():
    assert provider_for_host("us-central1-aiplatform.googleapis.com") == "gcp.vertex_ai"
    assert provider_for_host("europe-west4-aiplatform.googleapis.com", 443) == "gcp.vertex_ai"
    assert provider_for_host("aiplatform.googleapis.com") == "gcp.vertex_ai"
    # Not Vertex AI, and a host is never a provider name (#18): the SDK's own provider.
    assert provider_for_host("not-aiplatform.googleapis.com.example.org") == "openai"
