"""The shared "an LLM span is open for this request" flag, as the botocore capture uses it.

The flag lives in :mod:`otel_llm_cost.instrumentation._active` (the wire capture beneath httpx / httpx2
owns it). Until that module is present this falls back to a flag of its own, which keeps botocore's
calls to one span each and changes nothing for the other layers.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

try:
    from otel_llm_cost.instrumentation._active import LLM_SPAN_OPEN  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on which layers are installed
    LLM_SPAN_OPEN: ContextVar[bool] = ContextVar("otel_llm_cost.llm_span_open", default=False)  # type: ignore[no-redef]


def llm_span_open() -> bool:
    return LLM_SPAN_OPEN.get()


def open_llm_span() -> Token[bool]:
    return LLM_SPAN_OPEN.set(True)


def close_llm_span(token: Token[bool]) -> None:
    LLM_SPAN_OPEN.reset(token)
