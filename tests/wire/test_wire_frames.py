"""The framing helpers: SSE and NDJSON events from bytes, counted from the end, decoded when JSON."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from otel_llm_cost.instrumentation.wire import _frames

EVENTS = st.lists(st.dictionaries(st.text(max_size=5), st.integers(), max_size=3), max_size=30)


def sse(events: list[dict]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


@given(events=EVENTS, keep=st.integers(min_value=0, max_value=10), crlf=st.booleans())
def test_the_last_events_are_split_off_and_the_others_counted(events, keep, crlf):
    data = sse(events) + b'data: {"partial"'
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    data = _frames.normalised(data, "sse")
    before, rest = _frames.last_events(data, "sse", keep)
    payloads, partial = _frames.split_events(rest, "sse")
    assert before + len(payloads) == len(events)
    assert [json.loads(p) for p in payloads] == events[before:]
    assert len(payloads) == min(keep, len(events))
    assert partial.startswith(b"data: {")


@given(events=EVENTS)
def test_ndjson_lines_are_events(events):
    data = b"".join(json.dumps(e).encode() + b"\n" for e in events)
    payloads, rest = _frames.split_events(data, "ndjson")
    assert [json.loads(p) for p in payloads] == events
    assert rest == b""


def test_sse_payloads_join_data_lines_and_skip_done_and_comments():
    payloads, _ = _frames.split_events(
        b': ping\n\nevent: x\ndata: {"a":\ndata: 1}\n\ndata: [DONE]\n\n', "sse"
    )
    assert payloads == [b'{"a":\n1}']


@given(st.binary(max_size=200))
def test_decode_json_never_raises(data):
    value = _frames.decode_json(data)
    assert value is None or isinstance(value, dict | list)


def test_decode_json_skips_bodies_over_the_limit():
    assert _frames.decode_json(b'{"a": 1}', limit=4) is None
    assert _frames.decode_json(b'  {"a": 1}') == {"a": 1}
