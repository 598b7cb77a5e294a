"""A trace's spans as the rows of a waterfall: tree order (children by start time), depth, call figures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from otel_llm_cost.report._trace_model import SpanNode, ViewSpan

# Rows kept per trace: enough for any agent run a person reads; the rest are counted, not shown.
MAX_VIEW_SPANS: Final = 400


def view_spans(
    nodes: Sequence[SpanNode], counted: set[int], earlier: Iterable[ViewSpan] = ()
) -> tuple[tuple[ViewSpan, ...], int]:
    """The rows of the waterfall of ``nodes``, and how many were left out.

    Args:
        nodes: the trace's spans, any order.
        counted: ``id()`` of the call records that count (wrappers and duplicates show no cost).
        earlier: rows kept from an earlier part of the same trace (closed, then seen again).
    """
    by_id = {n.span_id: n for n in nodes}
    children: dict[str | None, list[SpanNode]] = {}
    for node in nodes:
        parent = node.parent_id if node.parent_id in by_id and node.parent_id != node.span_id else None
        children.setdefault(parent, []).append(node)
    for siblings in children.values():
        siblings.sort(key=lambda n: (n.start_ns, -n.end_ns, n.span_id))
    rows: list[ViewSpan] = list(earlier)
    seen: set[str] = {row.span_id for row in rows}
    roots = children.get(None, [])
    # Spans caught in a parent cycle (hostile input) have no root above them: shown at the top level.
    stranded = sorted((n for n in nodes if n.parent_id in by_id), key=lambda n: n.start_ns)
    for group in (roots, stranded):
        stack = [(node, 0) for node in reversed(group)]
        while stack and len(rows) < MAX_VIEW_SPANS:
            node, depth = stack.pop()
            if node.span_id in seen:
                continue
            seen.add(node.span_id)
            rows.append(_row(node, depth, counted))
            stack.extend((child, depth + 1) for child in reversed(children.get(node.span_id, [])))
    return tuple(rows), sum(1 for span_id in by_id if span_id not in seen)


def _row(node: SpanNode, depth: int, counted: set[int]) -> ViewSpan:
    record = node.call
    if record is None:
        name = node.step if node.kind == "step" and node.step else node.name
        return ViewSpan(
            depth, node.span_id, name, node.kind, node.start_ns, node.end_ns, node.error,
            None, None, None, None, node.phases,
        )  # fmt: skip
    call = record.call
    kind = "call" if id(record) in counted else "wrapper"
    cost = call.cost if kind == "call" else None
    return ViewSpan(
        depth, node.span_id, node.name, kind, node.start_ns, node.end_ns, node.error,
        record.model, call.input_tokens, call.output_tokens, cost, node.phases,
    )  # fmt: skip
