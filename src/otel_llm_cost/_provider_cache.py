"""One value per tracer or meter provider, for providers of any kind.

A ``WeakKeyDictionary`` needs its keys hashable and weak-referenceable. Providers owned by other
libraries need not be either: logfire's ``ProxyTracerProvider`` is a dataclass with ``eq`` (so not
hashable). Entries are therefore keyed by identity (``id``): a provider that can be weakly referenced is
held weakly and its entry dropped when it goes; one that cannot is held strongly, so its ``id`` cannot be
reused by another object while the entry lives.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from otel_llm_cost._fork import reinit_locks_after_fork

V = TypeVar("V")


class ProviderCache(Generic[V]):
    """A thread-safe map from a provider object (by identity) to a value made once for it."""

    def __init__(self) -> None:
        # id(provider) -> (weak reference or the provider itself, value)
        self._entries: dict[int, tuple[Any, V]] = {}
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")

    def get(self, provider: object) -> V | None:
        entry = self._entries.get(id(provider))
        if entry is None or _referent(entry[0]) is not provider:
            return None
        return entry[1]

    def get_or_make(self, provider: object, make: Callable[[], V]) -> V:
        """The value for ``provider``, made by ``make()`` (once, under a lock) if there is none yet."""
        value = self.get(provider)
        if value is not None:
            return value
        with self._lock:
            value = self.get(provider)
            if value is None:
                value = make()
                self._entries[id(provider)] = (self._hold(provider), value)
        return value

    def set(self, provider: object, value: V) -> None:
        with self._lock:
            self._entries[id(provider)] = (self._hold(provider), value)

    def values(self) -> list[V]:
        return [value for ref, value in list(self._entries.values()) if _referent(ref) is not None]

    def _hold(self, provider: object) -> Any:
        key = id(provider)

        def forget(ref: Any, entries: dict[int, tuple[Any, V]] = self._entries) -> None:
            entry = entries.get(key)
            if entry is not None and entry[0] is ref:
                entries.pop(key, None)

        try:
            return weakref.ref(provider, forget)
        except TypeError:  # not weak-referenceable: keep it alive, so its id stays its own
            return _Strong(provider)


class _Strong:
    __slots__ = ("target",)

    def __init__(self, target: object) -> None:
        self.target = target

    def __call__(self) -> object:
        return self.target


def _referent(ref: Any) -> object:
    return ref()
