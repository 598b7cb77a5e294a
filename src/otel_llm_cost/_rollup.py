"""The open spans of each trace and the LLM totals they have gathered so far.

:class:`SpanTree` knows nothing of OpenTelemetry objects: it is fed ids at span start and end, and
:class:`Totals` when an LLM call ends. Figures travel up one level at a time: a span that ends hands
what it gathered (its own call, or its children's) to its nearest still-open ancestor, which adds it to
its own. A span therefore pays for the roll-up once at its end, however deep the tree.

Two sibling spans with the same provider response id (two instrumentations of one call, neither
the other's parent) count once.

*Step* spans (agent steps, whose latency is decomposed into phases) also collect the clock intervals
of the LLM calls and tool spans below them: each such interval is appended, when its span ends, to
every still-open step above it (steps are linked to the step above them, so this walks steps, not
every ancestor).

A local root need not be tracked from its start: most are lone LLM calls, with nothing below them to
roll up and nothing above to hand to. Such a root is only *noted* (:meth:`SpanTree.note_root`: its id in a
dict), and *adopted* (given its node) when a first span starts below it; a root that ends first is
forgotten. Adoption and the root's end each take the root out of that dict with one atomic ``pop``, so
a root is either adopted before its end (which then finds its node, under the lock) or never.

Memory stays bounded three ways: a trace is forgotten when its last open local root ends; a trace
older than ``trace_timeout`` seconds is forgotten (checked, a few at a time, whenever a new trace
starts); and no more than ``max_spans`` spans are tracked at once (further spans are simply not
tracked, so their figures go to their nearest tracked ancestor if it is open). Noted roots are at most
``max_spans`` too: past that, the oldest noted is forgotten (a root that never ends is the likeliest).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import get_logger, log_once
from otel_llm_cost._step_activity import StepActivity

logger = get_logger(__name__)

# How many expired traces one new trace may sweep away: keeps each start cheap.
_SWEEP_BATCH = 8


class Totals:
    """What a subtree's LLM calls added up to. Money in ``Decimal``; only priced calls carry a cost."""

    __slots__ = (
        "cache_read_tokens",
        "cache_write_tokens",
        "calls",
        "cost",
        "input_tokens",
        "output_tokens",
        "partial_calls",
        "parts",
        "reasoning_tokens",
        "unpriced_calls",
    )

    def __init__(
        self,
        cost: Decimal = Decimal(0),
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        calls: int = 0,
        unpriced_calls: int = 0,
        partial_calls: int = 0,
        parts: dict[str, Decimal] | None = None,
    ) -> None:
        self.cost = cost
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_read_tokens = cache_read_tokens
        self.cache_write_tokens = cache_write_tokens
        self.reasoning_tokens = reasoning_tokens
        self.calls = calls
        self.unpriced_calls = unpriced_calls
        self.partial_calls = partial_calls
        """Calls priced without some billed unit the price data lacks (status ``partial``, #17)."""
        self.parts = parts
        """Cost of the parts beyond text tokens (``web_searches``, ``advisor_message``...), or ``None``."""

    def add(self, other: Totals) -> None:
        self.cost += other.cost
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.calls += other.calls
        self.unpriced_calls += other.unpriced_calls
        self.partial_calls += other.partial_calls
        if other.parts:
            mine = self.parts if self.parts is not None else {}
            for part, cost in other.parts.items():
                mine[part] = mine.get(part, Decimal(0)) + cost
            self.parts = mine

    def copy(self) -> Totals:
        copy = Totals()
        copy.add(self)
        return copy

    def __repr__(self) -> str:
        return f"Totals(cost={self.cost}, calls={self.calls}, unpriced={self.unpriced_calls})"


class Node:
    """One tracked span: a link to its parent's node, and what its finished descendants handed up.

    Outside this module it is an opaque handle, the way up from an ended span to its ancestors.
    """

    __slots__ = ("activity", "is_root", "open", "parent", "step", "totals", "trace")

    def __init__(self, parent: Node | None, trace: _Trace, is_step: bool = False) -> None:
        self.parent = parent
        self.trace = trace
        self.is_root = parent is None
        self.open = True
        self.totals: Totals | None = None
        # The nearest step at or above this span, and (on steps) the intervals gathered below.
        self.step: Node | None = self if is_step else (parent.step if parent is not None else None)
        self.activity: StepActivity | None = StepActivity() if is_step else None


class CallMark(NamedTuple):
    """What tells two spans of one call from two calls that a server gave the same response id."""

    start: int
    end: int
    input_tokens: int
    output_tokens: int

    def same_call(self, other: CallMark) -> bool:
        overlap = self.start <= other.end and other.start <= self.end
        return overlap and (self.input_tokens, self.output_tokens) == (
            other.input_tokens,
            other.output_tokens,
        )


def _first_of_its_call(trace: _Trace, call_id: str, totals: Totals, span: tuple[int, int] | None) -> bool:
    """Note the call under ``call_id``; ``False`` if another span of the same call was counted."""
    if span is None:  # no times: only ids to go by, and a repeated id may be a separate request
        return True
    mark = CallMark(span[0], span[1], totals.input_tokens, totals.output_tokens)
    calls = trace.calls
    if calls is None:
        calls = trace.calls = {}
    marks = calls.setdefault(call_id, [])
    if any(mark.same_call(seen) for seen in marks):
        return False
    marks.append(mark)
    return True


class _Trace:
    __slots__ = ("calls", "created", "nodes", "open_roots")

    def __init__(self, created: float) -> None:
        self.created = created
        self.nodes: dict[int, Node] = {}
        self.open_roots = 0
        self.calls: dict[str, list[CallMark]] | None = None  # calls counted, by response id


class SpanTree:
    """Parent links of open spans, per trace, and the totals each has gathered. Thread-safe.

    Args:
        trace_timeout: Seconds after which a trace whose root never ended is forgotten.
        max_spans: Most spans tracked at once, over all traces.
        clock: Monotonic seconds; replaceable in tests.
    """

    def __init__(
        self,
        *,
        trace_timeout: float = 1800.0,
        max_spans: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout = trace_timeout
        self._max_spans = max_spans
        self._clock = clock
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")
        self._traces: OrderedDict[int, _Trace] = OrderedDict()
        self._tracked = 0
        self._roots: dict[int, int] = {}  # noted local roots, not yet adopted: span id -> trace id

    @property
    def tracked_spans(self) -> int:
        """How many spans are tracked now (for tests and diagnostics)."""
        return self._tracked

    @property
    def noted_roots(self) -> int:
        """How many local roots are noted, not tracked (for tests and diagnostics)."""
        return len(self._roots)

    def note_root(self, trace_id: int, span_id: int) -> None:
        """Note a started local root, to be tracked only if a span starts below it before it ends."""
        roots = self._roots
        roots[span_id] = trace_id  # no lock: one dict store (adoption and the end each pop it, atomically)
        if len(roots) <= self._max_spans:
            return
        with self._lock:
            try:
                roots.pop(next(iter(roots)), None)
            except (RuntimeError, StopIteration):  # another thread noted a root meanwhile: next time
                return
        log_once(
            "rollup.root_cap",
            "%d local roots are open at once; the oldest is left out of cost roll-ups",
            self._max_spans,
        )

    @property
    def tracked_traces(self) -> int:
        return len(self._traces)

    def start(self, trace_id: int, span_id: int, parent_id: int | None, is_step: bool = False) -> None:
        """Track a started span under its parent (``None`` or an unknown parent make it a local root).

        Args:
            trace_id: The span's trace.
            span_id: The span.
            parent_id: Its parent, if any.
            is_step: Whether the span collects the intervals of the calls and tools below it.
        """
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                self._sweep()
                if self._tracked >= self._max_spans:
                    self._refuse()
                    return
                trace = self._traces[trace_id] = _Trace(self._clock())
            elif self._tracked >= self._max_spans:
                self._refuse()
                return
            parent = trace.nodes.get(parent_id) if parent_id is not None else None
            if parent is None and parent_id is not None and self._take_root(parent_id, trace_id):
                parent = self._add(trace, parent_id, Node(None, trace))  # a noted root, adopted
                if self._tracked >= self._max_spans:  # the adopted root took the last place
                    self._refuse()
                    return
            self._add(trace, span_id, Node(parent, trace, is_step))

    def _take_root(self, span_id: int, trace_id: int) -> bool:
        """Unnote a noted root (atomically: its end may be taking it at the same time); whether it was."""
        noted = self._roots.pop(span_id, None)
        if noted is None:
            return False
        if noted != trace_id:  # another trace's span with the same id: leave it noted
            self._roots[span_id] = noted
            return False
        return True

    def _add(self, trace: _Trace, span_id: int, node: Node) -> Node:
        if node.is_root:
            trace.open_roots += 1
        trace.nodes[span_id] = node
        self._tracked += 1
        return node

    def end(self, trace_id: int, span_id: int, parent_id: int | None) -> tuple[Totals | None, Node | None]:
        """Forget an ending span; hand what its descendants gathered to its nearest open ancestor.

        Returns:
            The totals of the span's finished descendants (``None`` when none reported usage), and
            the way up to its ancestors for :meth:`add_call`.
        """
        totals, up, _ = self.end_step(trace_id, span_id, parent_id)
        return totals, up

    def end_step(
        self, trace_id: int, span_id: int, parent_id: int | None
    ) -> tuple[Totals | None, Node | None, StepActivity | None]:
        """:meth:`end`, also returning the intervals a step span gathered (``None`` for other spans)."""
        # A noted root never adopted needs no lock: adoption takes it from the dict as atomically.
        if self._roots and self._take_root(span_id, trace_id):
            return None, None, None
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                return None, None, None
            node = trace.nodes.pop(span_id, None)
            if node is None:  # not tracked (started before us, or over the cap): its parent may be
                return None, trace.nodes.get(parent_id) if parent_id is not None else None, None
            self._tracked -= 1
            node.open = False
            totals = node.totals
            if totals is not None:
                self._hand_up(node.parent, totals)
            if node.is_root:
                trace.open_roots -= 1
                if trace.open_roots <= 0:
                    self._drop(trace_id, trace)
            return totals, node.parent, node.activity

    def add_interval(self, parent: Node | None, interval: object) -> None:
        """Hand an ended call's or tool's interval to every open step at or above ``parent``."""
        step = parent.step if parent is not None else None
        if step is None:
            return
        with self._lock:
            while step is not None:
                if step.open and step.activity is not None:
                    step.activity.append(interval)
                step = step.parent.step if step.parent is not None else None

    def add_call(
        self,
        parent: Node | None,
        totals: Totals,
        call_id: str | None = None,
        span: tuple[int, int] | None = None,
    ) -> bool:
        """Hand an ended LLM call's figures to ``parent`` (from :meth:`end`) or its nearest open ancestor.

        Args:
            parent: The way up returned by :meth:`end` for the call's span.
            totals: The call's figures.
            call_id: The provider's response id, when known.
            span: The call span's (start, end) in nanoseconds, when known. Two spans in one trace record
                the same call (two instrumentations side by side) only when they share the response id,
                the token counts, and were open at the same time: only the first is counted then. Servers
                that repeat ids (local servers, proxies) give separate requests the same id, and those
                are never open at once unless run concurrently with identical usage.

        Returns:
            ``False`` when the call was counted already.
        """
        if parent is None:
            return True
        with self._lock:
            if call_id is not None and not _first_of_its_call(parent.trace, call_id, totals, span):
                logger.debug("two spans record the same LLM call %s; counting it once", call_id)
                return False
            self._hand_up(parent, totals)
        return True

    def clear(self) -> None:
        with self._lock:
            self._roots.clear()
            self._traces.clear()
            self._tracked = 0

    def _hand_up(self, node: Node | None, totals: Totals) -> None:
        while node is not None and not node.open:
            logger.debug("an ancestor ended before its descendant's LLM call; not updating it")
            node = node.parent
        if node is None:
            return
        if node.totals is None:
            node.totals = totals.copy()
        else:
            node.totals.add(totals)

    def _drop(self, trace_id: int, trace: _Trace) -> None:
        del self._traces[trace_id]
        self._tracked -= len(trace.nodes)
        for node in trace.nodes.values():
            node.open = False
        trace.nodes.clear()  # open nodes point back at the trace: break the cycle for refcounting

    def _sweep(self) -> None:
        deadline = self._clock() - self._timeout
        for _ in range(_SWEEP_BATCH):
            if not self._traces:
                return
            trace_id, trace = next(iter(self._traces.items()))
            if trace.created > deadline:
                return
            logger.debug("forgetting a trace whose root has not ended in %.0f s", self._timeout)
            self._drop(trace_id, trace)

    def _refuse(self) -> None:
        log_once(
            "rollup.span_cap",
            "tracking %d open spans already; spans started now are left out of cost roll-ups",
            self._max_spans,
        )
