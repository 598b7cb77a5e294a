"""Cost per billed part over the calls read (``llm_cost.cost.<part>``): input, output, cache reads and
writes, reasoning, and the units beyond text tokens (#17): ``input_audio``, ``web_searches``,
``advisor_message``..."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from otel_llm_cost import attributes as attr

_PREFIX: Final = attr.LLM_COST_COST_PREFIX
_NOT_PARTS: Final = frozenset({attr.LLM_COST_COST_STATUS, attr.LLM_COST_COST_UNPRICED_UNITS})
_MAX_PARTS: Final = 100  # part names come from the spans: a bound keeps odd files from growing memory


# The part names among a span's attribute names, by those names in order: one producer writes the same
# names on every call, so the names are scanned once per set of names rather than once per call.
_KEYS_SEEN: dict[tuple[str, ...], tuple[str, ...]] = {}
_MAX_KEYS_SEEN: Final = 256
_MAX_NAMES_KEPT: Final = 100  # spans with more attributes are scanned each time (memory stays small)


def _part_keys(attributes: dict[str, Any]) -> tuple[str, ...]:
    names = tuple(attributes)
    found = _KEYS_SEEN.get(names)
    if found is None:
        found = tuple(key for key in names if key.startswith(_PREFIX) and key not in _NOT_PARTS)
        if len(names) <= _MAX_NAMES_KEPT:
            if len(_KEYS_SEEN) >= _MAX_KEYS_SEEN:
                _KEYS_SEEN.clear()
            _KEYS_SEEN[names] = found
    return found


class PartTotals:
    """USD per part name, and the units left unpriced with how many calls lacked each."""

    __slots__ = ("costs", "unpriced_units")

    def __init__(self) -> None:
        self.costs: dict[str, Decimal] = {}
        self.unpriced_units: dict[str, int] = {}

    def add(self, attributes: dict[str, Any]) -> None:
        found = self.extract(attributes)
        if found is not None:
            self.add_extracted(found)

    @staticmethod
    def extract(
        attributes: dict[str, Any],
    ) -> tuple[tuple[tuple[str, int | float], ...], tuple[str, ...]] | None:
        """What :meth:`add_extracted` needs of a span: its cost parts and unpriced units, small enough to
        keep with the call until its trace closes; ``None`` when the span names neither."""
        keys = _part_keys(attributes)
        units = attributes.get(attr.LLM_COST_COST_UNPRICED_UNITS)
        if not keys and units is None:
            return None
        costs = tuple(
            (key[len(_PREFIX) :], value)
            for key in keys
            if isinstance(value := attributes[key], int | float) and not isinstance(value, bool)
        )
        named = (
            tuple(unit for unit in units if isinstance(unit, str)) if isinstance(units, list | tuple) else ()
        )
        return costs, named

    def add_extracted(self, found: tuple[tuple[tuple[str, int | float], ...], tuple[str, ...]]) -> None:
        costs, units = found
        for part, value in costs:
            if part in self.costs or len(self.costs) < _MAX_PARTS:
                try:
                    self.costs[part] = self.costs.get(part, Decimal(0)) + Decimal(str(value))
                except ArithmeticError:  # an absurd value from another producer: not summed
                    continue
        for unit in units:
            if unit in self.unpriced_units or len(self.unpriced_units) < _MAX_PARTS:
                self.unpriced_units[unit] = self.unpriced_units.get(unit, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "by_part": dict(sorted(self.costs.items(), key=lambda item: -item[1])),
            "unpriced_units": dict(sorted(self.unpriced_units.items(), key=lambda item: -item[1])),
        }

    def lines(self) -> list[str]:
        """Parts beyond text tokens and unpriced units, for the summary (80 columns)."""
        base = {"input", "output", "cache_read", "cache_write", "reasoning"}
        extra = [(part, cost) for part, cost in self.costs.items() if part not in base]
        lines: list[str] = []
        if extra:
            extra.sort(key=lambda item: -item[1])
            shown = " · ".join(f"{part} {cost:.6f}" for part, cost in extra[:3])
            lines.append(f"Beyond text {shown} USD")
        if self.unpriced_units:
            units = ", ".join(f"{unit} ({n:,})" for unit, n in list(self.unpriced_units.items())[:3])
            lines.append(f"Unpriced    units (calls): {units}")
        return [line if len(line) <= 80 else line[:79] + "…" for line in lines]
