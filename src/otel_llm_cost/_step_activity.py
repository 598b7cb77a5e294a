"""What a step gathers from the calls and tools below it, in bounded memory however long it runs.

A step's phases (:mod:`otel_llm_cost.phases`) need the intervals of its calls and tools. A step left
open for hundreds of thousands of calls must not keep one interval per call: past
:data:`FOLD_AT` intervals, the older half is folded into running sums (time to first token,
generation, tool, and the covered range). Later intervals are clipped to start where the folded range
ends, so nothing is counted twice and the phases still add up to the step's duration exactly; the only
approximation is the label priority inside the folded range for a call that started there and ended
after the fold (its overlap there is counted once, under the label the fold gave it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from otel_llm_cost.phases import CallInterval, Phases, ToolInterval, decompose

__all__ = ["FOLD_AT", "StepActivity", "step_decomposition"]

FOLD_AT: Final = 2048


class StepActivity:
    """The intervals below one step: the recent ones as they are, the older ones folded."""

    __slots__ = ("_first", "_generation", "_items", "_tool", "_ttft", "_until")

    def __init__(self) -> None:
        self._items: list[object] = []
        self._first: int | None = None  # where the folded range starts (the first activity)
        self._until: int | None = None  # where it ends
        self._ttft = self._generation = self._tool = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[object]:
        return iter(self._items)

    def append(self, interval: object) -> None:
        self._items.append(interval)
        if len(self._items) >= FOLD_AT:
            self._fold(FOLD_AT // 2)

    def _fold(self, count: int) -> None:
        old, self._items = self._items[:count], self._items[count:]
        calls, tools = _split(old, self._until)
        starts = [item.start for item in (*calls, *tools)]
        if not starts:
            return
        lo = min(starts)
        hi = max(item.end for item in (*calls, *tools))
        part = decompose(lo, hi, calls, tools)
        self._ttft += part.time_to_first_token
        self._generation += part.generation
        self._tool += part.tool
        self._first = lo if self._first is None else min(self._first, lo)
        self._until = hi if self._until is None else max(self._until, hi)

    def phases(self, start: int, end: int) -> Phases:
        """The step ``[start, end)`` split into phases (see :func:`otel_llm_cost.phases.decompose`)."""
        calls, tools = _split(self._items, self._until)
        rest = decompose(start, end, calls, tools)
        if self._first is None or end <= start:
            return rest
        duration = end - start
        ttft = min(self._ttft + rest.time_to_first_token, duration)
        generation = min(self._generation + rest.generation, duration - ttft)
        tool = min(self._tool + rest.tool, duration - ttft - generation)
        pre = min(max(self._first - start, 0), duration - ttft - generation - tool)
        return Phases(pre, ttft, generation, tool, duration - pre - ttft - generation - tool)


def step_decomposition(start: int, end: int, activity: Iterable[object]) -> Phases:
    """Phases from a :class:`StepActivity` or a plain sequence of intervals."""
    if isinstance(activity, StepActivity):
        return activity.phases(start, end)
    calls, tools = _split(list(activity), None)
    return decompose(start, end, calls, tools)


def _split(items: list[object], after: int | None) -> tuple[list[CallInterval], list[ToolInterval]]:
    """Calls and tools, clipped to start at ``after`` (the end of the folded range) when given."""
    calls: list[CallInterval] = []
    tools: list[ToolInterval] = []
    for item in items:
        if isinstance(item, CallInterval):
            if after is not None and item.start < after:
                if item.end <= after:
                    continue
                # The part after the fold: still waiting for its first chunk, or generating.
                chunk = item.first_chunk
                item = CallInterval(after, chunk if chunk is not None and chunk > after else None, item.end)
            calls.append(item)
        elif isinstance(item, ToolInterval):
            if after is not None and item.start < after:
                if item.end <= after:
                    continue
                item = ToolInterval(after, item.end)
            tools.append(item)
    return calls, tools
