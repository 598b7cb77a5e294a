"""Stream proxies that end their call's span exactly once, whichever way the stream ends.

A proxy wraps the SDK's stream object (``wrapt.ObjectProxy``: ``isinstance`` checks and every other
attribute keep working) and sees each chunk as it passes. Per chunk it does as little as possible: it
keeps the chunk and, until the first content arrives, asks its :attr:`StreamState.has_content` test;
subclasses implement :meth:`_on_stream_end` (everything else, once). Exit paths and their outcome:

- iteration reaches the end: ``completed``
- an exception from the SDK mid-stream: ``error`` (re-raised untouched)
- ``asyncio.CancelledError`` / ``KeyboardInterrupt`` mid-iteration: ``cancelled``
- ``close()`` / ``aclose()`` / context-manager exit / garbage collection before the end: ``abandoned``
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import wrapt

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation

_CANCELLATIONS = (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)

ChunkTest = Callable[[Any], bool]


class StreamState:
    """A stream's per-chunk state, on a plain slotted object.

    Reading a ``_self_*`` attribute of a ``wrapt`` proxy costs several times a slot's, so the proxy reads
    this object once per chunk and everything else from here (bound methods included).
    """

    __slots__ = ("chunks", "finished", "has_content", "hides", "invocation", "keep", "next", "waiting")

    def __init__(
        self, invocation: LLMInvocation, has_content: ChunkTest, hides: ChunkTest | None = None
    ) -> None:
        self.invocation = invocation
        self.chunks: list[Any] = []
        self.keep = self.chunks.append
        self.has_content = has_content  # asked of each chunk until it says yes (time to first chunk)
        self.hides = hides  # chunks it says yes to are kept but not handed to the caller
        self.waiting = True
        self.finished = False
        self.next: Callable[[], Any] = _not_iterable


def _not_iterable() -> Any:
    raise TypeError("the wrapped stream is not an iterator")


class _StreamProxyBase(wrapt.ObjectProxy):  # type: ignore[misc]
    """What the sync and async proxies share: the once-only finalisation."""

    _self_state: StreamState

    def __init__(self, wrapped: Any, state: StreamState) -> None:
        super().__init__(wrapped)
        self._self_state = state

    # --- hooks for subclasses -----------------------------------------------------------------
    def _on_stream_end(self, outcome: str, error: BaseException | None) -> None:
        """Build usage and response fields from what was seen and stop/fail the invocation."""
        raise NotImplementedError

    # --- finalisation ---------------------------------------------------------------------------
    def _finish(self, outcome: str, error: BaseException | None = None) -> None:
        state = self._self_state
        if state.finished:
            return
        state.finished = True
        try:
            self._on_stream_end(outcome, error)
        except Exception:
            log_once("stream.finish", "otel-llm-cost could not record a stream's end", exc_info=True)
            # Whatever went wrong above, the span must not stay open.
            state.invocation.stop(None, stream_outcome=outcome)

    def _finish_with(self, error: BaseException) -> None:
        if isinstance(error, _CANCELLATIONS):
            self._finish(attr.STREAM_CANCELLED, error)
        else:
            self._finish(attr.STREAM_ERROR, error)

    def __del__(self) -> None:
        # Abandoned without close(): keep what was seen. Never raise from a finaliser.
        try:
            # At interpreter exit modules are half torn down; recording then would only log noise.
            if not self._self_state.finished and not sys.is_finalizing():
                self._finish(attr.STREAM_ABANDONED)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __reduce_ex__(self, protocol: object) -> Any:  # streams are not picklable; say so plainly
        raise TypeError(f"cannot pickle {type(self.__wrapped__).__name__}")


class SyncStreamProxy(_StreamProxyBase):
    """Proxy for a synchronous SDK stream (iterator, context manager, ``close()``)."""

    def __init__(self, wrapped: Any, state: StreamState) -> None:
        super().__init__(wrapped, state)
        state.next = getattr(wrapped, "__next__", _not_iterable)

    def __iter__(self) -> SyncStreamProxy:
        return self

    def __next__(self) -> Any:
        # The hot path of every stream: one proxy attribute read, then slots and bound methods only.
        state = self._self_state
        while True:
            try:
                chunk = state.next()
            except StopIteration:
                self._finish(attr.STREAM_COMPLETED)
                raise
            except BaseException as error:
                self._finish_with(error)
                raise
            state.keep(chunk)
            if state.waiting and state.has_content(chunk):
                state.waiting = False
                state.invocation.first_chunk()
            if state.hides is None or not state.hides(chunk):
                return chunk

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
                self._finish_with(exc)
            else:
                self._finish(attr.STREAM_ABANDONED)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._finish(attr.STREAM_ABANDONED)


class AsyncStreamProxy(_StreamProxyBase):
    """Proxy for an asynchronous SDK stream (async iterator, async context manager, ``aclose()``)."""

    def __init__(self, wrapped: Any, state: StreamState) -> None:
        super().__init__(wrapped, state)
        state.next = getattr(wrapped, "__anext__", _not_iterable)

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        state = self._self_state  # see SyncStreamProxy.__next__
        while True:
            try:
                chunk = await state.next()
            except StopAsyncIteration:
                self._finish(attr.STREAM_COMPLETED)
                raise
            except BaseException as error:
                self._finish_with(error)
                raise
            state.keep(chunk)
            if state.waiting and state.has_content(chunk):
                state.waiting = False
                state.invocation.first_chunk()
            if state.hides is None or not state.hides(chunk):
                return chunk

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
                self._finish_with(exc)
            else:
                self._finish(attr.STREAM_ABANDONED)

    async def close(self) -> None:
        """The SDKs' async streams close with a coroutine ``close()``."""
        try:
            await self.__wrapped__.close()
        finally:
            self._finish(attr.STREAM_ABANDONED)

    async def aclose(self) -> None:
        try:
            close = getattr(self.__wrapped__, "aclose", None) or self.__wrapped__.close
            await close()
        finally:
            self._finish(attr.STREAM_ABANDONED)
