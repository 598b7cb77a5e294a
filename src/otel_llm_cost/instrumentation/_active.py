"""One flag for every capture layer: "an LLM span is open for this request".

The SDK wrappers set it while the SDK sends a request they record; the wire capture beneath httpx /
httpx2 sets it while it sends one. A layer that finds it set adds nothing, so a call records exactly one
LLM span however many layers see it (a helper calling ``create``, the SDK's ``send`` under our
wrapper, a transport that itself uses an HTTP client).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Final

from opentelemetry import context
from opentelemetry.trace import Span, set_span_in_context

LLM_SPAN_OPEN: Final[ContextVar[bool]] = ContextVar("otel_llm_cost.llm_span_open", default=False)
"""True while a capture layer's LLM span covers the request being sent in this context."""


class covering:  # lower case: used like a context-manager function
    """While ``span`` covers the request being sent: the flag set for the layers beneath, and the span
    current, so that HTTP spans nest under it. A class, not ``@contextmanager``: it runs on every call."""

    __slots__ = ("_attached", "_span", "_token")

    def __init__(self, span: Span) -> None:
        self._span = span

    def __enter__(self) -> None:
        self._token = LLM_SPAN_OPEN.set(True)
        self._attached = context.attach(set_span_in_context(self._span))

    def __exit__(self, *exc_info: object) -> None:
        context.detach(self._attached)
        LLM_SPAN_OPEN.reset(self._token)
