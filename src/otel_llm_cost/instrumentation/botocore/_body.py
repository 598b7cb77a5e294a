"""InvokeModel's response body: observed as the caller reads it, never read ahead of the caller.

botocore returns InvokeModel's ``body`` as a ``StreamingBody`` over the open HTTP response: the bytes
are still on the socket when ``invoke_model`` returns. We do not read it ourselves and hand back a copy:
the caller's reads, timeouts and errors stay where they were, and a large body (images, embeddings) is
not held twice. Instead the body is replaced by a ``StreamingBody`` of our own over the same socket
(``isinstance`` checks keep working, and ``iter_lines`` / ``iter_chunks`` / iteration all go through
its ``read``). The span ends when the caller has read the whole body (its JSON then gives the finish
reason and response id), or when it closes the body or drops it unread.

Usage never depends on the body being read: Bedrock sends its token counts in the response headers
(``X-Amzn-Bedrock-Input-Token-Count``...), which the call already has.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from botocore.response import StreamingBody

from otel_llm_cost._log import log_once
from otel_llm_cost.apis import bedrock_content, bedrock_invoke

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation

KEEP_LIMIT: Final = 1 << 20  # bytes of body kept to read its JSON; a larger body is read by headers only


class BodyRecorder:
    """The end of one InvokeModel call: from the body if the caller read it all, else from its headers."""

    __slots__ = ("capture", "finished", "headers", "invocation", "parts", "size")

    def __init__(self, invocation: LLMInvocation, headers: Mapping[str, Any], capture: bool = False) -> None:
        self.invocation = invocation
        self.headers = headers
        self.capture = capture
        self.parts: list[bytes] | None = []
        self.size = 0
        self.finished = False

    def keep(self, chunk: bytes) -> None:
        parts = self.parts
        if parts is None or not chunk:
            return
        self.size += len(chunk)
        if self.size > KEEP_LIMIT:
            self.parts = None
        else:
            parts.append(chunk)

    def finish(self, read_whole: bool) -> None:
        if self.finished:
            return
        self.finished = True
        try:
            body = _json(self.parts) if read_whole else None
            fields = bedrock_invoke.invoke_fields(body, self.headers)
            if self.capture and body is not None:
                finish = bedrock_content.finish_reason_of(fields.attributes)
                fields.attributes.update(bedrock_content.output_attributes(body, finish))
            self.invocation.stop(fields.usage, response_attributes=fields.attributes)
        except Exception:
            log_once("botocore.body", "otel-llm-cost could not record a Bedrock response", exc_info=True)
            self.invocation.stop(None)

    def fail(self, error: BaseException) -> None:
        if self.finished:
            return
        self.finished = True
        usage = None
        with contextlib.suppress(Exception):
            usage = bedrock_invoke.header_usage(self.headers)
        self.invocation.fail(error, usage)

    def __del__(self) -> None:
        # The body is gone, unread or half read: the call still ended, and its headers say what it used.
        if not self.finished and not sys.is_finalizing():
            with contextlib.suppress(Exception):
                self.finish(False)


def _json(parts: list[bytes] | None) -> Any:
    if not parts:
        return None
    try:
        return json.loads(b"".join(parts))
    except (ValueError, UnicodeDecodeError):
        return None


class ObservedBody(StreamingBody):  # type: ignore[misc]
    """A ``StreamingBody`` over the same HTTP response that tells its recorder what the caller read."""

    def __init__(self, raw_stream: Any, content_length: Any, recorder: BodyRecorder) -> None:
        super().__init__(raw_stream, content_length)
        self._otel_recorder = recorder

    def read(self, amt: int | None = None) -> bytes:
        try:
            chunk: bytes = super().read(amt)
        except BaseException as error:
            self._otel_recorder.fail(error)
            raise
        self._otel_recorder.keep(chunk)
        if amt is None or not chunk or self._read_all():
            self._otel_recorder.finish(True)
        return chunk

    def readinto(self, b: Any) -> int:
        try:
            count: int = super().readinto(b)
        except BaseException as error:
            self._otel_recorder.fail(error)
            raise
        self._otel_recorder.keep(bytes(memoryview(b)[:count]))
        if count == 0 or self._read_all():
            self._otel_recorder.finish(True)
        return count

    def readlines(self) -> list[bytes]:
        lines: list[bytes] = super().readlines()
        for line in lines:
            self._otel_recorder.keep(line)
        self._otel_recorder.finish(True)
        return lines

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._otel_recorder.finish(False)

    def __exit__(self, *exc_info: Any) -> None:
        try:
            super().__exit__(*exc_info)
        finally:
            self._otel_recorder.finish(False)

    def _read_all(self) -> bool:
        length = self._content_length
        try:
            return length is not None and self._amount_read >= int(length)
        except (TypeError, ValueError):
            return False


def observed(body: Any, invocation: LLMInvocation, headers: Mapping[str, Any], capture: bool = False) -> Any:
    """The body to give the caller; the call ends as it is read (or at once, if it cannot be observed)."""
    recorder = BodyRecorder(invocation, headers, capture)
    raw = getattr(body, "_raw_stream", None)
    if type(body) is not StreamingBody or raw is None or not hasattr(body, "_content_length"):
        recorder.finish(False)  # not the body we know: its headers still give the usage
        return body
    return ObservedBody(raw, body._content_length, recorder)
