"""Where an agent step's time went: five phases that add up to the step's duration.

Pure functions over clock readings (integer nanoseconds), no OpenTelemetry imports; the span processor
feeds them the step's interval and the intervals of the LLM calls and tool spans below it.

**Definitions.** Every instant of the step's interval ``[start, end)`` gets exactly one label, by
priority, highest first:

1. ``time_to_first_token``: some *streamed* LLM call below the step has started and its first
   content-bearing chunk has not yet arrived (the model is thinking, the network is slow, the
   request queues);
2. ``generation``: some LLM call is between its first chunk and its end, or, for a call that was not
   streamed (or never produced a chunk), anywhere between its start and its end: such a call has no
   time to first token, so its whole duration is generation, never time to first token;
3. ``tool``: some tool span (``execute_tool``) below the step is open;
4. otherwise the step is running its own code. That time is ``pre_processing`` before the first
   LLM call or tool starts (prompt assembly, retrieval that is not a tool span), and
   ``post_processing`` after it (parsing, glue, the gaps between calls). A step with no LLM call and
   no tool is all ``pre_processing``.

Each instant has one label, so the five phases add up to the step's duration exactly (in integer
nanoseconds), whatever the overlap: parallel calls count once (the union of their intervals), a
call waiting for its first token while another one streams counts as time to first token, and a
tool running during a call counts as the call's. Parts of child intervals outside the step are
ignored. The sweep is O(n log n) in the number of intervals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple

__all__ = ["PHASE_NAMES", "CallInterval", "Phases", "ToolInterval", "call_generation_ns", "decompose"]

# Labels in priority order: a lower number wins when several are active at once.
_TTFT, _GENERATION, _TOOL = 0, 1, 2
PHASE_NAMES: Final = ("pre_processing", "time_to_first_token", "generation", "tool", "post_processing")


class CallInterval(NamedTuple):
    """One LLM call: start, first content chunk (``None`` when not streamed or no chunk came), end."""

    start: int
    first_chunk: int | None
    end: int


class ToolInterval(NamedTuple):
    """One tool execution: start and end."""

    start: int
    end: int


class Phases(NamedTuple):
    """A step's duration split into phases, in nanoseconds; the fields add up to the duration."""

    pre_processing: int
    time_to_first_token: int
    generation: int
    tool: int
    post_processing: int

    def seconds(self) -> dict[str, float]:
        """The phases in seconds, keyed by phase name (``pre_processing``...)."""
        return {name: value / 1e9 for name, value in zip(PHASE_NAMES, self, strict=True)}


def call_generation_ns(call: CallInterval) -> int:
    """A call's generation time: from its first chunk (or its start, when it has none) to its end."""
    begin = call.first_chunk if call.first_chunk is not None else call.start
    return max(call.end - max(begin, call.start), 0)


def decompose(
    start: int, end: int, calls: Iterable[CallInterval] = (), tools: Iterable[ToolInterval] = ()
) -> Phases:
    """Split the step ``[start, end)`` into the five phases (see the module docstring).

    Args:
        start: The step's start, in nanoseconds.
        end: The step's end, same clock.
        calls: LLM calls below the step.
        tools: Tool executions below the step.

    Returns:
        The phases in nanoseconds; their sum is ``max(end - start, 0)``.
    """
    if end <= start:
        return Phases(0, 0, 0, 0, 0)
    events = _events(start, end, calls, tools)
    if not events:
        return Phases(end - start, 0, 0, 0, 0)
    events.sort()
    busy = [0, 0, 0]
    spent = [0, 0, 0]
    idle = 0
    at = start
    for time, kind, delta in events:
        if time > at:
            label = _top(busy)
            if label is None:
                idle += time - at
            else:
                spent[label] += time - at
            at = time
        busy[kind] += delta
    idle += end - at
    pre = events[0][0] - start
    return Phases(pre, spent[_TTFT], spent[_GENERATION], spent[_TOOL], idle - pre)


def _events(
    start: int, end: int, calls: Iterable[CallInterval], tools: Iterable[ToolInterval]
) -> list[tuple[int, int, int]]:
    """(time, label, +1 open / -1 close) for every labelled segment, clipped to the step."""
    events: list[tuple[int, int, int]] = []

    def add(begin: int, finish: int, kind: int) -> None:
        begin, finish = max(begin, start), min(finish, end)
        if finish > begin:
            events.append((begin, kind, 1))
            events.append((finish, kind, -1))

    for call in calls:
        chunk = call.first_chunk
        if chunk is None or not call.start <= chunk <= call.end:
            add(call.start, call.end, _GENERATION)
        else:
            add(call.start, chunk, _TTFT)
            add(chunk, call.end, _GENERATION)
    for tool in tools:
        add(tool.start, tool.end, _TOOL)
    return events


def _top(busy: list[int]) -> int | None:
    for kind, count in enumerate(busy):
        if count > 0:
            return kind
    return None
