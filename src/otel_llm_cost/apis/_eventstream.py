"""AWS event-stream framing (``application/vnd.amazon.eventstream``) decoded into Bedrock room events. Pure.

Bedrock streams (ConverseStream, InvokeModelWithResponseStream) are binary frames, not SSE. botocore
decodes them for its callers; a capture beneath an HTTP client (raw ``httpx`` calls to
``bedrock-runtime``, gateways) sees the bytes, and this turns them into the events the rooms read, in the
shape botocore yields: ``{event_type: payload}`` (``{"contentBlockDelta": {...}}``, ``{"chunk": {"bytes":
"<base64>"}}``). An ``exception`` frame becomes ``{exception_type: payload}``.

A frame: total length (4 bytes), headers length (4), prelude CRC32 (4), headers, payload, message CRC32
(4), big-endian. Frames are checked by their prelude CRC and bounded in size; bytes that are not frames
stop the decoding (``broken``) instead of raising.
"""

from __future__ import annotations

import binascii
import json
import struct
from typing import Any, Final

_PRELUDE: Final = struct.Struct(">III")
_OVERHEAD: Final = _PRELUDE.size + 4  # prelude and message CRC
MAX_FRAME: Final = 16 << 20  # Bedrock's own limit on an event-stream message is far lower
_STRING: Final = 7
# Header value sizes by type id; strings (7) and bytes (6) carry their own 2-byte length.
_FIXED: Final = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


class EventStreamDecoder:
    """Feed it the response bytes as they arrive; it returns the complete events each time."""

    __slots__ = ("_buffer", "broken")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.broken = False  # the bytes stopped being frames: nothing more is decoded

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        if self.broken:
            return []
        buffer = self._buffer
        buffer += data
        events: list[dict[str, Any]] = []
        while len(buffer) >= _PRELUDE.size:
            total, headers_length, prelude_crc = _PRELUDE.unpack_from(buffer)
            if (
                not _OVERHEAD + headers_length <= total <= MAX_FRAME
                or binascii.crc32(buffer[:8]) != prelude_crc
            ):
                self.broken = True
                buffer.clear()
                break
            if len(buffer) < total:
                break
            frame = bytes(buffer[:total])
            del buffer[:total]
            event = _event(frame, headers_length)
            if event is not None:
                events.append(event)
        return events


def _event(frame: bytes, headers_length: int) -> dict[str, Any] | None:
    start = _PRELUDE.size
    headers = _headers(frame[start : start + headers_length])
    payload = frame[start + headers_length : len(frame) - 4]
    kind = headers.get(":message-type")
    name = headers.get(":event-type") if kind == "event" else headers.get(":exception-type")
    if not isinstance(name, str):
        return None
    try:
        body = json.loads(payload) if payload else {}
    except (ValueError, UnicodeDecodeError):
        body = None
    return {name: body}


def _headers(raw: bytes) -> dict[str, Any]:
    """String headers by name (the others are skipped); stops at the first malformed one."""
    headers: dict[str, Any] = {}
    at, end = 0, len(raw)
    while at < end:
        name_length = raw[at]
        name = raw[at + 1 : at + 1 + name_length].decode("utf-8", "replace")
        at += 1 + name_length
        if at >= end:
            break
        kind = raw[at]
        at += 1
        if kind in (6, _STRING):
            (length,) = struct.unpack_from(">H", raw, at) if at + 2 <= end else (end,)
            value = raw[at + 2 : at + 2 + length]
            at += 2 + length
            if kind == _STRING:
                headers[name] = value.decode("utf-8", "replace")
        elif kind in _FIXED:
            at += _FIXED[kind]
        else:
            break
    return headers
