"""The N traces with the largest key, one entry per trace id, in constant memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otel_llm_cost.report._trace_model import TraceCost

Key = Callable[[TraceCost], tuple[Any, ...]]


class Ranking:
    """Keeps the ``size`` entries with the largest ``key``; offering a trace again replaces its entry.

    Entries are held by trace id, so a trace ranked twice (closed, then seen again and merged) is one
    row, and two entries are never compared beyond their keys and ids.
    """

    def __init__(self, size: int, key: Key) -> None:
        self.size = max(size, 0)
        self._key = key
        self._entries: dict[str, TraceCost] = {}
        self._floor: tuple[tuple[Any, ...], str] | None = None

    def get(self, trace_id: str) -> TraceCost | None:
        """The entry of ``trace_id``, if ranked."""
        return self._entries.get(trace_id)

    def wants(self, entry: TraceCost) -> bool:
        """Whether :meth:`offer` would keep ``entry``."""
        if entry.trace_id in self._entries or len(self._entries) < self.size:
            return self.size > 0
        floor = self._lowest()
        return floor is not None and self._beats(entry, floor)

    def offer(self, entry: TraceCost) -> None:
        """Rank ``entry`` if it is among the largest (replacing an earlier entry of its trace)."""
        if not self.wants(entry):
            return
        if entry.trace_id not in self._entries and len(self._entries) >= self.size:
            floor = self._lowest()
            assert floor is not None
            del self._entries[floor[1]]
        self._entries[entry.trace_id] = entry
        self._floor = None

    def entries(self) -> list[TraceCost]:
        """Largest key first; ties by trace id."""
        ordered = sorted(self._entries.values(), key=lambda e: e.trace_id)
        return sorted(ordered, key=self._key, reverse=True)

    def _beats(self, entry: TraceCost, floor: tuple[tuple[Any, ...], str]) -> bool:
        key = self._key(entry)
        return key > floor[0] or (key == floor[0] and entry.trace_id < floor[1])

    def _lowest(self) -> tuple[tuple[Any, ...], str] | None:
        if self._floor is None and self._entries:
            lowest = min(self._entries.values(), key=lambda e: (self._key(e), _Reverse(e.trace_id)))
            self._floor = (self._key(lowest), lowest.trace_id)
        return self._floor


class _Reverse:
    """Orders strings backwards, so that among equal keys the largest id is the lowest entry."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)
