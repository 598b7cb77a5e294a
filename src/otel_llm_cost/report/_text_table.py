"""Text tables whose columns are as wide as their widest value, so numbers never run together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from otel_llm_cost.report import _fmt
from otel_llm_cost.report._term import safe_cell

_GAP: Final = "  "
_MIN_FLEX: Final = 12


def text_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], width: int, align: str = "", flex: int = 0
) -> list[str]:
    """``header`` and ``rows`` as aligned lines.

    Args:
        header: column titles.
        rows: cells, as text.
        width: the line width to fit.
        align: ``l`` or ``r`` per column; default: the first left, the others right.
        flex: the column that gives way: cut (``…``) to what ``width`` leaves it; the others are as
            wide as their widest cell.
    """
    cells = [[safe_cell(str(c)) for c in row] for row in (header, *rows)]
    align = align or "l" + "r" * (len(header) - 1)
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    others = sum(w for i, w in enumerate(widths) if i != flex) + len(_GAP) * (len(header) - 1)
    widths[flex] = max(min(widths[flex], width - others), _MIN_FLEX)
    lines = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            text = _fmt.clip(cell, widths[i]) if i == flex else cell
            parts.append(f"{text:<{widths[i]}}" if align[i] == "l" else f"{text:>{widths[i]}}")
        lines.append(_GAP.join(parts).rstrip())
    return lines
