"""No room raises on malformed input: any JSON-like body, event or request body gives fields or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_llm_cost.apis import WIRE_APIS, WireRequest

_SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
_KEYS = st.sampled_from(
    [
        "usage", "usageMetadata", "promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount",
        "billed_units", "tokens", "input_tokens", "output_tokens", "meta", "prompt_eval_count", "eval_count",
        "done", "candidates", "content", "parts", "text", "finishReason", "message", "type", "delta", "data",
        "event_type", "response", "model", "stream", "options", "generationConfig", "messages", "input",
    ]
) | st.text(max_size=6)  # fmt: skip
JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=30,
)
PATHS = [
    "/v1beta/models/m:generateContent",
    "/v1beta/models/m:streamGenerateContent",
    "/v2/chat",
    "/api/chat",
]


def _request(room_path: str, body: Any) -> WireRequest:
    return WireRequest("POST", "h", 1, room_path, body=body if isinstance(body, dict) else None)


@pytest.mark.parametrize("room", WIRE_APIS, ids=lambda room: room.name)
@settings(max_examples=25)
@given(
    body=JSON,
    events=st.lists(JSON, max_size=6),
    request_body=JSON,
    dropped=st.integers(0, 5),
    path=st.sampled_from(PATHS),
)
def test_rooms_never_raise(
    room: Any, body: Any, events: list[Any], request_body: Any, dropped: int, path: str
):
    request = _request(path, request_body)
    room.request_model(request)
    room.is_streaming(request)
    assert isinstance(room.request_attributes(request), dict)
    for fields in (room.response_fields(body, request), room.stream_fields(events, dropped, request)):
        assert isinstance(fields.attributes, dict)
        assert fields.usage is None or fields.usage.input_tokens >= 0
    for event in events:
        room.is_content_event(event)
