"""A response body seen as the application reads it: streams (head and bounded tail) and plain bodies.

Per raw chunk of a stream the observer counts it and keeps it, or lets it go: until the first
content-bearing event it splits and decodes the opening events (ids, model, input usage, and the time to
first chunk); after it, it only appends the chunk to a tail it trims to :data:`TAIL_BYTES`. At the end
it splits the kept bytes into events (an event split across chunks is joined again, since the bytes are
kept in order), decodes the last :data:`~otel_llm_cost.instrumentation._stream.TAIL` of them and hands
them to the room's ``stream_fields``. The whole body is never copied; a stream that ends before its last
event records what it had.

A plain (not streamed) body the application reads later is kept (up to
:data:`~otel_llm_cost.instrumentation.wire._frames.BODY_LIMIT`) and decoded once, when it ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation._invocation import record_end
from otel_llm_cost.instrumentation._stream import TAIL, StreamRecorder
from otel_llm_cost.instrumentation.wire import _frames

if TYPE_CHECKING:
    from otel_llm_cost.apis import WireApi, WireRequest
    from otel_llm_cost.instrumentation._invocation import LLMInvocation

TAIL_BYTES: Final = 256 * 1024
"""Bytes kept from the end of a stream: room for a Responses API ``response.completed`` event, which
repeats the whole output."""
_TRIM_AT: Final = 2 * TAIL_BYTES  # the tail is trimmed back to TAIL_BYTES when it grows past this
HEAD_BYTES: Final = 64 * 1024
"""Opening bytes decoded while looking for the first content; past them, the stream goes to the tail."""

Decode = Callable[[bytes], bytes]


class WireStream(StreamRecorder):
    """The end of one streamed response, from the opening events and the bytes at its end."""

    __slots__ = ("api", "dropped_bytes", "format", "head_bytes", "pending", "request", "tail_size", "testing")

    def __init__(self, invocation: LLMInvocation, api: WireApi, request: WireRequest) -> None:
        super().__init__(invocation, api.is_content_event)
        self.api = api
        self.request = request
        self.format = api.stream_format
        self.tail: deque[bytes] = deque()  # type: ignore[assignment]
        self.tail_size = 0
        self.dropped_bytes = 0  # trimmed off the tail's front: the stream's middle
        self.pending = b""  # an opening event not complete yet
        self.head_bytes = 0
        self.testing = True  # still decoding opening events, looking for the first content

    def feed_head(self, data: bytes) -> None:
        """Decode the complete opening events in ``data``; after the first content, go to the tail."""
        self.head_bytes += len(data)
        payloads, self.pending = _frames.split_events(self.pending + data, self.format)
        has_content = self.has_content
        for payload in payloads:
            event = _frames.decode_json(payload)
            if event is None:
                continue
            self.head.append(event)
            if self.testing and has_content(event):
                self.testing = False
                self.invocation.first_chunk()
        if not self.testing or self.head_bytes > HEAD_BYTES:
            self.testing = False
            if self.pending:
                self.keep(self.pending)
                self.pending = b""

    def keep(self, data: bytes) -> None:
        self.tail.append(data)
        self.tail_size += len(data)

    def trimmed(self, size: int) -> int:
        """Drop the oldest chunks while what remains still holds :data:`TAIL_BYTES`; returns the size
        left (``size``: the tail's size, which the observing loop keeps while it runs)."""
        tail = self.tail
        while len(tail) > 1 and size - len(tail[0]) >= TAIL_BYTES:
            dropped = len(tail.popleft())
            size -= dropped
            self.dropped_bytes += dropped
        self.tail_size = size
        return size

    def stop_testing(self) -> None:
        self.testing = False
        self.pending = b""

    def on_end(self, outcome: str, error: BaseException | None) -> None:
        data = _frames.normalised(self.pending + b"".join(self.tail), self.format)
        events, dropped = self.kept_events(data)
        if outcome == attr.STREAM_ABANDONED and self.ended_cleanly(data, events):
            # Clients stop reading at the last event and close the response, before its final empty
            # chunk: the stream was read to its end.
            outcome = attr.STREAM_COMPLETED
        fields = self.api.stream_fields(events, dropped, self.request)
        chunks = len(events) + dropped
        fields.attributes[attr.LLM_COST_STREAM_CHUNKS] = chunks
        self.invocation.output_chunks = chunks
        cancelled = outcome == attr.STREAM_CANCELLED
        record_end(self.invocation, fields, outcome, None if cancelled else error)

    def ended_cleanly(self, data: bytes, events: list[Any]) -> bool:
        """Whether the stream's last event was its end: SSE's ``[DONE]``, or the room's final event."""
        if data[-64:].rstrip().endswith(_frames.DONE):
            return True
        is_final = getattr(self.api, "is_final_event", None)
        return bool(events) and is_final is not None and bool(is_final(events[-1]))

    def kept_events(self, data: bytes) -> tuple[list[Any], int]:
        """The decoded opening and closing events, and how many events between them were not decoded.

        ``data``: the kept bytes after the opening events. Only the last :data:`TAIL` events are split
        off and decoded; the others are counted (a C-speed scan), and the trimmed bytes are counted at
        the kept events' mean size.
        """
        if self.dropped_bytes:
            data = _frames.after_first_boundary(data, self.format)
        before, last_events = _frames.last_events(data, self.format, TAIL)
        payloads, rest = _frames.split_events(last_events, self.format)
        final = _frames.last_payload(rest, self.format)
        if final is not None:
            payloads.append(final)
        decoded = [event for event in map(_frames.decode_json, payloads) if event is not None]
        dropped = before
        if self.dropped_bytes and len(data):
            dropped += round(self.dropped_bytes * (before + len(payloads)) / len(data))
        return [*self.head, *decoded], dropped


class WireBody(StreamRecorder):
    """The end of a response that is not streamed but read after ``send`` returned it: decoded once.

    Also a stream framed as one JSON array (``stream_format`` ``json``: Gemini without ``alt=sse``),
    whose elements are its events (``streamed``).
    """

    __slots__ = ("api", "request", "size", "streamed", "testing")

    def __init__(
        self, invocation: LLMInvocation, api: WireApi, request: WireRequest, *, streamed: bool = False
    ) -> None:
        super().__init__(invocation, api.is_content_event, keep_all=True)
        self.api = api
        self.request = request
        self.streamed = streamed
        self.size = 0
        self.testing = False  # never looks for content: feed() keeps every chunk

    def keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size <= _frames.BODY_LIMIT:
            self.head.append(data)
        elif self.head:
            self.head.clear()  # too large to decode: keep nothing

    def feed_head(self, data: bytes) -> None:  # never called: testing is False
        self.keep(data)

    def trimmed(self, size: int) -> int:
        return -(2**62)  # a body is capped by keep(): a size the loop never sees pass the mark again

    def stop_testing(self) -> None:
        pass

    def on_end(self, outcome: str, error: BaseException | None) -> None:
        if error is not None and outcome != attr.STREAM_CANCELLED:
            self.invocation.fail(error)
            return
        body = _frames.decode_json(b"".join(self.head)) if outcome == attr.STREAM_COMPLETED else None
        if self.streamed:
            events = body if isinstance(body, list) else []
            fields = self.api.stream_fields(events, 0, self.request)
            fields.attributes[attr.LLM_COST_STREAM_CHUNKS] = self.invocation.output_chunks = len(events)
            record_end(self.invocation, fields, outcome)
        elif body is None:
            self.invocation.stop(None)
        else:
            record_end(self.invocation, self.api.response_fields(body, self.request))


def observe_bytes(
    chunks: Iterator[bytes], recorder: WireStream | WireBody, decode: Decode | None
) -> Iterator[bytes]:
    """Yield the raw chunks, handing each (decompressed by ``decode`` when the body is encoded) to
    ``recorder``, which records the end. Past the opening events a chunk costs an append and a sum."""
    append = recorder.tail.append if isinstance(recorder, WireStream) else recorder.keep
    size = 0
    try:
        for chunk in chunks:
            try:  # nothing of ours may reach the application
                data = chunk if decode is None else decode(chunk)
                if recorder.testing:
                    recorder.feed_head(data)
                    size = getattr(recorder, "tail_size", 0)
                else:
                    append(data)
                    size += len(data)
                    if size > _TRIM_AT:
                        size = recorder.trimmed(size)
            except Exception:
                _stop_observing(recorder)
            yield chunk
    except GeneratorExit:
        recorder.abandon()
        raise
    except BaseException as error:
        recorder.finish_with(error)
        raise
    recorder.finish(attr.STREAM_COMPLETED)


async def observe_bytes_async(
    chunks: AsyncIterator[bytes], recorder: WireStream | WireBody, decode: Decode | None
) -> AsyncIterator[bytes]:
    """The async twin of :func:`observe_bytes`."""
    append = recorder.tail.append if isinstance(recorder, WireStream) else recorder.keep
    size = 0
    try:
        async for chunk in chunks:
            try:
                data = chunk if decode is None else decode(chunk)
                if recorder.testing:
                    recorder.feed_head(data)
                    size = getattr(recorder, "tail_size", 0)
                else:
                    append(data)
                    size += len(data)
                    if size > _TRIM_AT:
                        size = recorder.trimmed(size)
            except Exception:
                _stop_observing(recorder)
            yield chunk
    except GeneratorExit:
        recorder.abandon()
        raise
    except BaseException as error:
        recorder.finish_with(error)
        raise
    recorder.finish(attr.STREAM_COMPLETED)


def _stop_observing(recorder: WireStream | WireBody) -> None:
    from otel_llm_cost._log import log_once

    log_once("wire.chunk", "otel-llm-cost stopped looking at a response body", exc_info=True)
    recorder.stop_testing()
