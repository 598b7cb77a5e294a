"""One admitted call: the breaches it was admitted with, and its reservation until it is settled.

Settling rules: a call that reported usage is settled with its tokens and its cost (priced with the
response model); a call the server refused with an error status (4xx, 5xx) and no usage is settled
at zero spend and zero tokens; every other call without usage (a client timeout, a dropped
connection, a cancellation, a raw response never parsed) keeps its worst case, because the server
may have kept working, and billing, on it. Every admitted call counts as one call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from otel_llm_cost import attributes as attr
from otel_llm_cost.budget._limits import Limit, to_units
from otel_llm_cost.errors import BudgetExceeded, format_window

if TYPE_CHECKING:
    from otel_llm_cost.budget.guard import BudgetGuard
    from otel_llm_cost.budget.windows import Window
    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.pricing import Cost
    from otel_llm_cost.usage import Usage

__all__ = ["BudgetBreach", "OnExceeded", "Ticket", "settle_listener"]


@dataclass(frozen=True, slots=True)
class BudgetBreach:
    """A call that would pass a limit, as handed to the guard's ``on_exceeded`` callback.

    Attributes:
        limit: the limit that would be passed.
        key: the budget key, e.g. ``"tenant=acme"``.
        spend: settled plus reserved use in the window before this call, in the limit's unit.
        requested: the call's worst case, in the limit's unit.
        model: the model the call asks for; provider: its ``gen_ai.provider.name``.
    """

    limit: Limit
    key: str
    spend: Decimal
    requested: Decimal
    model: str | None
    provider: str

    @property
    def action(self) -> str:
        return self.limit.action

    def error(self) -> BudgetExceeded:
        lim = self.limit
        return BudgetExceeded(
            self.key, lim.limit, lim.window_seconds, self.spend, unit=lim.unit, requested=self.requested,
            model=self.model,
        )  # fmt: skip

    def attributes(self) -> dict[str, Any]:
        return {
            attr.LLM_COST_BUDGET_KEY: self.key,
            attr.LLM_COST_BUDGET_LIMIT: float(self.limit.limit),
            attr.LLM_COST_BUDGET_SPENT: float(self.spend),
            attr.LLM_COST_BUDGET_REQUESTED: float(self.requested),
            attr.LLM_COST_BUDGET_WINDOW: format_window(self.limit.window_seconds),
            attr.LLM_COST_BUDGET_UNIT: self.limit.unit,
            attr.LLM_COST_BUDGET_ACTION: self.limit.action,
        }


OnExceeded = Callable[[BudgetBreach], "str | None"]
"""Called when a call would pass a limit (block or warn); return a model name to send the call to
that model instead (re-checked against the budgets), or ``None`` to let the limit's action apply."""


@dataclass(slots=True)
class Slot:
    """One budget key a call counts against, with every limit sharing it."""

    key: str
    label: str
    unit: str
    window: Window
    limits: tuple[Limit, ...]
    amount: int = 0
    enforce: int | None = None


class Ticket:
    """One admitted call's reservation; settled exactly once when the call ends.

    Attributes:
        model: the model to send the call to (differs from ``requested_model`` after a downgrade).
        warnings: warn limits the call was admitted past.
        downgrades: the breaches that made ``on_exceeded`` replace the model.
    """

    __slots__ = (
        "_buckets",
        "_done",
        "_guard",
        "_lock",
        "_slots",
        "downgrades",
        "model",
        "provider",
        "requested_model",
        "warnings",
    )

    def __init__(
        self,
        guard: BudgetGuard,
        slots: list[Slot],
        buckets: tuple[int, ...],
        model: str | None,
        provider: str,
        warnings: list[BudgetBreach],
        downgrades: list[BudgetBreach],
        requested_model: str | None,
    ) -> None:
        self._guard = guard
        self._slots = slots
        self._buckets = buckets
        self.model = model
        self.provider = provider
        self.warnings = warnings
        self.downgrades = downgrades
        self.requested_model = requested_model
        self._done = False
        self._lock = threading.Lock()

    def bind(self, invocation: LLMInvocation) -> None:
        """Attach to the call's span: warnings become its events; its end settles the reservation."""
        invocation.budget_ticket = self
        span = invocation.span
        recording = span.is_recording()
        for breach in self.downgrades:
            if recording:
                event = breach.attributes()
                event[attr.LLM_COST_BUDGET_REPLACEMENT_MODEL] = self.model or ""
                event[attr.GEN_AI_REQUEST_MODEL] = breach.model or ""
                span.add_event(attr.EVENT_BUDGET_WARNING, event)
            self._guard.warned(breach, self.model)
        for breach in self.warnings:
            if recording:
                span.add_event(attr.EVENT_BUDGET_WARNING, breach.attributes())
            self._guard.warned(breach)

    def settle(self, usage: Usage | None, cost: Cost | None, error: BaseException | None) -> None:
        """Replace the reservation by what the call used (see the module docstring for the rules)."""
        with self._lock:
            if self._done:
                return
            self._done = True
        if not self._slots:
            return
        usd = 0
        if usage is not None and any(slot.unit == "usd" for slot in self._slots):
            amount = cost.amount if cost is not None else self._guard._price(usage, self.model, self.provider)
            usd = to_units(amount, "usd") if amount else 0
        actual = [_actual(slot, usage, usd, error) for slot in self._slots]
        self._guard._settle(self._slots, self._buckets, actual)

    def abandon(self) -> None:
        """The call went out unrecorded: keep its worst case as spent."""
        self.settle(None, None, None)


def _actual(slot: Slot, usage: Usage | None, usd: int, error: BaseException | None) -> int:
    if slot.unit == "calls":
        return 1
    if usage is None:
        return 0 if error is not None and refused_by_server(error) else slot.amount
    return usage.total_tokens if slot.unit == "tokens" else usd


def refused_by_server(error: BaseException) -> bool:
    """Whether the server answered the call with an error status (4xx or 5xx): nothing was generated.

    Anything else (a client timeout, a dropped connection, a cancellation) may have left the server
    working, and billing, on a request we no longer see: such a call keeps its worst case.
    """
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(getattr(error, "response", None), "status_code", None)
    return type(status) is int and 400 <= status <= 599


def settle_listener(
    invocation: LLMInvocation, usage: Usage | None, cost: Cost | None, error: BaseException | None
) -> None:
    """The invocation listener that settles each guarded call when it ends."""
    ticket = invocation.budget_ticket
    if ticket is not None:
        ticket.settle(usage, cost, error)


def metric_labels(breach: BudgetBreach) -> dict[str, str]:
    return {
        attr.LLM_COST_BUDGET_KEY: breach.key,
        attr.LLM_COST_BUDGET_WINDOW: format_window(breach.limit.window_seconds),
        attr.LLM_COST_BUDGET_UNIT: breach.limit.unit,
    }
