"""Constant-memory summaries of a stream of numbers: quantiles and a log-scale histogram.

Percentiles are exact (linear interpolation between the two nearest values, as numpy and DuckDB's
``quantile_cont`` compute them) while a group holds up to ``EXACT_LIMIT`` values, so a small group
never shows a p99 below its second-largest value. Past that they come from a DDSketch (Masson, Rim
and Lee, VLDB 2019; :class:`_Sketch`): logarithmic bins ``RELATIVE_ACCURACY`` (1%) wide, so every
quantile is within 1% of the true value at that rank, and the size depends on the range of the
values, not their number (at most ``_BIN_LIMIT`` bins, ten decades at 1%; past that the lowest bins
are merged, as ddsketch's ``LogCollapsingLowestDenseDDSketch`` does).
"""

from __future__ import annotations

import math
from array import array
from functools import reduce
from itertools import repeat
from operator import add, truediv
from typing import Final

RELATIVE_ACCURACY: Final = 0.01
EXACT_LIMIT: Final = 512
_BIN_LIMIT: Final = 2048
PERCENTILES: Final = (0.5, 0.95, 0.99)

_BATCH: Final = 128  # values pending per summary at most (a few KB each)
_INF: Final = math.inf
_NEG_INF: Final = -math.inf
_log, _ceil, _floor = math.log, math.ceil, math.floor  # per value: module names, not attribute lookups

# Histogram bins: 4 per doubling (each about 19% wide), so 1 ms .. 10 min takes ~80 bins at most.
_BINS_PER_DOUBLING: Final = 4
_LOG_BASE: Final = math.log(2) / _BINS_PER_DOUBLING


class Quantiles:
    """Count, mean, exact min and max, and quantiles (exact for small groups) of the values added.

    Values are taken in batches of up to :data:`_BATCH` (a list append per value, the arithmetic per
    batch); every figure read takes the values still pending first, so what it shows is the same.
    """

    __slots__ = ("_count", "_exact", "_maximum", "_minimum", "_pending", "_sketch", "_total")

    def __init__(self) -> None:
        self._exact: array[float] | None = array("d")
        self._sketch: _Sketch | None = None
        self._pending: list[float] = []
        self._count = 0
        self._total = 0.0
        self._minimum = math.inf
        self._maximum = -math.inf

    def add(self, value: float) -> None:
        """Add one value (non-finite values are ignored)."""
        pending = self._pending
        pending.append(value)
        if len(pending) >= _BATCH:
            self._take()

    def _take(self) -> None:
        """Count the pending values, in the order they came: the same sums as one at a time."""
        values = [value for value in self._pending if _NEG_INF < value < _INF]  # NaN fails both
        self._pending.clear()
        if not values:
            return
        exact = self._exact
        if exact is not None:
            exact.extend(values)
            if len(exact) > EXACT_LIMIT:
                self._to_sketch()
        else:
            self._sketch.add_many(values)  # type: ignore[union-attr]
        self._count += len(values)
        self._total = reduce(add, values, self._total)  # left to right, as ``+=`` one at a time
        low, high = min(values), max(values)  # the first of equal values, as one at a time
        if low < self._minimum:
            self._minimum = low
        if high > self._maximum:
            self._maximum = high

    @property
    def count(self) -> int:
        """How many finite values were added."""
        if self._pending:
            self._take()
        return self._count

    @property
    def total(self) -> float:
        """Their sum."""
        if self._pending:
            self._take()
        return self._total

    @property
    def minimum(self) -> float:
        """The smallest (``inf`` when none)."""
        if self._pending:
            self._take()
        return self._minimum

    @property
    def maximum(self) -> float:
        """The largest (``-inf`` when none)."""
        if self._pending:
            self._take()
        return self._maximum

    def merge(self, other: Quantiles) -> None:
        """Add every value ``other`` summarises."""
        if not other.count:
            return
        if self._pending:
            self._take()
        if self._exact is not None and other._exact is not None:
            self._exact.extend(other._exact)
            if len(self._exact) > EXACT_LIMIT:
                self._to_sketch()
        else:
            if self._exact is not None:
                self._to_sketch()
            assert self._sketch is not None
            if other._exact is not None:
                self._sketch.add_many(other._exact.tolist())
            else:
                self._sketch.merge(other._sketch)  # type: ignore[arg-type]
        self._count += other._count
        self._total += other._total
        self._minimum = min(self._minimum, other._minimum)
        self._maximum = max(self._maximum, other._maximum)

    def quantile(self, q: float) -> float | None:
        """The value at quantile ``q`` (0..1): exact for small groups, else within 1%; ``None`` when empty."""
        if not self.count:  # takes the pending values
            return None
        if self._exact is not None:
            return _interpolated(sorted(self._exact), q)
        value = self._sketch.quantile(q, self._count)  # type: ignore[union-attr]
        # A bin's representative value may lie just outside the values actually seen.
        return min(max(value, self._minimum), self._maximum)

    @classmethod
    def of_parts(
        cls, count: int, total: float, minimum: float, maximum: float, smallest: list[float],
        positive: dict[int, int], negative: dict[int, int], zeros: int,
    ) -> Quantiles:  # fmt: skip
        """The summary of values counted elsewhere (the DuckDB engine), as :meth:`add` would have left it.

        Args:
            count, total, minimum, maximum: of the finite values.
            smallest: the smallest ``EXACT_LIMIT`` values (all of them when there are no more).
            positive, negative, zeros: the sketch's bins (:class:`_Sketch`), used past ``EXACT_LIMIT``.
        """
        result = cls()
        if not count:
            return result
        result._count, result._total, result._minimum, result._maximum = count, total, minimum, maximum
        if count <= EXACT_LIMIT:
            result._exact = array("d", smallest)
            return result
        sketch = result._sketch = _Sketch()
        sketch.positive, sketch.negative, sketch.zeros = dict(positive), dict(negative), zeros
        for bins in (sketch.positive, sketch.negative):
            while len(bins) > _BIN_LIMIT:
                _collapse(bins)
        result._exact = None
        return result

    def _to_sketch(self) -> None:
        sketch = _Sketch()
        sketch.add_many(self._exact.tolist() if self._exact is not None else [])
        self._sketch, self._exact = sketch, None

    def summary(self) -> dict[str, float | int | None]:
        """``count``, ``mean``, ``p50``, ``p95``, ``p99``, ``min``, ``max`` (``None`` when empty)."""
        empty = not self.count
        result: dict[str, float | int | None] = {
            "count": self.count,
            "mean": None if empty else self.total / self.count,
            "min": None if empty else self.minimum,
        }
        for q in PERCENTILES:
            result[f"p{round(q * 100)}"] = self.quantile(q)
        result["max"] = None if empty else self.maximum
        return result


_GAMMA: Final = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA: Final = math.log(_GAMMA)
# Values closer to zero than this share one bin (durations are never measured that finely).
_MIN_VALUE: Final = 1e-9


class _Sketch:
    """Counts per logarithmic bin: value ``v > 0`` goes to bin ``ceil(log(v) / log(gamma))``."""

    __slots__ = ("negative", "positive", "zeros")

    def __init__(self) -> None:
        self.positive: dict[int, int] = {}
        self.negative: dict[int, int] = {}
        self.zeros = 0

    def add_many(self, values: list[float]) -> None:
        """:meth:`add` each of ``values`` (the bins come out the same whatever the order)."""
        positive = [value for value in values if value > _MIN_VALUE]
        negative = [-value for value in values if value < -_MIN_VALUE]
        self.zeros += len(values) - len(positive) - len(negative)
        for bins, magnitudes in ((self.positive, positive), (self.negative, negative)):
            if not magnitudes:
                continue
            get = bins.get
            for key in map(_ceil, map(truediv, map(_log, magnitudes), repeat(_LOG_GAMMA))):
                bins[key] = get(key, 0) + 1
            if len(bins) > _BIN_LIMIT:
                _collapse(bins)

    def add(self, value: float) -> None:
        if value > _MIN_VALUE:
            bins, magnitude = self.positive, value
        elif value < -_MIN_VALUE:
            bins, magnitude = self.negative, -value
        else:
            self.zeros += 1
            return
        key = _ceil(_log(magnitude) / _LOG_GAMMA)
        bins[key] = bins.get(key, 0) + 1
        if len(bins) > _BIN_LIMIT:
            _collapse(bins)

    def merge(self, other: _Sketch) -> None:
        for mine, theirs in ((self.positive, other.positive), (self.negative, other.negative)):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count
            if len(mine) > _BIN_LIMIT:
                _collapse(mine)
        self.zeros += other.zeros

    def quantile(self, q: float, count: int) -> float:
        """The value at rank ``q * (count - 1)``: the middle of the bin holding that rank."""
        rank = min(max(q, 0.0), 1.0) * (count - 1)
        seen = 0
        for key in sorted(self.negative, reverse=True):  # most negative first
            seen += self.negative[key]
            if seen > rank:
                return -_bin_value(key)
        seen += self.zeros
        if seen > rank:
            return 0.0
        for key in sorted(self.positive):
            seen += self.positive[key]
            if seen > rank:
                return _bin_value(key)
        return _bin_value(max(self.positive)) if self.positive else 0.0


def _bin_value(key: int) -> float:
    return 2 * _GAMMA**key / (_GAMMA + 1)


def _collapse(bins: dict[int, int]) -> None:
    """Merge the lowest bins into one, so that ``_BIN_LIMIT`` remain (loses accuracy only there)."""
    keys = sorted(bins)
    extra = keys[: len(keys) - _BIN_LIMIT + 1]
    floor = extra[-1]
    bins[floor] = sum(bins.pop(k) for k in extra[:-1]) + bins[floor]


def _interpolated(values: list[float], q: float) -> float:
    rank = min(max(q, 0.0), 1.0) * (len(values) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)


class LogHistogram:
    """Counts of positive values in log-spaced bins; zero and negative values are counted apart."""

    __slots__ = ("bins", "zeros")

    def __init__(self) -> None:
        self.bins: dict[int, int] = {}
        self.zeros = 0

    def add(self, value: float) -> None:
        """Count one value."""
        if value > 0.0 and value != _INF:
            key = _floor(_log(value) / _LOG_BASE)
            self.bins[key] = self.bins.get(key, 0) + 1
        elif value == value:
            self.zeros += 1

    @staticmethod
    def edge(key: int) -> float:
        """The lower bound of bin ``key`` (the upper bound of bin ``key - 1``)."""
        return math.exp(key * _LOG_BASE)

    def rows(self, max_rows: int) -> list[tuple[float, float, int]]:
        """``(low, high, count)`` per row, adjacent bins merged so at most ``max_rows`` remain.

        Zero values, if any, come first as a ``(0, 0, count)`` row.
        """
        rows: list[tuple[float, float, int]] = [(0.0, 0.0, self.zeros)] if self.zeros else []
        if not self.bins:
            return rows
        low, high = min(self.bins), max(self.bins)
        per_row = max(1, math.ceil((high - low + 1) / max(1, max_rows - len(rows))))
        for start in range(low, high + 1, per_row):
            count = sum(self.bins.get(k, 0) for k in range(start, start + per_row))
            rows.append((self.edge(start), self.edge(start + per_row), count))
        return rows
