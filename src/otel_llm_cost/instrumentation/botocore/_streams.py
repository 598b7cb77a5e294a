"""Bedrock's event streams (ConverseStream's ``stream``, InvokeModelWithResponseStream's ``body``).

botocore's ``EventStream`` decodes the AWS event-stream frames into one dict per event
(``{"contentBlockDelta": {...}}``, ``{"chunk": {"bytes": b"..."}}``). The proxy is the shared
:class:`~otel_llm_cost.instrumentation._stream.SyncStreamProxy`: per event it only counts the event,
keeps it if the end may need it (the opening events through the first content, then the last few), and
until content arrives asks the room whether this event carries any (time to first chunk). Usage, finish
reason and outcome are read once, at the end, by the room. ``close()``, a ``break`` or garbage
collection before the last event record ``abandoned`` (after it, ``completed``); an exception event
(botocore raises ``EventStreamError`` mid-iteration) records ``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost.apis import bedrock_content
from otel_llm_cost.instrumentation._stream import StreamRecorder, SyncStreamProxy

if TYPE_CHECKING:
    from otel_llm_cost.apis._api import WireApi, WireRequest
    from otel_llm_cost.instrumentation._invocation import LLMInvocation


# Rebuilds the output message from every event and the finish reason (content capture).
OutputContent = Callable[[Sequence[Any], Any], dict[str, str]]


class EventsRecorder(StreamRecorder):
    """A Bedrock event stream's end, read by its room from the events kept (all of them when capturing)."""

    __slots__ = ("api", "content", "request")

    def __init__(
        self, invocation: LLMInvocation, api: WireApi, request: WireRequest, content: OutputContent | None
    ) -> None:
        super().__init__(invocation, api.is_content_event, keep_all=content is not None)
        self.api = api
        self.request = request
        self.content = content

    def on_end(self, outcome: str, error: BaseException | None) -> None:
        chunks = self.chunks
        if outcome == attr.STREAM_ABANDONED and chunks and self.api.is_final_event(chunks[-1]):  # type: ignore[attr-defined]
            outcome = attr.STREAM_COMPLETED  # left after its last event: nothing more was coming
        fields = self.api.stream_fields(chunks, self.dropped, self.request)
        if self.content is not None:
            finish = bedrock_content.finish_reason_of(fields.attributes)
            fields.attributes.update(self.content(chunks, finish))
        invocation = self.invocation
        invocation.output_chunks = self.count
        if error is not None:
            invocation.fail(
                error, fields.usage, stream_outcome=outcome, response_attributes=fields.attributes
            )
            return
        invocation.stop(fields.usage, response_attributes=fields.attributes, stream_outcome=outcome)


class EventStreamProxy(SyncStreamProxy):
    """botocore's ``EventStream``, observed; everything else (``close``, ``get_initial_response``) as is."""


def observed(
    stream: Any,
    invocation: LLMInvocation,
    api: WireApi,
    request: WireRequest,
    content: OutputContent | None = None,
) -> Any:
    """The stream to give the caller: ``stream`` behind a proxy that ends ``invocation`` with it."""
    if stream is None or not hasattr(stream, "__iter__"):
        invocation.stop(None)
        return stream
    try:
        return EventStreamProxy(stream, EventsRecorder(invocation, api, request, content))
    except Exception:
        log_once("botocore.stream", "otel-llm-cost could not observe a Bedrock stream", exc_info=True)
        invocation.stop(None)
        return stream
