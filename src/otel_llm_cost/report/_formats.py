"""Machine-readable forms of the report: JSON (one document) and CSV (one figure per row)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Final

from otel_llm_cost.report._dict import json_default
from otel_llm_cost.report._result import Report

CSV_HEADER: Final = ("section", "label", "metric", "value")
# Which field names a list entry, per list.
_LABELS: Final = ("label", "step", "trace_id", "start_unix_nano", "low_seconds")


def to_json(report: Report) -> str:
    """The report as an indented JSON document; money as exact decimal strings."""
    return json.dumps(report.as_dict(), indent=2, default=json_default) + "\n"


def to_csv(report: Report) -> str:
    """The report as ``section,label,metric,value`` rows, e.g. ``by.model,gpt-4o,cost,0.375``.

    A long, tidy table: every figure of the JSON form, one per row, ready for a spreadsheet's pivot.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    data = report.as_dict()
    data.pop("schema")
    for row in _rows(data, "", ""):
        writer.writerow(row)
    return out.getvalue()


def _rows(value: Any, section: str, label: str, metric: str = "") -> Iterator[tuple[str, str, str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if section:
                yield from _rows(inner, section, label, f"{metric}.{key}" if metric else key)
            else:
                yield from _rows(inner, key, label)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for index, entry in enumerate(value):
            name = _entry_label(entry, index)
            rest = {k: v for k, v in entry.items() if k not in _LABELS}
            yield from _rows(rest, f"{section}.{metric}" if metric else section, name)
    elif isinstance(value, list):
        yield section, label, metric, ";".join(_cell(v) for v in value)
    else:
        yield section, label, metric, _cell(value)


def _entry_label(entry: dict[str, Any], index: int) -> str:
    for key in _LABELS:
        if key in entry:
            return _cell(entry[key])
    if "model" in entry:
        return f"{entry.get('provider')}/{entry['model']}"
    return str(index)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(json_default(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)
