"""The guard's metrics: counters of warnings and refusals, gauges of each budget's use.

Gauges (observable, read from the store at each collection) carry ``llm_cost.budget.key``
(``tenant=acme``), ``llm_cost.budget.window`` (``1d``) and ``llm_cost.budget.unit`` (``usd``,
``tokens``, ``calls``; the value is in that unit):

- ``llm_cost.budget.spent``: settled use in the window;
- ``llm_cost.budget.reserved``: worst-case estimates of calls still running;
- ``llm_cost.budget.remaining``: the limit minus both (never below 0), per limit.

Only the budgets this process used recently are observed (at most :data:`MAX_SERIES`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from opentelemetry.metrics import CallbackOptions, Observation

from otel_llm_cost import attributes as attr
from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import log_once
from otel_llm_cost.budget._limits import Limit, from_units
from otel_llm_cost.errors import format_window

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter

    from otel_llm_cost.budget.windows import Window

MAX_SERIES: Final = 256
Usage = Callable[[str, "Window"], tuple[int, int]]


class Series:
    """One budget key this process used: what the gauges observe."""

    __slots__ = ("attributes", "key", "limits", "unit", "window")

    def __init__(self, key: str, label: str, unit: str, window: Window, limits: tuple[Limit, ...]) -> None:
        self.key = key
        self.unit = unit
        self.window = window
        self.limits = limits
        self.attributes = {
            attr.LLM_COST_BUDGET_KEY: label,
            attr.LLM_COST_BUDGET_WINDOW: format_window(window.seconds),
            attr.LLM_COST_BUDGET_UNIT: unit,
        }


class BudgetInstruments:
    """Counters and gauges of one guard, made once from the meter passed to it."""

    def __init__(self, meter: Meter, usage: Usage) -> None:
        self._usage = usage
        self._series: OrderedDict[str, Series] = OrderedDict()
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")
        self.warnings = meter.create_counter(
            "llm_cost.budget.warnings", unit="{call}", description="Calls admitted past a warn limit"
        )
        self.blocked = meter.create_counter(
            "llm_cost.budget.blocked", unit="{call}", description="Calls refused by a budget before sending"
        )
        self.store_errors = meter.create_counter(
            "llm_cost.budget.store_errors", unit="{error}", description="Budget store failures"
        )
        meter.create_observable_gauge(
            "llm_cost.budget.spent", [self._observe(lambda s, r: s)], description="Settled use in window"
        )
        meter.create_observable_gauge(
            "llm_cost.budget.reserved", [self._observe(lambda s, r: r)], description="Reserved in window"
        )
        meter.create_observable_gauge(
            "llm_cost.budget.remaining", [self._observe_remaining], description="Limit minus use and reserved"
        )

    def track(self, series: Series) -> None:
        with self._lock:
            self._series[series.key] = series
            self._series.move_to_end(series.key)
            if len(self._series) > MAX_SERIES:
                self._series.popitem(last=False)

    def _snapshot(self) -> list[Series]:
        with self._lock:
            return list(self._series.values())

    def _read(self) -> Iterable[tuple[Series, int, int]]:
        for series in self._snapshot():
            try:
                spent, reserved = self._usage(series.key, series.window)
            except Exception:
                log_once("budget.gauge", "could not read a budget for its gauges", exc_info=True)
                return
            yield series, spent, reserved

    def _observe(self, pick: Callable[[int, int], int]) -> Callable[[CallbackOptions], list[Observation]]:
        def callback(options: CallbackOptions) -> list[Observation]:
            return [
                Observation(float(from_units(pick(spent, reserved), s.unit)), s.attributes)
                for s, spent, reserved in self._read()
            ]

        return callback

    def _observe_remaining(self, options: CallbackOptions) -> list[Observation]:
        observations = []
        for series, spent, reserved in self._read():
            for limit in series.limits:
                left = max(0, limit.scaled - spent - reserved)
                labels = {**series.attributes, attr.LLM_COST_BUDGET_LIMIT: float(limit.limit)}
                observations.append(Observation(float(from_units(left, series.unit)), labels))
        return observations
