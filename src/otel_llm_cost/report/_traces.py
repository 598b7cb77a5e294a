"""Traces assembled from spans in any order; each trace's calls are counted when the trace closes.

Span files do not keep a trace's spans in tree order. Our JSONL has a parent after its children (a
parent ends last); OTLP/JSON (the Collector's and the SDK's file exporters) groups a batch's spans by
scope, so an agent scope holding the root can come before or after the calls; a trace can straddle
batches and files. So nothing is decided when a span arrives: an open trace keeps a small
:class:`SpanNode` per span, and when it *closes* the tree is complete and read once:

- a span reporting usage with a call somewhere below it is a wrapper (an agent span, a framework's
  summary), not another call; two spans with one ``gen_ai.response.id`` count once;
- each call is labelled with the nearest step and agent among itself and its ancestors.

A trace closes when no span of it arrived while the input's clock (the latest span end seen) moved
``linger`` on from where it stood at the trace's last span (so a file older than the one read before
it does not close its traces on arrival), when more than ``max_traces`` traces or ``max_spans`` spans are open
(the longest idle first), or at the end of input: never on its root's arrival. A trace that closed and
is seen again (pushed out by the limits) is merged with what it counted before, so it is ranked once
with its whole cost.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Final, NamedTuple

from otel_llm_cost.report._ranking import Ranking
from otel_llm_cost.report._totals import NONE, GroupTable
from otel_llm_cost.report._trace_model import CallRecord, SpanNode, TraceCost
from otel_llm_cost.report._trace_view import view_spans

_NS: Final = 1_000_000_000
# Closed traces remembered (their totals only) so that a trace seen again merges rather than doubles;
# the newest are kept, as a trace pushed out by the limits comes back soon if at all.
_MAX_CLOSED: Final = 20_000
# Response ids kept per closed trace (to count a call once across the two parts); more are dropped.
_MAX_CLOSED_IDS: Final = 16


@dataclass(slots=True)
class _Trace:
    nodes: dict[str, SpanNode] = field(default_factory=dict)
    seen_at: int = 0  # the input's clock when its last span arrived
    prior: TraceCost | None = None
    prior_ids: frozenset[str] = frozenset()


class _Closed(NamedTuple):  # a tuple: one per closed trace, made in a hot loop
    entry: TraceCost
    response_ids: frozenset[str]


class Traces:
    """Feeds the call tallies, cost by agent and by step, and the most expensive and slowest traces.

    Args:
        count: called once per call that counts (not a wrapper, not a duplicate), when its trace closes.
        top: how many traces each ranking keeps.
        linger_s: input seconds without a new span after which a trace is taken as complete.
        max_traces: open traces at most.
        max_spans: spans held by open traces at most.
        pin: a trace id (or a prefix of 8 or more hex digits) whose spans to keep whatever its rank.
    """

    def __init__(
        self,
        count: Callable[[CallRecord], None],
        top: int = 10,
        linger_s: float = 300.0,
        max_traces: int = 20_000,
        max_spans: int = 200_000,
        pin: str | None = None,
    ) -> None:
        self.by_step = GroupTable()
        self.by_agent = GroupTable()
        self.count = 0
        self.split = 0
        self.expensive = Ranking(top, lambda t: (t.cost, t.calls))
        self.slowest = Ranking(top, lambda t: (t.duration_s or 0.0, t.cost))
        self._count_call = count
        self._open: OrderedDict[str, _Trace] = OrderedDict()
        self._closed: OrderedDict[str, _Closed] = OrderedDict()
        self._spans = 0
        self._clock = 0
        self._linger = int(linger_s * _NS)
        self._max_traces = max_traces
        self._max_spans = max_spans
        # The clock past which the longest idle trace is due: below it (and within the limits) no trace
        # is, as traces are kept in order of their last span, so adding a span need not look at them.
        self._due = -1
        self._pin = pin.strip().lower() if pin else None
        self.pinned: TraceCost | None = None

    def add(self, trace_id: str, node: SpanNode) -> None:
        """Keep one span until its trace closes."""
        trace = self._open.get(trace_id)
        if trace is None:
            trace = self._open[trace_id] = self._reopen(trace_id)
        else:
            self._open.move_to_end(trace_id)
        if node.span_id not in trace.nodes:
            self._spans += 1
        trace.nodes[node.span_id] = node
        if node.end_ns > self._clock:
            self._clock = node.end_ns
        trace.seen_at = self._clock
        if self._clock > self._due or len(self._open) > self._max_traces or self._spans > self._max_spans:
            self._close_idle()

    def finish(self) -> None:
        """Close every trace still open (end of input)."""
        while self._open:
            self._close(next(iter(self._open)))

    def _close_idle(self) -> None:
        while self._open:
            trace_id, oldest = next(iter(self._open.items()))
            crowded = len(self._open) > self._max_traces or self._spans > self._max_spans
            if not crowded and oldest.seen_at + self._linger >= self._clock:
                self._due = oldest.seen_at + self._linger
                return
            self._close(trace_id)
        self._due = -1

    def _reopen(self, trace_id: str) -> _Trace:
        closed = self._closed.pop(trace_id, None)
        if closed is None:
            return _Trace()
        self.split += 1
        return _Trace(prior=closed.entry, prior_ids=closed.response_ids)

    def _close(self, trace_id: str) -> None:
        trace = self._open.pop(trace_id)
        nodes = trace.nodes
        self._spans -= len(nodes)
        counted = self._count(nodes, set(trace.prior_ids))
        if not counted and (trace.prior is None or not trace.prior.calls):
            return  # no call in it: nothing to rank or remember
        entry = self._entry(trace_id, trace, counted)
        if trace.prior is None or not trace.prior.calls:
            self.count += 1
        ids = [r.response_id for r in counted if r.response_id][:_MAX_CLOSED_IDS]
        bare = replace(entry, spans=(), spans_dropped=0) if entry.spans else entry  # views stay ranked
        self._closed[trace_id] = _Closed(bare, frozenset(ids))
        if len(self._closed) > _MAX_CLOSED:
            self._closed.popitem(last=False)
        self.expensive.offer(entry)
        self.slowest.offer(entry)
        if self._pinned(trace_id):
            self.pinned = entry

    def _count(self, nodes: dict[str, SpanNode], response_ids: set[str]) -> list[CallRecord]:
        below = _with_calls_below(nodes)
        labels: dict[str, tuple[str | None, str | None]] = {}
        counted: list[CallRecord] = []
        for node in nodes.values():
            record = node.call
            if record is None or node.span_id in below:
                continue
            if record.response_id is not None:
                if record.response_id in response_ids:
                    continue
                response_ids.add(record.response_id)
            step, agent = _labels(node, nodes, labels)
            self.by_step.get(step or NONE).add(record.call)
            self.by_agent.get(agent or NONE).add(record.call)
            self._count_call(record)
            counted.append(record)
        return counted

    def _entry(self, trace_id: str, trace: _Trace, counted: list[CallRecord]) -> TraceCost:
        prior = trace.prior
        cost, unpriced = Decimal(0), 0
        for record in counted:
            if record.call.cost is None:
                unpriced += 1
            else:
                cost += record.call.cost
        nodes = list(trace.nodes.values())
        start, end, root, earliest = _extent(nodes)
        name = root.name if root is not None else earliest.name if earliest is not None else ""
        spans, dropped = (), 0
        if prior is not None:
            cost += prior.cost
            unpriced += prior.unpriced_calls
            if prior.start_ns and prior.duration_s is not None:
                end = max(end, prior.start_ns + int(prior.duration_s * _NS))
                start = min(start, prior.start_ns)
            name = name if root is not None else prior.root
        calls = len(counted) + (prior.calls if prior is not None else 0)
        entry = TraceCost(cost, trace_id, calls, unpriced, name, start, max(end - start, 0) / _NS)
        if calls and (self.expensive.wants(entry) or self.slowest.wants(entry) or self._pinned(trace_id)):
            kept = self.expensive.get(trace_id) or self.slowest.get(trace_id)
            if kept is None and self.pinned is not None and self.pinned.trace_id == trace_id:
                kept = self.pinned  # this trace's earlier part, kept because it was asked for
            earlier = list(kept.spans) if kept is not None else []
            spans, dropped = view_spans(nodes, {id(r) for r in counted}, earlier)
            dropped += kept.spans_dropped if kept is not None else 0
        if not spans and not dropped:
            return entry
        return TraceCost(cost, trace_id, calls, unpriced, name, start, entry.duration_s, spans, dropped)

    def _pinned(self, trace_id: str) -> bool:
        pin = self._pin
        return pin is not None and (trace_id == pin or (len(pin) >= 8 and trace_id.startswith(pin)))


def _extent(nodes: list[SpanNode]) -> tuple[int, int, SpanNode | None, SpanNode | None]:
    """The earliest start and latest end (0 when no spans), the first root, the first earliest span."""
    if not nodes:
        return 0, 0, None, None
    earliest = nodes[0]
    start, end, root = earliest.start_ns, earliest.end_ns, None
    for node in nodes:
        if node.start_ns < start:
            start, earliest = node.start_ns, node
        if node.end_ns > end:
            end = node.end_ns
        if root is None and node.parent_id is None:
            root = node
    return start, end, root, earliest


def _with_calls_below(nodes: dict[str, SpanNode]) -> set[str]:
    """Ids of the spans with an LLM call among their descendants."""
    below: set[str] = set()
    for node in nodes.values():
        if node.call is None:
            continue
        parent_id = node.parent_id
        while parent_id is not None and parent_id not in below:
            below.add(parent_id)
            parent = nodes.get(parent_id)
            parent_id = parent.parent_id if parent is not None else None
    return below


def _labels(
    node: SpanNode, nodes: dict[str, SpanNode], known: dict[str, tuple[str | None, str | None]]
) -> tuple[str | None, str | None]:
    """The nearest step and agent names among ``node`` and its ancestors (memoised in ``known``)."""
    parent_id = node.parent_id
    if parent_id is not None and node.span_id not in known:  # the common case: its parent is known
        found = known.get(parent_id)
        if found is not None:
            base = known[node.span_id] = (node.step or found[0], node.agent or found[1])
            return base
    path: list[SpanNode] = []
    visited: set[str] = set()
    base: tuple[str | None, str | None] = (None, None)
    current: SpanNode | None = node
    while current is not None and current.span_id not in visited:
        found = known.get(current.span_id)
        if found is not None:
            base = found
            break
        visited.add(current.span_id)
        path.append(current)
        current = nodes.get(current.parent_id) if current.parent_id is not None else None
    for ancestor in reversed(path):
        base = (ancestor.step or base[0], ancestor.agent or base[1])
        known[ancestor.span_id] = base
    return base
