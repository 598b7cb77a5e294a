"""Proxies for the SDK's raw responses (``with_raw_response`` / ``with_streaming_response``).

A raw response has not been turned into a model yet, so its usage is recorded where its body is parsed:
``parse()`` hands a stream to a stream proxy, or records the parsed model. Closing the response (or
dropping it) before that ends the span without usage, so no span is left open.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

import wrapt


class Parsed(Protocol):
    """What a raw-response proxy needs from the call it belongs to."""

    def parsed(self, result: Any) -> Any: ...

    def failed(self, error: BaseException) -> None: ...

    def release(self, closed: bool = True) -> None: ...


class _RawProxyBase(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, wrapped: Any, call: Parsed) -> None:
        super().__init__(wrapped)
        self._self_call = call

    def _parse(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            result = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_call.failed(error)
            raise
        return self._self_call.parsed(result)

    def __del__(self) -> None:
        # Dropped: a stream already handed out lives on (and ends) on its own.
        with contextlib.suppress(Exception):  # never raise from a finaliser
            self._self_call.release(closed=False)


class LegacyStreamResponse(_RawProxyBase):
    """``with_raw_response.create(stream=True)``: ``parse()`` returns the (instrumented) stream."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._parse(args, kwargs)


class StreamedResponse(_RawProxyBase):
    """``with_streaming_response``: ``parse()`` reads the body; ``close()`` ends what is still open."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._parse(args, kwargs)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_call.release()


class AsyncStreamedResponse(_RawProxyBase):
    """The async twin of :class:`StreamedResponse`."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_call.failed(error)
            raise
        return self._self_call.parsed(result)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_call.release()
