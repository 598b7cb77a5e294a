"""The DuckDB engine's ranked traces, with the spans of each for the trace view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_llm_cost.report._duckdb_stats import cost
from otel_llm_cost.report._totals import Call
from otel_llm_cost.report._trace_model import CallRecord, SpanNode, TraceCost
from otel_llm_cost.report._trace_view import view_spans


def rankings(out: Mapping[str, list[dict[str, Any]]]) -> dict[str, list[TraceCost]]:
    """The ``expensive``, ``slowest`` and ``pinned`` traces (see :data:`sql.TRACES`), each with its view."""
    spans: dict[int, list[dict[str, Any]]] = {}
    for span in out["views"]:
        spans.setdefault(span["th"], []).append(span)
    result: dict[str, list[TraceCost]] = {"expensive": [], "slowest": [], "pinned": []}
    for row in out["ranked"]:
        result[row["ranking"]].append(_trace(row, spans.get(row["th"], [])))
    result["expensive"].sort(key=lambda t: t.trace_id)
    result["expensive"].sort(key=lambda t: (t.cost, t.calls), reverse=True)
    result["slowest"].sort(key=lambda t: t.trace_id)
    result["slowest"].sort(key=lambda t: (t.duration_s or 0.0, t.cost), reverse=True)
    return result


def _trace(row: Mapping[str, Any], spans: list[dict[str, Any]]) -> TraceCost:
    nodes, counted = [], set()
    for span in spans:
        record = None
        if span["kept"]:
            figures = Call(span["inp"], span["out"], 0, 0, 0, span["cost"], span["err"], 0.0)
            record = CallRecord(figures, None, span["model"], "", span["st"], None, None, (), None)
            if span["counted"]:
                counted.add(id(record))
        phases = tuple(span["phases"])
        shown = phases if any(v is not None for v in phases) else None
        node = (str(span["k"]), _id(span["pk"]), span["name"], span["kind"], span["st"], span["en"])
        nodes.append(SpanNode(*node, span["err"], span["step"], span["agent"], record, shown))
    view, dropped = view_spans(nodes, counted)
    dropped += max(spans[0]["spans"] - len(spans), 0) if spans else 0
    return TraceCost(
        cost(row["cost"]), row["t"], row["calls"], row["unpriced"], _root(nodes), row["st"], row["duration"],
        view, dropped,
    )  # fmt: skip


def _root(nodes: list[SpanNode]) -> str:
    """The root span's name (the earliest, if several), else the earliest span's."""
    roots = [n for n in nodes if n.parent_id is None] or nodes
    return min(roots, key=lambda n: n.start_ns).name if roots else ""


def _id(key: int | None) -> str | None:
    # Spans are told apart by their hashed keys: the view needs the tree, not the ids (it shows none).
    return None if key is None else str(key)
