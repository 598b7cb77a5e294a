"""One flag for every capture layer: "an LLM span is open for this request".

The SDK wrappers set it while the SDK sends a request they record; the wire capture beneath httpx /
httpx2 sets it while it sends one. A layer that finds it set adds nothing, so a call records exactly one
LLM span however many layers see it (a helper calling ``create``, the SDK's ``send`` under our
wrapper, a transport that itself uses an HTTP client).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Final

LLM_SPAN_OPEN: Final[ContextVar[bool]] = ContextVar("otel_llm_cost.llm_span_open", default=False)
"""True while a capture layer's LLM span covers the request being sent in this context."""
