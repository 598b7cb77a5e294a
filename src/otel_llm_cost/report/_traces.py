"""Which agent and step each LLM call ran under, and what each trace cost, from a stream of spans.

A call span rarely names its agent or step itself: its ancestors do, and in a span file they come
*after* it (a parent ends after its children). So a call's figures are parked on its parent's id;
when that parent arrives it labels them (step: the nearest agent-step ancestor; agent: the nearest
ancestor naming ``gen_ai.agent.name``) and passes them on to its own parent, up to the root, where
they are committed. Spans that arrive after their parent (rare) find it in the trace's ``ended`` map.

This also tells wrappers apart: a span reporting usage whose descendants already parked calls on it
is a summary of those calls (an agent span, a framework's wrapper), not another call. Two spans with
the same ``gen_ai.response.id`` in one trace (two instrumentations of one call) count once.

Only traces still in flight are kept; a trace is settled when its root arrives, when more than
``max_traces`` traces or ``max_spans`` spans are in flight (oldest first), or at the end of input.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from decimal import Decimal

from otel_llm_cost.report._span import SpanRecord
from otel_llm_cost.report._totals import NONE, Call, GroupTable, Totals

# Labels resolved so far for parked figures: (step, agent), None while unknown.
_Key = tuple[str | None, str | None]


@dataclass(frozen=True, slots=True)
class TraceCost:
    """One trace among the most expensive."""

    cost: Decimal
    trace_id: str
    calls: int
    unpriced_calls: int
    root: str
    start_ns: int
    duration_s: float | None


class _Trace:
    __slots__ = ("calls", "cost", "ended", "pending", "response_ids", "root", "start_ns", "unpriced")

    def __init__(self) -> None:
        self.ended: dict[str, tuple[str | None, str | None, str | None]] = {}
        self.pending: dict[str, dict[_Key, Totals]] = {}
        self.response_ids: set[str] = set()
        self.cost = Decimal(0)
        self.calls = 0
        self.unpriced = 0
        self.root: tuple[str, int, int] | None = None
        self.start_ns: int | None = None


class Traces:
    """Feeds cost by agent and by step, and the most expensive traces."""

    def __init__(self, top: int = 10, max_traces: int = 20_000, max_spans: int = 200_000) -> None:
        self.by_step = GroupTable()
        self.by_agent = GroupTable()
        self.count = 0
        self._top: list[tuple[Decimal, str, TraceCost]] = []
        self._top_n = top
        self._open: dict[str, _Trace] = {}
        self._spans = 0
        self._max_traces = max_traces
        self._max_spans = max_spans

    def add(
        self,
        span: SpanRecord,
        labels: tuple[str | None, str | None],
        call: Call | None,
        response_id: str | None = None,
    ) -> bool:
        """Place one span; returns whether ``call`` (its figures, if it is an LLM call) counts.

        Args:
            span: any span of the input.
            labels: the step and agent names the span gives its descendants (``None``: none).
            call: the span's figures when it reports usage and passes the report's filters.
            response_id: its ``gen_ai.response.id``, to count two spans of one call once.

        Returns:
            ``False`` for a wrapper of calls already counted, or a duplicate response id.
        """
        trace = self._open.get(span.trace_id)
        if trace is None:
            trace = self._open[span.trace_id] = _Trace()
        parked = trace.pending.pop(span.span_id, None) or {}
        counted = call is not None and not (_has_calls(parked) or _seen(trace, response_id))
        if counted:
            assert call is not None
            _add_call(trace, parked, call, span.start_ns)
        trace.ended[span.span_id] = (span.parent_id, *labels)
        self._spans += 1
        if parked:
            self._route(trace, span.parent_id, _relabel(parked, labels))
        if span.parent_id is None:
            trace.root = (span.name, span.start_ns, span.end_ns)
            self._settle(span.trace_id)
        elif len(self._open) > self._max_traces or self._spans > self._max_spans:
            self._settle(next(iter(self._open)))
        return counted

    def finish(self) -> None:
        """Settle every trace still in flight (end of input)."""
        while self._open:
            self._settle(next(iter(self._open)))

    def top(self) -> list[TraceCost]:
        """The most expensive traces, most expensive first."""
        return [entry for _, _, entry in sorted(self._top, key=lambda item: (-item[0], item[1]))]

    def _route(self, trace: _Trace, parent_id: str | None, parked: dict[_Key, Totals]) -> None:
        # Climb through ancestors that already ended; park on the first one still to come.
        while parent_id is not None:
            ended = trace.ended.get(parent_id)
            if ended is None:
                _merge_into(trace.pending.setdefault(parent_id, {}), parked)
                return
            parent_id, step, agent = ended
            parked = _relabel(parked, (step, agent))
        self._commit(parked)

    def _commit(self, parked: dict[_Key, Totals]) -> None:
        for (step, agent), totals in parked.items():
            self.by_step.get(step or NONE).merge(totals)
            self.by_agent.get(agent or NONE).merge(totals)

    def _settle(self, trace_id: str) -> None:
        trace = self._open.pop(trace_id)
        self._spans -= len(trace.ended)
        for parked in trace.pending.values():
            self._commit(parked)
        if trace.calls:
            self.count += 1
            self._rank(trace_id, trace)

    def _rank(self, trace_id: str, trace: _Trace) -> None:
        name, start, end = trace.root or ("", trace.start_ns or 0, None)
        duration = (end - start) / 1e9 if end is not None else None
        entry = TraceCost(trace.cost, trace_id, trace.calls, trace.unpriced, name, start, duration)
        item = (trace.cost, trace_id, entry)
        if len(self._top) < self._top_n:
            heapq.heappush(self._top, item)
        elif self._top_n and item[:2] > self._top[0][:2]:
            heapq.heapreplace(self._top, item)


def _has_calls(parked: dict[_Key, Totals]) -> bool:
    return any(totals.calls for totals in parked.values())


def _seen(trace: _Trace, response_id: str | None) -> bool:
    if response_id is None:
        return False
    if response_id in trace.response_ids:
        return True
    trace.response_ids.add(response_id)
    return False


def _add_call(trace: _Trace, parked: dict[_Key, Totals], call: Call, start_ns: int) -> None:
    if trace.start_ns is None or start_ns < trace.start_ns:
        trace.start_ns = start_ns
    totals = parked.get((None, None))
    if totals is None:
        totals = parked[(None, None)] = Totals()
    totals.add(call)
    trace.calls += 1
    if call.cost is None:
        trace.unpriced += 1
    else:
        trace.cost += call.cost


def _relabel(parked: dict[_Key, Totals], labels: tuple[str | None, str | None]) -> dict[_Key, Totals]:
    step, agent = labels
    if step is None and agent is None:
        return parked
    result: dict[_Key, Totals] = {}
    for (old_step, old_agent), totals in parked.items():
        key = (old_step or step, old_agent or agent)
        target = result.get(key)
        if target is None:
            result[key] = totals
        else:
            target.merge(totals)
    return result


def _merge_into(target: dict[_Key, Totals], parked: dict[_Key, Totals]) -> None:
    for key, totals in parked.items():
        existing = target.get(key)
        if existing is None:
            target[key] = totals
        else:
            existing.merge(totals)
