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


class InterpreterExit(Exception):
    """The interpreter exited while the call was in flight (its span's ``error.type``)."""


# id(invocation) -> a weak reference to it. Cheaper per call than a WeakSet (no callback per reference,
# no Python-level set methods): an invocation dropped without ending leaves a dead entry, which the next
# sweep (once the map has doubled) removes; a reused id just replaces the dead entry.
_open: dict[int, weakref.ref[Any]] = {}
_sweep_at = [1024]


def track(invocation: LLMInvocation) -> None:
    """Register an open call (it unregisters itself by ending, or by being garbage-collected)."""
    _open[id(invocation)] = weakref.ref(invocation)
    if len(_open) >= _sweep_at[0]:
        _sweep()


def untrack(invocation: LLMInvocation) -> None:
    _open.pop(id(invocation), None)


def _sweep() -> None:
    for key, ref in _items():
        if ref() is None and _open.get(key) is ref:  # not a new call that took the dead one's id
            _open.pop(key, None)
    _sweep_at[0] = max(1024, 2 * len(_open))


def _items() -> list[tuple[int, weakref.ref[Any]]]:
    for _ in range(8):  # another thread may start or end a call while we copy
        try:
            return list(_open.items())
        except RuntimeError:
            continue
    return []


def open_calls() -> int:
    """How many calls are open now (for tests)."""
    return len(_snapshot())


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
    """The open calls still alive."""
    alive = (ref() for _, ref in _items())
    return [invocation for invocation in alive if invocation is not None]


def finish_before_shutdown() -> None:
    """(Re-)register :func:`finish_open_calls` so it runs before every exit handler registered so far."""
    atexit.unregister(finish_open_calls)
    atexit.register(finish_open_calls)


def _forget_in_child() -> None:
    _open.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
