"""Calls, tokens, cost and latency per time bucket, with a bounded number of buckets.

The time range of a streamed file is unknown until its end, so buckets start one second wide and
double in width (merging neighbours) whenever there are more than ``max_buckets`` of them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from otel_llm_cost.report._stats import Quantiles
from otel_llm_cost.report._totals import Call

_NS: Final = 1_000_000_000


class Bucket:
    """What the calls that started within one bucket add up to."""

    __slots__ = ("calls", "cost", "durations", "errors", "input_tokens", "output_tokens")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost = Decimal(0)
        self.durations = Quantiles()

    def add(self, call: Call) -> None:
        """Count one call that started within the bucket."""
        input_tokens, output_tokens, _, _, _, cost, error, duration = call
        self.calls += 1
        self.errors += error
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        if cost is not None:
            self.cost += cost
        self.durations.add(duration)

    def merge(self, other: Bucket) -> None:
        """Add ``other`` into this bucket."""
        self.calls += other.calls
        self.errors += other.errors
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost += other.cost
        self.durations.merge(other.durations)


class Timeline:
    """Buckets keyed by ``start // width``; ``width`` doubles as the covered range grows."""

    def __init__(self, max_buckets: int = 120, width_ns: int = _NS) -> None:
        self.max_buckets = max_buckets
        self.width_ns = width_ns
        self.buckets: dict[int, Bucket] = {}

    def bucket(self, start_ns: int) -> Bucket:
        """The bucket a call starting at ``start_ns`` belongs in (created if needed)."""
        key = start_ns // self.width_ns
        found = self.buckets.get(key)
        if found is not None:
            return found
        while self.buckets and _span(self.buckets, key) > self.max_buckets:
            self._coarsen()
            key = start_ns // self.width_ns
        return self.buckets.setdefault(key, Bucket())

    def _coarsen(self) -> None:
        self.width_ns *= 2
        merged: dict[int, Bucket] = {}
        for key, bucket in self.buckets.items():
            target = merged.get(key // 2)
            if target is None:
                merged[key // 2] = bucket
            else:
                target.merge(bucket)
        self.buckets = merged

    def ordered(self) -> list[tuple[int, Bucket]]:
        """``(start_ns, bucket)`` for every bucket from the first to the last, empty ones included."""
        if not self.buckets:
            return []
        low, high = min(self.buckets), max(self.buckets)
        return [(k * self.width_ns, self.buckets.get(k) or Bucket()) for k in range(low, high + 1)]


def _span(buckets: dict[int, Bucket], key: int) -> int:
    # Bounding the key range, not just the count, keeps ``ordered()`` (which fills gaps) bounded too.
    return max(max(buckets), key) - min(min(buckets), key) + 1
