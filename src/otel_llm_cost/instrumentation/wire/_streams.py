"""Stand-ins for an httpx / httpx2 response's byte stream that show each raw chunk to an observer.

``Response.iter_raw`` checks ``isinstance(self.stream, SyncByteStream)`` of its own module, so the
classes are made per module (``httpx`` and ``httpx2`` each have their own base classes). The response's
``close()`` reaches :meth:`close` / :meth:`aclose`: before the end, the stream is ``abandoned``.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any

from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation.wire._observer import (
    Decode,
    WireBody,
    WireStream,
    observe_bytes,
    observe_bytes_async,
)

Recorder = WireStream | WireBody


@cache
def stream_classes(module: ModuleType) -> tuple[type, type]:
    """The observed (sync, async) byte-stream classes for ``module`` (``httpx`` or ``httpx2``)."""

    class ObservedSyncStream(module.SyncByteStream):  # type: ignore[name-defined,misc]
        __slots__ = ("_decode", "_recorder", "_wrapped")

        def __init__(self, wrapped: Any, recorder: Recorder, decode: Decode | None) -> None:
            self._wrapped = wrapped
            self._recorder = recorder
            self._decode = decode

        def __iter__(self) -> Any:
            return observe_bytes(iter(self._wrapped), self._recorder, self._decode)

        def close(self) -> None:
            try:
                self._wrapped.close()
            finally:
                self._recorder.finish(attr.STREAM_ABANDONED)

    class ObservedAsyncStream(module.AsyncByteStream):  # type: ignore[name-defined,misc]
        __slots__ = ("_decode", "_recorder", "_wrapped")

        def __init__(self, wrapped: Any, recorder: Recorder, decode: Decode | None) -> None:
            self._wrapped = wrapped
            self._recorder = recorder
            self._decode = decode

        def __aiter__(self) -> Any:
            return observe_bytes_async(aiter(self._wrapped), self._recorder, self._decode)

        async def aclose(self) -> None:
            try:
                await self._wrapped.aclose()
            finally:
                self._recorder.finish(attr.STREAM_ABANDONED)

    return ObservedSyncStream, ObservedAsyncStream


def content_decoder(module: ModuleType, encoding: str) -> Decode | None:
    """A fresh decoder for a ``Content-Encoding`` (gzip, br, deflate, zstd), as the module decodes it.

    ``None`` when the module knows no such encoding (then neither can the application read it).
    """
    decoders = getattr(getattr(module, "_decoders", None), "SUPPORTED_DECODERS", None) or {}
    decoder_type = decoders.get(encoding.strip().lower())
    if decoder_type is None:
        return None
    decode = decoder_type().decode

    def decoded(data: bytes) -> bytes:
        out = decode(data)  # httpx returns bytes, httpx2 an iterator of them
        return out if isinstance(out, bytes) else b"".join(out)

    return decoded
