"""Sliding time windows as rings of buckets: the use of a budget key over the last window.

A window of ``W`` seconds is cut into (at most) :data:`BUCKETS` buckets of ``ceil(W / BUCKETS)``
seconds; the window's use is the sum of the buckets that started within it. Looking a window up is
therefore O(buckets) whatever the traffic, in memory and in Redis alike, and the window slides by
one bucket at a time: its precision is ``W / 60`` (10 seconds for a 10-minute window, 24 minutes for
a day).

Each bucket keeps two numbers: ``spent`` (settled calls) and ``reserved`` (calls admitted and still
running, at their worst-case estimate). A reservation lives in the bucket of its admission, so a
reservation that is never settled (a crashed process) expires with the window instead of holding a
budget forever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

BUCKETS: Final = 60


@dataclass(frozen=True, slots=True)
class Window:
    """The bucket layout of one window length."""

    seconds: int
    bucket_seconds: int
    buckets: int

    @classmethod
    def of(cls, seconds: int) -> Window:
        size = max(1, math.ceil(seconds / BUCKETS))
        return cls(seconds, size, math.ceil(seconds / size))

    def index(self, now: float) -> int:
        """The bucket that ``now`` (seconds since the epoch, or any fixed origin) falls in."""
        return math.floor(now / self.bucket_seconds)

    def oldest(self, now: float) -> int:
        """The oldest bucket still inside the window at ``now``."""
        return self.index(now) - self.buckets + 1

    def ttl_ms(self) -> int:
        """How long a store must keep a key untouched before nothing in it can matter."""
        return (self.seconds + self.bucket_seconds) * 1000


class BucketRing:
    """Spent and reserved amounts per bucket for one key (not thread-safe: the store locks)."""

    __slots__ = ("_buckets", "window")

    def __init__(self, window: Window) -> None:
        self.window = window
        self._buckets: dict[int, list[int]] = {}  # bucket index -> [spent, reserved]

    def totals(self, now: float) -> tuple[int, int]:
        """(spent, reserved) within the window at ``now``; older buckets are dropped."""
        oldest = self.window.oldest(now)
        spent = reserved = 0
        for index in [i for i in self._buckets if i < oldest]:
            del self._buckets[index]
        for s, r in self._buckets.values():
            spent += s
            reserved += r
        return spent, reserved

    def reserve(self, index: int, amount: int) -> None:
        self._buckets.setdefault(index, [0, 0])[1] += amount

    def settle(self, index: int, reserved: int, actual: int, now: float) -> None:
        """Turn a reservation into spend; nothing happens once its bucket has left the window."""
        if index < self.window.oldest(now):
            return
        bucket = self._buckets.setdefault(index, [0, 0])
        bucket[0] += actual
        bucket[1] -= reserved

    def is_empty(self) -> bool:
        return not self._buckets
