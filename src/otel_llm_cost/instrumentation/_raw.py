"""Raw responses of either SDK (``with_raw_response`` / ``with_streaming_response``), one path for both.

Both SDKs are generated from one template: a raw response is a ``LegacyAPIResponse`` (openai's
``with_raw_response``), an ``APIResponse`` or an ``AsyncAPIResponse``. Its body has not been turned into a
model, so the call is recorded where the body is read:

- A body already in memory (a request that does not stream, answered raw) is parsed here at once: the
  SDK caches what ``parse()`` builds, so the caller's own ``parse()`` costs nothing, and a response dropped
  before ``parse()`` is still recorded.
- Otherwise the caller gets a proxy. ``parse()`` hands the stream to the SDK wrapper's stream proxy (or
  records the parsed model). Reading the body as bytes or text (``read``, ``text``, ``json``,
  ``iter_bytes``, ``iter_text``, ``iter_lines``) feeds what the caller reads to the call too: a JSON body
  is decoded at its end, an event stream event by event, into the same recorder a parsed stream uses
  (so time to first chunk, usage and outcome come out the same way).
- Closing the response, or dropping it, before that ends the span (no span is left open).

Why we never inject ``stream_options.include_usage`` into a raw request (see the OpenAI wrapper): a caller
reading raw bytes would receive the usage-only chunk we asked for, and bytes cannot be filtered without
changing what the caller reads. Such a stream's usage is therefore what the caller asked for, or estimated.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

import wrapt

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.instrumentation._stream import StreamRecorder

RAW_RESPONSE_HEADER: Final = "X-Stainless-Raw-Response"  # both SDKs' marker of a raw request
_LEGACY, _SYNC, _ASYNC = "LegacyAPIResponse", "APIResponse", "AsyncAPIResponse"


class RawCall(Protocol):
    """What a raw-response proxy needs from the call it belongs to (each SDK wrapper's call object)."""

    def parsed(self, result: Any) -> Any:
        """The caller parsed the body: record the model, or return the stream proxy for a stream."""

    def failed(self, error: BaseException) -> None: ...

    def release(self, closed: bool = True) -> None:
        """The response was closed (or dropped: ``closed=False``): end whatever is still open."""

    def decoded(self, body: object) -> None:
        """The caller read a JSON body as bytes: record from the decoded value."""

    def raw_stream_recorder(self) -> StreamRecorder | None:
        """A recorder for an event stream the caller reads as bytes (``None``: end without usage)."""


# --- recognising raw requests and responses ----------------------------------------------------------


def raw_mode(kwargs: Mapping[str, Any]) -> str | None:
    """``"raw"`` / ``"stream"`` when the SDK asked for a raw response (its header), else ``None``."""
    headers = kwargs.get("extra_headers")
    if not isinstance(headers, Mapping):
        return None
    value = headers.get(RAW_RESPONSE_HEADER)
    return value if isinstance(value, str) else None


def raw_kind(result: object) -> str | None:
    """Which of the SDKs' raw response classes ``result`` is (by the shared class names), else ``None``."""
    for cls in type(result).__mro__:
        if cls.__name__ in (_LEGACY, _SYNC, _ASYNC) and cls.__module__.rsplit(".", 1)[-1] in (
            "_legacy_response",
            "_response",
        ):
            return cls.__name__
    return None


def body_in_memory(kind: str, kwargs: Mapping[str, Any], streaming: bool) -> bool:
    """Whether the SDK read the whole body before returning (``with_raw_response`` without a stream)."""
    return not streaming and (kind == _LEGACY or raw_mode(kwargs) == "raw")


def wrap_raw(result: Any, kind: str, call: RawCall, streaming: bool) -> Any:
    """What the caller gets for a raw response whose body is not parsed yet: a proxy that records it."""
    if kind == _ASYNC:
        return AsyncRawResponse(result, call, streaming)
    if kind == _LEGACY:
        return LegacyRawResponse(result, call, streaming)
    return RawResponse(result, call, streaming)


def parse_now(result: Any, call: RawCall) -> None:
    """Record a raw response whose body is in memory (sync ``parse()``; cached by the SDK)."""
    try:
        parsed = result.parse()
    except Exception as error:
        call.failed(error)  # the caller meets the same error when they parse
        return
    call.parsed(parsed)


async def parse_now_async(result: Any, call: RawCall) -> None:
    """The async twin of :func:`parse_now` (``AsyncAPIResponse.parse`` is a coroutine)."""
    try:
        parsed = await result.parse()
    except Exception as error:
        call.failed(error)
        return
    call.parsed(parsed)


def release(stream: Any, invocation: LLMInvocation, closed: bool, streaming: bool) -> None:
    """End what a raw response closed (or dropped: ``closed=False``) before its end leaves open.

    A stream already handed out ends on its own when dropped; closed, it is abandoned. A call whose body
    was never read ends without usage (abandoned, for a stream)."""
    if stream is not None:
        if closed:
            stream._self_recorder.finish(attr.STREAM_ABANDONED)
    elif not invocation.ended:
        invocation.stop(None, stream_outcome=attr.STREAM_ABANDONED if streaming else None)


# --- reading a body as bytes ---------------------------------------------------------------------------


class _BodyTap:
    """What the caller reads of a body, handed to the call: a JSON body at its end, an event stream as
    its events arrive (one line buffered at a time)."""

    __slots__ = ("call", "done", "parts", "pending", "recorder")

    def __init__(self, call: RawCall, streaming: bool) -> None:
        self.call = call
        self.recorder = call.raw_stream_recorder() if streaming else None
        self.parts: list[str] | None = None if streaming else []
        self.pending = ""
        self.done = False

    def feed(self, piece: object) -> None:
        if self.done:
            return
        try:
            text = piece.decode("utf-8", "replace") if isinstance(piece, bytes) else str(piece)
            if self.parts is not None:
                self.parts.append(text)
            elif self.recorder is not None:
                self._feed_events(text)
        except Exception:
            log_once("raw.tap", "otel-llm-cost could not read a raw response body", exc_info=True)
            self.done = True
            self.call.release()

    def feed_line(self, line: object) -> None:
        self.feed(f"{line.decode('utf-8', 'replace') if isinstance(line, bytes) else line}\n")

    def _feed_events(self, text: str) -> None:
        lines = (self.pending + text).split("\n")
        self.pending = lines.pop()
        for line in lines:
            self._event_line(line.rstrip("\r"))

    def _event_line(self, line: str) -> None:
        if not line.startswith("data:"):
            return
        data = line[5:].strip()
        if not data or data == "[DONE]":
            return
        with contextlib.suppress(ValueError):
            self.recorder.see(json.loads(data))  # type: ignore[union-attr]

    def end(self, error: BaseException | None = None, complete: bool = True) -> None:
        if self.done:
            return
        self.done = True
        if self.parts is not None:
            if error is None and complete:
                self._decode("".join(self.parts))
            else:
                self.call.release()
            return
        recorder = self.recorder
        if recorder is None:
            self.call.release()
            return
        if self.pending:
            self._event_line(self.pending.rstrip("\r"))
        if error is not None:
            recorder.finish_with(error)
        else:
            recorder.finish(attr.STREAM_COMPLETED if complete else attr.STREAM_ABANDONED)

    def _decode(self, body: str) -> None:
        try:
            value = json.loads(body)
        except ValueError:
            self.call.release()
            return
        self.call.decoded(value)


def _tapped(pieces: Iterator[Any], tap: _BodyTap, lines: bool) -> Iterator[Any]:
    feed = tap.feed_line if lines else tap.feed
    try:
        for piece in pieces:
            feed(piece)
            yield piece
    except GeneratorExit:
        tap.end(complete=False)
        raise
    except BaseException as error:
        tap.end(error)
        raise
    tap.end()


async def _tapped_async(pieces: AsyncIterator[Any], tap: _BodyTap, lines: bool) -> AsyncIterator[Any]:
    feed = tap.feed_line if lines else tap.feed
    try:
        async for piece in pieces:
            feed(piece)
            yield piece
    except GeneratorExit:
        tap.end(complete=False)
        raise
    except BaseException as error:
        tap.end(error)
        raise
    tap.end()


# --- the proxies -----------------------------------------------------------------------------------------


class _RawProxyBase(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, wrapped: Any, call: RawCall, streaming: bool) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_streaming = streaming

    def _tap(self) -> _BodyTap:
        return _BodyTap(self._self_call, self._self_streaming)

    def __del__(self) -> None:
        # Dropped: a stream already handed out lives on (and ends) on its own.
        with contextlib.suppress(Exception):  # never raise from a finaliser
            self._self_call.release(closed=False)


class LegacyRawResponse(_RawProxyBase):
    """openai's ``LegacyAPIResponse`` of a stream (its ``text`` / ``content`` are properties: untouched)."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_call.failed(error)
            raise
        return self._self_call.parsed(result)

    def iter_bytes(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return _tapped(self.__wrapped__.iter_bytes(*args, **kwargs), self._tap(), lines=False)

    def iter_text(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return _tapped(self.__wrapped__.iter_text(*args, **kwargs), self._tap(), lines=False)

    def iter_lines(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return _tapped(self.__wrapped__.iter_lines(*args, **kwargs), self._tap(), lines=True)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_call.release()


class RawResponse(LegacyRawResponse):
    """A sync ``APIResponse`` whose body is not parsed yet (``read`` / ``text`` / ``json`` are methods)."""

    def read(self) -> Any:
        return self._whole(self.__wrapped__.read)

    def text(self) -> Any:
        return self._whole(self.__wrapped__.text)

    def json(self, *args: Any, **kwargs: Any) -> Any:
        return self._whole(lambda: self.__wrapped__.json(*args, **kwargs))

    def _whole(self, read: Any) -> Any:
        tap = self._tap()
        try:
            body = read()
        except BaseException as error:
            tap.end(error)
            raise
        tap.feed(self.__wrapped__.read())  # cached: the body as bytes, whichever form was asked for
        tap.end()
        return body


class AsyncRawResponse(_RawProxyBase):
    """The async twin of :class:`RawResponse` (``AsyncAPIResponse``)."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_call.failed(error)
            raise
        return self._self_call.parsed(result)

    async def read(self) -> Any:
        return await self._whole(self.__wrapped__.read)

    async def text(self) -> Any:
        return await self._whole(self.__wrapped__.text)

    async def json(self, *args: Any, **kwargs: Any) -> Any:
        return await self._whole(lambda: self.__wrapped__.json(*args, **kwargs))

    async def _whole(self, read: Any) -> Any:
        tap = self._tap()
        try:
            body = await read()
        except BaseException as error:
            tap.end(error)
            raise
        tap.feed(await self.__wrapped__.read())
        tap.end()
        return body

    def iter_bytes(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        return _tapped_async(self.__wrapped__.iter_bytes(*args, **kwargs), self._tap(), lines=False)

    def iter_text(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        return _tapped_async(self.__wrapped__.iter_text(*args, **kwargs), self._tap(), lines=False)

    def iter_lines(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        return _tapped_async(self.__wrapped__.iter_lines(*args, **kwargs), self._tap(), lines=True)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_call.release()
