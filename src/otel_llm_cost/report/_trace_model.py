"""What the report keeps of each span while its trace is open, and of the traces it ranks.

Small tuples: one is built per span of a possibly huge file, and the open traces hold them until the
trace closes (see :mod:`._traces`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, NamedTuple

from otel_llm_cost.report._totals import Call


class CallRecord(NamedTuple):
    """An LLM call's figures, and what the report's tallies need of its span, read when it arrived."""

    call: Call
    provider: str | None
    model: str | None
    cost_status: str
    start_ns: int
    ttft: float | None
    tokens_per_second: float | None
    by_labels: tuple[str, ...]
    response_id: str | None
    trace_id: str = ""
    sampling_probability: object = None
    parts: object = None  # ``PartTotals.extract`` of the span: its cost parts and unpriced units


class SpanNode(NamedTuple):
    """One span of an open trace.

    Attributes:
        span_id: its id.
        parent_id: its parent's id (``None``: a root).
        name: the span name.
        kind: ``agent``, ``step``, ``tool`` or ``span`` (LLM calls are told by ``call``).
        start_ns: start, ns since the epoch.
        end_ns: end, same clock.
        error: whether it failed.
        step: the step name it gives its descendants (and itself), if any.
        agent: the agent name it gives them, if any.
        call: its figures when it reports token usage.
        phases: for an agent step, seconds per phase (pre, TTFT, generation, tool, post), if recorded.
    """

    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    error: bool
    step: str | None
    agent: str | None
    call: CallRecord | None
    phases: tuple[float | None, ...] | None


# How each kind of span is tagged in the trace views (terminal and HTML); plain spans are not tagged.
KIND_LABELS: Final = {"agent": "agent", "step": "step", "tool": "tool", "call": "llm", "wrapper": "wrapper"}


class ViewSpan(NamedTuple):
    """One row of a trace view: a span with its depth in the tree and, for calls, tokens and cost."""

    depth: int
    span_id: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    error: bool
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost: Decimal | None
    phases: tuple[float | None, ...] | None


@dataclass(frozen=True, slots=True)
class TraceCost:
    """One trace among the most expensive or the slowest.

    Attributes:
        cost: what its priced calls cost.
        trace_id: its id.
        calls: LLM calls counted in it.
        unpriced_calls: calls among them without a cost.
        root: the root span's name (else the earliest span's).
        start_ns: its earliest span start.
        duration_s: from its earliest start to its latest end, in seconds.
        spans: its spans in tree order (at most a few hundred), for the trace view.
        spans_dropped: spans left out of ``spans``.
    """

    cost: Decimal
    trace_id: str
    calls: int
    unpriced_calls: int
    root: str
    start_ns: int
    duration_s: float | None
    spans: tuple[ViewSpan, ...] = ()
    spans_dropped: int = 0
