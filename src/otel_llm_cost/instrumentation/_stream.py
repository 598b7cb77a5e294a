"""Streams: see each chunk as it passes, and record the stream's end exactly once.

A proxy wraps the SDK's stream object (``wrapt.ObjectProxy``: ``isinstance`` checks and every other
attribute keep working). Iterating it iterates a generator, :func:`observe` (or :func:`observe_async`),
over the SDK's own iterator: one generator frame per chunk instead of a Python ``__next__`` on the proxy,
and nothing per chunk beyond counting it, keeping a reference if the end may need it, and, until the first
content arrives, asking the surface's :attr:`StreamRecorder.has_content` test. Everything else happens
once, in the surface's :meth:`StreamRecorder.on_end`.

Which chunks are kept: every chunk up to and including the first content-bearing one (the opening events:
ids, model, input usage), then only the last :data:`TAIL` (finish reasons, usage). Keeping every chunk of a
long stream costs more than all the per-chunk work together (memory the SDK cannot reuse for the next
chunk, and collector passes over hundreds of live SDK objects: see ``benchmarks/``), so a recorder keeps
them all only when its end needs them all (content capture, or usage that must be estimated from the text).

Exit paths and their outcome:

- iteration reaches the end: ``completed``
- an exception from the SDK mid-stream: ``error`` (re-raised untouched)
- ``asyncio.CancelledError`` / ``KeyboardInterrupt`` mid-iteration: ``cancelled``
- ``close()`` / ``aclose()`` / context-manager exit / the iterator closed, or the proxy and the iterator
  garbage-collected, before the end: ``abandoned``
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import weakref
from array import array
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

import wrapt

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation

TAIL: Final = 8  # chunks kept from the end of a stream: where usage and finish reasons arrive

_CANCELLATIONS = (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)

ChunkTest = Callable[[Any], bool]


class StreamRecorder:
    """What a stream's end needs from its chunks, and the once-only recording of that end.

    Subclasses (one per surface) implement :meth:`on_end`. Slotted: :func:`observe` touches it per chunk.
    """

    __slots__ = (
        "__weakref__",
        "arrivals",
        "count",
        "finished",
        "has_content",
        "head",
        "hides",
        "invocation",
        "started",
        "tail",
    )

    def __init__(
        self,
        invocation: LLMInvocation,
        has_content: ChunkTest,
        hides: ChunkTest | None = None,
        *,
        keep_all: bool = False,
    ) -> None:
        self.invocation = invocation
        self.has_content = has_content  # asked of each chunk until it says yes (time to first chunk)
        self.hides = hides  # chunks it says yes to are kept but not handed to the caller
        self.count = 0  # chunks delivered by the SDK (hidden ones included)
        self.head: list[Any] = []  # the opening chunks, through the first with content; all with keep_all
        self.tail: deque[Any] | None = None if keep_all else deque(maxlen=TAIL)
        # Monotonic ns arrival time of each chunk after the first content: 8 bytes a chunk, turned into
        # time-per-chunk observations once, at the end.
        self.arrivals = array("q")
        self.finished = False
        invocation.exit_hook = weakref.WeakMethod(self.abandon)  # at interpreter exit: abandoned
        self.started = False  # content seen, for chunks handed in through see()

    @property
    def chunks(self) -> list[Any]:
        """The chunks kept, in stream order."""
        return self.head if self.tail is None else [*self.head, *self.tail]

    @property
    def dropped(self) -> int:
        """How many chunks (from the middle of the stream) were seen but not kept."""
        return self.count - len(self.head) - (len(self.tail) if self.tail is not None else 0)

    def content_started(self) -> Callable[[Any], None]:
        """The first content-bearing chunk arrived (and is kept): returns how to keep the ones after it."""
        self.invocation.first_chunk()
        return self.head.append if self.tail is None else self.tail.append

    def see(self, chunk: Any) -> None:
        """One chunk the caller read some other way than through a proxy (a raw body read as bytes,
        decoded): counted and kept as :func:`observe` does."""
        self.count += 1
        if self.started:
            (self.head if self.tail is None else self.tail).append(chunk)
            return
        self.head.append(chunk)
        if self.has_content(chunk):
            self.started = True
            self.content_started()

    # --- the end ---------------------------------------------------------------------------------
    def on_end(self, outcome: str, error: BaseException | None) -> None:
        """Build usage and response fields from the kept chunks and stop/fail the invocation."""
        raise NotImplementedError

    def finish(self, outcome: str, error: BaseException | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        if self.arrivals:
            self.invocation.chunk_ns = self.arrivals
        try:
            self.on_end(outcome, error)
        except Exception:
            log_once("stream.finish", "otel-llm-cost could not record a stream's end", exc_info=True)
            # Whatever went wrong above, the span must not stay open.
            self.invocation.stop(None, stream_outcome=outcome)

    def finish_with(self, error: BaseException) -> None:
        if isinstance(error, _CANCELLATIONS):
            self.finish(attr.STREAM_CANCELLED, error)
        else:
            self.finish(attr.STREAM_ERROR, error)

    def left_with(self, error: BaseException) -> None:
        """The caller's own code raised out of a ``with`` block around the stream: not the stream's
        failure (an SDK error mid-stream was recorded already, where it was raised), so ``abandoned``,
        or ``cancelled`` for a cancellation."""
        cancelled = isinstance(error, _CANCELLATIONS)
        self.finish(attr.STREAM_CANCELLED if cancelled else attr.STREAM_ABANDONED)

    def abandon(self) -> None:
        # At interpreter exit modules are half torn down; recording then would only log noise.
        if not self.finished and not sys.is_finalizing():
            self.finish(attr.STREAM_ABANDONED)

    def __del__(self) -> None:
        # Nothing can deliver more chunks: the proxy and the iterator (a generator holds its arguments
        # even before it starts) are both gone. Never raise from a finaliser.
        with contextlib.suppress(Exception):
            self.abandon()


def _stop_observing() -> None:
    log_once("stream.chunk", "otel-llm-cost stopped looking at a stream's chunks", exc_info=True)


def _ignore(value: int) -> None:
    return None


def observe(chunks: Iterator[Any], recorder: StreamRecorder) -> Iterator[Any]:
    """Yield what ``chunks`` yields, counting and keeping chunks for ``recorder``, which records the end."""
    keep = recorder.head.append
    has_content: ChunkTest | None = recorder.has_content
    hides = recorder.hides
    stamp: Callable[[int], None] = recorder.arrivals.append
    now = time.monotonic_ns
    try:
        for chunk in chunks:
            try:  # free until it raises; nothing of ours may reach the caller
                recorder.count += 1
                keep(chunk)
                if has_content is None:
                    stamp(now())
                elif has_content(chunk):
                    has_content = None
                    keep = recorder.content_started()
                if hides is not None and hides(chunk):
                    continue
            except Exception:
                _stop_observing()
                has_content = hides = None
                stamp = _ignore
            yield chunk
    except GeneratorExit:  # the caller dropped or closed the iterator before the end
        recorder.abandon()
        raise
    except BaseException as error:
        recorder.finish_with(error)
        raise
    recorder.finish(attr.STREAM_COMPLETED)


async def observe_async(chunks: AsyncIterator[Any], recorder: StreamRecorder) -> AsyncIterator[Any]:
    """The async twin of :func:`observe`."""
    keep = recorder.head.append
    has_content: ChunkTest | None = recorder.has_content
    hides = recorder.hides
    stamp: Callable[[int], None] = recorder.arrivals.append
    now = time.monotonic_ns
    try:
        async for chunk in chunks:
            try:
                recorder.count += 1
                keep(chunk)
                if has_content is None:
                    stamp(now())
                elif has_content(chunk):
                    has_content = None
                    keep = recorder.content_started()
                if hides is not None and hides(chunk):
                    continue
            except Exception:
                _stop_observing()
                has_content = hides = None
                stamp = _ignore
            yield chunk
    except GeneratorExit:
        recorder.abandon()
        raise
    except BaseException as error:
        recorder.finish_with(error)
        raise
    recorder.finish(attr.STREAM_COMPLETED)


class StreamProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    """What the sync and async proxies share: the recorder, and the iterator once iteration starts.

    A ``for`` loop holds the iterator, not the proxy, which may be gone first; the recorder, held by both,
    records an abandoned stream when the last of them goes.
    """

    _self_recorder: StreamRecorder
    _self_iterator: Any

    def __init__(self, wrapped: Any, recorder: StreamRecorder) -> None:
        super().__init__(wrapped)
        self._self_recorder = recorder
        self._self_iterator = None

    def __reduce_ex__(self, protocol: object) -> Any:  # streams are not picklable; say so plainly
        raise TypeError(f"cannot pickle {type(self.__wrapped__).__name__}")


class SyncStreamProxy(StreamProxy):
    """Proxy for a synchronous SDK stream (iterator, context manager, ``close()``)."""

    def __iter__(self) -> Iterator[Any]:
        iterator = self._self_iterator
        if iterator is None:
            iterator = self._self_iterator = observe(iter(self.__wrapped__), self._self_recorder)
        return iterator  # type: ignore[no-any-return]

    def __next__(self) -> Any:
        return next(self.__iter__())

    def __enter__(self) -> SyncStreamProxy:
        enter = getattr(self.__wrapped__, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__exit__", None)
            return exit_(exc_type, exc, tb) if exit_ is not None else None
        finally:
            if exc is not None:
                self._self_recorder.left_with(exc)
            else:
                self._self_recorder.finish(attr.STREAM_ABANDONED)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_recorder.finish(attr.STREAM_ABANDONED)


class AsyncStreamProxy(StreamProxy):
    """Proxy for an asynchronous SDK stream (async iterator, async context manager, ``aclose()``)."""

    def __aiter__(self) -> AsyncIterator[Any]:
        iterator = self._self_iterator
        if iterator is None:
            iterator = self._self_iterator = observe_async(aiter(self.__wrapped__), self._self_recorder)
        return iterator  # type: ignore[no-any-return]

    def __anext__(self) -> Any:
        return self.__aiter__().__anext__()

    async def __aenter__(self) -> AsyncStreamProxy:
        enter = getattr(self.__wrapped__, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__aexit__", None)
            return await exit_(exc_type, exc, tb) if exit_ is not None else None
        finally:
            if exc is not None:
                self._self_recorder.left_with(exc)
            else:
                self._self_recorder.finish(attr.STREAM_ABANDONED)

    async def close(self) -> None:
        """The SDKs' async streams close with a coroutine ``close()``."""
        try:
            await self.__wrapped__.close()
        finally:
            self._self_recorder.finish(attr.STREAM_ABANDONED)

    async def aclose(self) -> None:
        try:
            close = getattr(self.__wrapped__, "aclose", None) or self.__wrapped__.close
            await close()
        finally:
            self._self_recorder.finish(attr.STREAM_ABANDONED)
