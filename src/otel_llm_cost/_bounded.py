"""Bounded per-key structures: every dict or set keyed by values we do not control uses one of these.

Model names, hosts, budget keys, run ids and log keys come from requests, responses and other
producers' spans; a stream of distinct values must not grow memory without end. Both structures evict
the oldest insertion when full (a dict keeps insertion order, so eviction is O(1)); what is evicted is
recomputed or forgotten, never wrong. Reads are plain ``dict`` reads.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["BoundedDict", "BoundedSet"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedDict(dict[K, V]):
    """A ``dict`` of at most ``cap`` keys: setting a new key when full drops the oldest one.

    Only ``d[key] = value`` is bounded (``setdefault`` and ``update`` are not: do not use them).

    Attributes:
        cap: the most keys kept.
        evicted: how many keys were dropped so far.
    """

    __slots__ = ("cap", "evicted")

    def __init__(self, cap: int) -> None:
        super().__init__()
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self.cap = cap
        self.evicted = 0

    def __setitem__(self, key: K, value: V) -> None:
        if len(self) >= self.cap and key not in self:
            del self[next(iter(self))]
            self.evicted += 1
        super().__setitem__(key, value)

    def touch(self, key: K) -> None:
        """Mark ``key`` as recently used (it is evicted last); nothing when absent."""
        if key in self:
            super().__setitem__(key, self.pop(key))


class BoundedSet(Generic[K]):
    """A set of at most ``cap`` items; adding a new item when full forgets the oldest."""

    __slots__ = ("_items",)

    def __init__(self, cap: int) -> None:
        self._items: BoundedDict[K, None] = BoundedDict(cap)

    def add(self, item: K) -> bool:
        """Add ``item``; ``True`` when it was not there."""
        if item in self._items:
            return False
        self._items[item] = None
        return True

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
