"""Bytes to decoded JSON: request bodies, and the events of a stream (SSE, NDJSON). Pure and bounded.

Nothing here raises on malformed input: what cannot be read is ``None`` (a body) or left out (an event).
"""

from __future__ import annotations

import json
from typing import Any, Final

REQUEST_LIMIT: Final = 8 * 1024 * 1024
"""Request bodies larger than this are not decoded (a multi-megabyte base64 image, an upload)."""
BODY_LIMIT: Final = 16 * 1024 * 1024
"""Response bodies larger than this are not kept for decoding."""

_JSON_STARTS: Final = (b"{", b"[")
DONE: Final = b"[DONE]"


def decode_json(data: bytes | bytearray | memoryview | None, limit: int = BODY_LIMIT) -> Any:
    """The JSON value of ``data``, or ``None`` when it is absent, too large, binary or not JSON."""
    if not data or len(data) > limit:
        return None
    if not bytes(data[:64]).lstrip().startswith(_JSON_STARTS):
        return None
    try:
        return json.loads(data)
    except (ValueError, TypeError, RecursionError):
        return None


def normalised(data: bytes, stream_format: str) -> bytes:
    """SSE with ``\r\n`` (or ``\r``) line ends rewritten to ``\n``, so that events end with ``\n\n``."""
    if stream_format != "ndjson" and b"\r" in data:
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def separator(stream_format: str) -> bytes:
    return b"\n" if stream_format == "ndjson" else b"\n\n"


def last_events(data: bytes, stream_format: str, count: int) -> tuple[int, bytes]:
    """How many complete events come before the last ``count`` ones, and the bytes from those on.

    Scans from the end, so that a long tail is counted (in C) rather than split and parsed.
    """
    sep = separator(stream_format)
    end = len(data)
    start = data.rfind(sep, 0, end)  # the end of the last complete event; what follows is the rest
    for _ in range(count):
        if start < 0:
            return 0, data
        start = data.rfind(sep, 0, start)
    if start < 0:
        return 0, data
    return data.count(sep, 0, start) + 1, data[start + len(sep) :]


def split_events(data: bytes, stream_format: str) -> tuple[list[bytes], bytes]:
    """The complete event payloads in ``data`` and the incomplete rest (the start of the next event).

    SSE events end with a blank line; their payload is the ``data:`` lines joined. NDJSON events end
    with a newline. A payload of ``[DONE]`` or without data is left out.
    """
    if stream_format == "ndjson":
        *lines, rest = data.split(b"\n")
        return [line for line in lines if line.strip()], rest
    *events, rest = normalised(data, stream_format).split(b"\n\n")
    payloads = []
    for event in events:
        payload = sse_payload(event)
        if payload is not None:
            payloads.append(payload)
    return payloads, rest


def sse_payload(event: bytes) -> bytes | None:
    """The joined ``data:`` lines of one SSE event; ``None`` for none, a comment or ``[DONE]``."""
    if event.startswith(b"data:") and b"\n" not in event:  # the common case: one data line
        payload = event[5:].strip()
    else:
        lines = [line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")]
        if not lines:
            return None
        payload = b"\n".join(lines)
    return None if not payload or payload == DONE else payload


def last_payload(rest: bytes, stream_format: str) -> bytes | None:
    """The payload of an unterminated final event (a server that closed without the blank line)."""
    if not rest.strip():
        return None
    if stream_format == "ndjson":
        return rest.strip()
    payloads, _ = split_events(rest + b"\n\n", stream_format)
    return payloads[0] if payloads else None


def after_first_boundary(data: bytes, stream_format: str) -> bytes:
    """``data`` from the start of its first whole event (what comes before is the tail of a dropped one)."""
    sep = separator(stream_format)
    data = normalised(data, stream_format)
    index = data.find(sep)
    return b"" if index < 0 else data[index + len(sep) :]
