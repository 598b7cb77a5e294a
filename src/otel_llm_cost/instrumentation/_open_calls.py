"""Calls still open when the interpreter exits are ended before the span pipeline shuts down.

A stream the application never finished (held by a global, read by a daemon thread) or a call in
flight on a daemon thread has an open span at exit; without this it is never ended, so never exported.
Every :class:`~otel_llm_cost.instrumentation._invocation.LLMInvocation` is registered here while open
(weakly). At exit, each one still open is finished: a stream as ``abandoned`` (its recorder keeps the
usage it saw and estimates the rest), any other call as failed with :class:`InterpreterExit` (a budget
reservation then keeps its worst case).

Order matters: ``atexit`` runs handlers last-registered-first, and the OpenTelemetry SDK's
``TracerProvider`` registers its own shutdown when it is built. :func:`finish_before_shutdown` registers
(or moves) our handler to the end of the list, so it runs first; it is called by ``configure()``, by
each instrumentor's ``instrument()`` and by the cost processor's installation, which all come after the
provider exists. A child process forked with calls open forgets them (they are its parent's).
"""

from __future__ import annotations

import atexit
import os
import weakref
from typing import TYPE_CHECKING, Any

from otel_llm_cost._log import log_once

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation

__all__ = ["InterpreterExit", "finish_before_shutdown", "finish_open_calls", "open_calls", "track"]

_open: weakref.WeakSet[Any] = weakref.WeakSet()


class InterpreterExit(Exception):
    """The interpreter exited while the call was in flight (its span's ``error.type``)."""


def track(invocation: LLMInvocation) -> None:
    """Register an open call (it unregisters itself by ending, or by being garbage-collected)."""
    _open.add(invocation)


def untrack(invocation: LLMInvocation) -> None:
    _open.discard(invocation)


def open_calls() -> int:
    """How many calls are open now (for tests)."""
    return len(_open)


def finish_open_calls() -> int:
    """End every open call now (streams ``abandoned``, others failed); returns how many. Never raises."""
    finished = 0
    for invocation in _snapshot():
        try:
            if invocation.ended:
                continue
            hook = invocation.exit_hook() if invocation.exit_hook is not None else None
            if hook is not None:
                hook()
            if not invocation.ended:
                invocation.fail(InterpreterExit("the interpreter exited while the call was in flight"))
            finished += 1
        except Exception:
            log_once("open_calls.exit", "otel-llm-cost could not end a call open at exit", exc_info=True)
    _open.clear()
    return finished


def _snapshot() -> list[Any]:
    for _ in range(8):  # a daemon thread may start or end a call while we copy
        try:
            return list(_open)
        except RuntimeError:
            continue
    return []


def finish_before_shutdown() -> None:
    """(Re-)register :func:`finish_open_calls` so it runs before every exit handler registered so far."""
    atexit.unregister(finish_open_calls)
    atexit.register(finish_open_calls)


def _forget_in_child() -> None:
    global _open
    _open = weakref.WeakSet()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
