"""A readable table of the LLM calls among finished spans: tokens, latency and cost per call.

Pure: reads span attributes only (the ``gen_ai.*`` names, set by any GenAI instrumentation), so the
same table works for spans from a live run, a test, or a file.

Example::

    print(format_llm_calls(exporter.get_finished_spans()))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from otel_llm_cost import attributes as attr

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

# GenAI operations that are not model calls (their spans carry no usage of their own).
_NOT_LLM_CALLS = frozenset({"execute_tool", "invoke_agent", "create_agent"})

_HEADERS = (
    "operation",
    "model",
    "input",
    "cached",
    "output",
    "reasoning",
    "TTFT ms",
    "duration ms",
    "cost USD",
)
_LEFT_ALIGNED = 2  # the first two columns are text


@dataclass(frozen=True, slots=True)
class CallRow:
    """One LLM call as the table shows it."""

    operation: str
    model: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    ttft_ms: float | None
    duration_ms: float
    cost: Decimal | None


def llm_calls(spans: Iterable[ReadableSpan]) -> list[CallRow]:
    """The LLM calls among ``spans``, in start order.

    Args:
        spans: finished spans; those without ``gen_ai.operation.name`` (or of tool/agent operations)
            are skipped.

    Returns:
        One row per LLM call.
    """
    calls = [span for span in spans if _is_llm_call(span.attributes or {})]
    calls.sort(key=lambda span: span.start_time or 0)
    return [_row(span) for span in calls]


def format_llm_calls(spans: Iterable[ReadableSpan]) -> str:
    """The table of LLM calls among ``spans``, with a total line (see :func:`format_rows`)."""
    return format_rows(llm_calls(spans))


def format_rows(rows: Sequence[CallRow]) -> str:
    """Render rows as an aligned text table, a total line, and a note on unpriced calls.

    Args:
        rows: the calls, e.g. from :func:`llm_calls`.

    Returns:
        The table, without a trailing newline; a one-line notice when there are no rows.
    """
    if not rows:
        return "No LLM calls were recorded."
    lines = [list(_HEADERS)]
    lines += [_cells(row) for row in rows]
    lines.append(_total_cells(rows))
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADERS))]
    rule = "  ".join("-" * width for width in widths)
    text = [_join(line, widths) for line in lines]
    out = [text[0], rule, *text[1:-1], rule, text[-1]]
    unpriced = sum(1 for row in rows if row.cost is None)
    if unpriced:
        out.append(f"({unpriced} of {len(rows)} calls unpriced: shown as '-', left out of the total)")
    return "\n".join(out)


def _is_llm_call(attributes: Mapping[str, Any]) -> bool:
    operation = attributes.get(attr.GEN_AI_OPERATION_NAME)
    return isinstance(operation, str) and operation not in _NOT_LLM_CALLS


def _row(span: ReadableSpan) -> CallRow:
    attributes = span.attributes or {}
    ttft = attributes.get(attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
    model = attributes.get(attr.GEN_AI_RESPONSE_MODEL) or attributes.get(attr.GEN_AI_REQUEST_MODEL) or "-"
    return CallRow(
        operation=str(attributes.get(attr.GEN_AI_OPERATION_NAME)),
        model=str(model),
        input_tokens=_int(attributes, attr.GEN_AI_USAGE_INPUT_TOKENS),
        cached_tokens=_int(attributes, attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
        output_tokens=_int(attributes, attr.GEN_AI_USAGE_OUTPUT_TOKENS),
        reasoning_tokens=_int(attributes, attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
        ttft_ms=float(ttft) * 1000 if isinstance(ttft, int | float) else None,
        duration_ms=((span.end_time or 0) - (span.start_time or 0)) / 1e6,
        cost=_decimal(attributes.get(attr.GEN_AI_USAGE_COST_AMOUNT)),
    )


def _int(attributes: Mapping[str, Any], key: str) -> int:
    value = attributes.get(key)
    return int(value) if isinstance(value, int | float) else 0


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))  # str() keeps a float's shortest repr, not its binary expansion
    except (InvalidOperation, ValueError):
        return None


def _cells(row: CallRow) -> list[str]:
    return [
        row.operation,
        row.model,
        f"{row.input_tokens:,}",
        f"{row.cached_tokens:,}",
        f"{row.output_tokens:,}",
        f"{row.reasoning_tokens:,}",
        "-" if row.ttft_ms is None else f"{row.ttft_ms:,.0f}",
        f"{row.duration_ms:,.0f}",
        _money(row.cost),
    ]


def _total_cells(rows: Sequence[CallRow]) -> list[str]:
    priced = [row.cost for row in rows if row.cost is not None]
    return [
        f"total ({len(rows)} calls)",
        "",
        f"{sum(row.input_tokens for row in rows):,}",
        f"{sum(row.cached_tokens for row in rows):,}",
        f"{sum(row.output_tokens for row in rows):,}",
        f"{sum(row.reasoning_tokens for row in rows):,}",
        "",
        f"{sum(row.duration_ms for row in rows):,.0f}",
        _money(sum(priced, Decimal(0)) if priced else None),
    ]


def _money(amount: Decimal | None) -> str:
    return "-" if amount is None else f"{amount:.8f}"


def _join(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [
        cell.ljust(width) if i < _LEFT_ALIGNED else cell.rjust(width)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  ".join(padded).rstrip()
