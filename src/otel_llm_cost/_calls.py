"""The registry of finished-call listeners: how metrics, live stats, detectors and budgets hear of calls.

Every capture layer (SDK wrappers, the wire capture, botocore, ``llm_call``) ends a call through
:class:`~otel_llm_cost.instrumentation._invocation.LLMInvocation`, which tells the listeners here. The
subscribers import this small module, not the instrumentation package.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from otel_llm_cost._fork import reinit_locks_after_fork

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.pricing import Cost
    from otel_llm_cost.usage import Usage

__all__ = ["InvocationListener", "Subscription", "add_invocation_listener", "remove_invocation_listener"]

# Called once per finished call (e.g. by the metrics layer), recording or not.
InvocationListener = Callable[["LLMInvocation", "Usage | None", "Cost | None", "BaseException | None"], None]

listeners_after_end: list[InvocationListener] = []
"""Listeners run just after a call's span ends."""
listeners_before_end: list[InvocationListener] = []
"""Listeners run just before the span ends, while it can still take events (anomaly detectors)."""


def add_invocation_listener(listener: InvocationListener, *, before_end: bool = False) -> None:
    """Register a callback run when any instrumented call finishes (metrics, budgets).

    With ``before_end=True`` it runs just before the span ends (``end_ns`` is set, the span still
    takes events); otherwise just after.
    """
    target = listeners_before_end if before_end else listeners_after_end
    if listener not in target:
        target.append(listener)


def remove_invocation_listener(listener: InvocationListener) -> None:
    for target in (listeners_after_end, listeners_before_end):
        if listener in target:
            target.remove(listener)


class Subscription:
    """A listener subscribed while at least one installer holds it: holds and releases are counted, so
    two instrumentors sharing one meter (or logger) provider subscribe its listener once, and the first
    ``uninstrument()`` does not stop the other's recording. Thread-safe; the lock is renewed after fork."""

    __slots__ = ("__weakref__", "_holds", "_listener", "_lock")

    def __init__(self, listener: InvocationListener) -> None:
        self._listener = listener
        self._holds = 0
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")

    def hold(self, *, listen: bool = True) -> None:
        """One more holder; the first subscribes the listener (unless ``listen``: nothing to hear)."""
        with self._lock:
            self._holds += 1
            if self._holds == 1 and listen:
                add_invocation_listener(self._listener)

    def release(self) -> None:
        """One holder fewer; the last unsubscribes the listener. A release without a hold does nothing."""
        with self._lock:
            if self._holds == 0:
                return
            self._holds -= 1
            if self._holds == 0:
                remove_invocation_listener(self._listener)
