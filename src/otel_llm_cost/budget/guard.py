"""Admit or refuse an LLM call before it is sent, against spend, token and call budgets.

The instrumentation asks :meth:`BudgetGuard.admit` before the request leaves the process, with the
call's worst case (input tokens estimated offline, output at its cap, priced by the pricing engine).
The guard reserves that worst case on every budget the call counts against, atomically, or refuses
the call; when the call ends its reservation is settled with the real cost (a call the server refused
without usage is settled at zero; one whose usage is unknown, timed out or dropped, keeps its worst
case). Calls running in parallel therefore overshoot a limit by at most one call's worst case, within
one process (:class:`~otel_llm_cost.budget.stores.MemoryStore`) or across a fleet
(:class:`~otel_llm_cost.budget.stores.RedisStore`), as far as the worst case is right: the input is an
offline estimate, history held by the server (``previous_response_id``) is bounded by the model's
context window, and an unset output cap by what that window leaves.

Free models ($0) and models without a price are never refused by a USD limit (an unpriced call costs
nothing the guard can see); token and call limits count every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost._scrub import scrub
from otel_llm_cost.budget import _estimate
from otel_llm_cost.budget._config import parse_budgets
from otel_llm_cost.budget._keys import CallKeys
from otel_llm_cost.budget._limits import Limit, from_units, to_units
from otel_llm_cost.budget._metrics import BudgetInstruments, Series
from otel_llm_cost.budget._ticket import (
    BudgetBreach,
    OnExceeded,
    Slot,
    Ticket,
    metric_labels,
    settle_listener,
)
from otel_llm_cost.budget.stores import (
    BudgetStore,
    Entry,
    MemoryStore,
    Reservation,
    Settlement,
)
from otel_llm_cost.budget.windows import Window
from otel_llm_cost.errors import BudgetConfigError, BudgetUnavailable
from otel_llm_cost.usage import Usage

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter

    from otel_llm_cost.pricing import Pricer

__all__ = ["BudgetBreach", "BudgetGuard", "OnExceeded", "Ticket", "settle_listener"]

FailurePolicy = Literal["open", "closed"]
UNKNOWN_WINDOW_TOKENS: Final = 200_000
"""The context window assumed for a model the price data gives none for (the largest common size)."""
_MAX_DOWNGRADES: Final = 3


class BudgetGuard:
    """Spend, token and call limits per sliding window, checked before each LLM call is sent.

    Example::

        guard = BudgetGuard("global:usd=2/10m; tenant:usd=50/1d; model=gpt-4o:tokens=1e6/1h:warn",
                            meter=meter_provider.get_meter("budgets"))
        otel_llm_cost.configure(tracer_provider=provider, budget_guard=guard)
        with budget_scope(tenant="acme"):
            client.chat.completions.create(...)   # raises BudgetExceeded once acme spent $50 today

    Args:
        limits: :class:`Limit` objects, or strings in the ``OTEL_LLM_COST_BUDGETS`` syntax.
        store: where use is kept; a new :class:`MemoryStore` by default.
        on_exceeded: called when a call would pass a limit; may return a replacement model.
        on_store_error: ``"open"`` (admit, with a warning) or ``"closed"`` (refuse with
            :class:`~otel_llm_cost.errors.BudgetUnavailable`) when the store cannot be reached.
        meter: makes the budget gauges and counters; none without it.
        max_output_tokens: the output cap assumed for a request that sets none: a number, or a
            callable from the model name to a number. Default: what the model can still produce,
            its context window (from genai-prices) less the request's input, so the worst case is
            real; :data:`UNKNOWN_WINDOW_TOKENS` stands in for a window the data does not know.
        unknown_window_tokens: the context window assumed when the price data has none; it also
            bounds the hidden input of a request continuing server-side state
            (``previous_response_id``, ``conversation``), which is reserved as a full window.
        pricer: prices the worst case; :func:`otel_llm_cost.pricing.get_pricer` by default.
        clock: seconds since the epoch (the windows' clock; shared by every process of a fleet).

    Raises:
        BudgetConfigError: a limit or an option is invalid.
    """

    def __init__(
        self,
        limits: str | Iterable[Limit | str],
        *,
        store: BudgetStore | None = None,
        on_exceeded: OnExceeded | None = None,
        on_store_error: FailurePolicy = "open",
        meter: Meter | None = None,
        max_output_tokens: int | Callable[[str | None], int] | None = None,
        unknown_window_tokens: int = UNKNOWN_WINDOW_TOKENS,
        pricer: Pricer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits: tuple[Limit, ...] = _limits_of(limits)
        if on_store_error not in ("open", "closed"):
            raise BudgetConfigError(f"on_store_error={on_store_error!r}: use 'open' or 'closed'")
        self.store: BudgetStore = store if store is not None else MemoryStore()
        self.on_exceeded = on_exceeded
        self.on_store_error = on_store_error
        self._max_output = max_output_tokens
        self._unknown_window = unknown_window_tokens
        self._pricer = pricer
        self._clock = clock
        self._instruments = BudgetInstruments(meter, self._usage_now) if meter is not None else None

    # --- admission ----------------------------------------------------------------------------
    def admit(self, *, model: str | None, provider: str, operation: str, request: Any) -> Ticket | None:
        """Reserve the call's worst case, or refuse it.

        Args:
            model: the requested model; provider: ``gen_ai.provider.name``; operation:
                ``gen_ai.operation.name``; request: the request's keyword arguments.

        Returns:
            The reservation to settle when the call ends (its ``model`` may differ from ``model``
            when ``on_exceeded`` downgraded the call), or ``None`` when no budget applies.

        Raises:
            BudgetExceeded: a ``block`` limit would be passed (nothing was reserved).
        """
        params = _estimate.request_params(request)
        first_model = model
        downgrades: list[BudgetBreach] = []
        for attempt in range(_MAX_DOWNGRADES + 1):
            slots = self._slots(model, provider, operation, params)
            reservation = self._reserve(slots, model, provider) if slots else None
            if reservation is None:  # no budget applies, or the store is down and the guard fails open
                return (
                    Ticket(self, [], (), model, provider, [], downgrades, first_model) if downgrades else None
                )
            breaches = self._breaches(slots, reservation, model, provider)
            replacement = self._replacement(breaches, model) if attempt < _MAX_DOWNGRADES else None
            if replacement is not None:
                if reservation.admitted:
                    self._release(slots, reservation)
                downgrades.append(breaches[0])
                model = replacement
                continue
            if not reservation.admitted:
                self._refuse(breaches[0])
            self._track(slots)
            return Ticket(self, slots, reservation.bucket, model, provider, breaches, downgrades, first_model)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def usage(self, limit: Limit, value: str | None = None) -> tuple[Decimal, Decimal]:
        """(spent, reserved) of one budget now, in the limit's unit (``value``: the key's value)."""
        key = _store_key(limit.label(value), limit)
        spent, reserved = self.store.usage(key, Window.of(limit.window_seconds), self._clock())
        return from_units(spent, limit.unit), from_units(reserved, limit.unit)

    def _slots(self, model: str | None, provider: str, operation: str, params: Any) -> list[Slot]:
        keys = CallKeys(model, provider)
        slots: dict[str, Slot] = {}
        for limit in self.limits:
            value = keys.value(limit.key)
            if value is None or not limit.matches(value):
                continue
            label = limit.label(value)
            key = _store_key(label, limit)
            slot = slots.get(key)
            if slot is None:
                window = Window.of(limit.window_seconds)
                slots[key] = Slot(key, label, limit.unit, window, (limit,))
            else:
                slot.limits += (limit,)
        if slots:
            self._size(slots.values(), model, provider, operation, params)
        return list(slots.values())

    def _size(
        self, slots: Iterable[Slot], model: str | None, provider: str, operation: str, params: Any
    ) -> None:
        inp = _estimate.input_tokens(params)
        window = self._window(model, provider)
        if _estimate.has_hidden_history(params):
            inp = max(inp, window)  # history we cannot see may fill the whole window
        out = _estimate.output_cap(params, operation, self._default_output(model, max(window - inp, 0)))
        usd = self._price(Usage.of(inp, out), model, provider)
        for slot in slots:
            if slot.unit == "usd":
                slot.amount = to_units(usd, "usd") if usd else 0
                free = not slot.amount  # free and unpriced models never block on spend
            else:
                slot.amount = inp + out if slot.unit == "tokens" else 1
                free = False
            blocking = [lim.scaled for lim in slot.limits if lim.action == "block"]
            slot.enforce = min(blocking) if blocking and not free else None

    def _reserve(self, slots: list[Slot], model: str | None, provider: str) -> Reservation | None:
        entries = [Entry(s.key, s.window, s.amount, s.enforce) for s in slots]
        try:
            return self.store.reserve(entries, self._clock())
        except Exception as error:  # any store failure, not only StoreUnavailable, follows the policy
            self._count("store_errors")
            enforced = [s for s in slots if s.enforce is not None]
            if self.on_store_error == "open" or not enforced:
                log_once(
                    "budget.store_open", "LLM budget store unavailable (%s): admitting calls unchecked", error
                )
                return None
            slot, reason = enforced[0], scrub(str(error))
            limit = min((lim for lim in slot.limits if lim.action == "block"), key=lambda lim: lim.scaled)
            raise BudgetUnavailable(
                slot.label, limit.limit, limit.window_seconds, None, unit=slot.unit, model=model,
                requested=from_units(slot.amount, slot.unit),
                message=f"LLM budget store unavailable ({reason}); call to {model} refused (fail closed)",
            ) from None  # fmt: skip

    def _breaches(
        self, slots: list[Slot], reservation: Reservation, model: str | None, provider: str
    ) -> list[BudgetBreach]:
        found: list[BudgetBreach] = []
        for position, slot in enumerate(slots):
            used = reservation.used[position]
            for limit in slot.limits:
                refused = position == reservation.refused and limit.scaled == slot.enforce
                passed = slot.amount > 0 and used + slot.amount > limit.scaled and limit.action == "warn"
                if refused or passed:
                    breach = BudgetBreach(
                        limit, slot.label, from_units(used, slot.unit), from_units(slot.amount, slot.unit),
                        model, provider,
                    )  # fmt: skip
                    found.insert(0, breach) if refused else found.append(breach)
        return found

    def _replacement(self, breaches: Sequence[BudgetBreach], model: str | None) -> str | None:
        if not breaches or self.on_exceeded is None:
            return None
        try:
            replacement = self.on_exceeded(breaches[0])
        except Exception:
            log_once("budget.on_exceeded", "the budget on_exceeded callback failed", exc_info=True)
            return None
        return replacement if isinstance(replacement, str) and replacement and replacement != model else None

    def _refuse(self, breach: BudgetBreach) -> None:
        from opentelemetry import trace

        error = breach.error()
        span = trace.get_current_span()
        if span.is_recording():  # the caller's span: the refused call gets none of its own
            span.add_event(
                attr.EVENT_BUDGET_BLOCKED,
                {**breach.attributes(), attr.GEN_AI_REQUEST_MODEL: breach.model or ""},
            )
        self._count("blocked", breach)
        log_once(f"budget.blocked.{breach.key}.{breach.limit.describe()}", "%s", error)
        raise error

    # --- settlement ---------------------------------------------------------------------------
    def _release(self, slots: list[Slot], reservation: Reservation) -> None:
        self._settle(slots, reservation.bucket, [0] * len(slots))

    def _settle(self, slots: Sequence[Slot], buckets: Sequence[int], actual: Sequence[int]) -> None:
        items = [
            Settlement(s.key, s.window, b, s.amount, a)
            for s, b, a in zip(slots, buckets, actual, strict=True)
        ]
        try:
            self.store.settle(items, self._clock())
        except Exception as error:
            log_once(
                "budget.settle", "LLM budget store unavailable (%s): a call's use is not recorded", error
            )
        self._track(slots)

    def _price(self, usage: Usage, model: str | None, provider: str) -> Decimal | None:
        pricer = self._pricer
        if pricer is None:
            from otel_llm_cost.pricing import get_pricer

            pricer = get_pricer()
        return pricer.price(usage, model, provider).amount

    def _default_output(self, model: str | None, room: int) -> int:
        cap = self._max_output
        if cap is None:
            return room  # the model can produce no more than what its window leaves
        return cap(model) if callable(cap) else cap

    def _window(self, model: str | None, provider: str) -> int:
        pricer = self._pricer
        if pricer is None:
            from otel_llm_cost.pricing import get_pricer

            pricer = get_pricer()
        return pricer.context_window(model, provider) or self._unknown_window

    def _usage_now(self, key: str, window: Window) -> tuple[int, int]:
        return self.store.usage(key, window, self._clock())

    def _count(self, counter: str, breach: BudgetBreach | None = None) -> None:
        if self._instruments is not None:
            getattr(self._instruments, counter).add(1, metric_labels(breach) if breach else {})

    def _track(self, slots: Iterable[Slot]) -> None:
        if self._instruments is not None:
            for slot in slots:
                self._instruments.track(Series(slot.key, slot.label, slot.unit, slot.window, slot.limits))

    def warned(self, breach: BudgetBreach, replacement: str | None = None) -> None:
        """Count and log a warning (the ticket puts the event on the call's span)."""
        self._count("warnings", breach)
        outcome = f"sent to {replacement} instead" if replacement else "admitted past a warn limit"
        log_once(
            f"budget.warn.{breach.key}.{breach.limit.describe()}.{replacement}",
            "LLM budget %s (%s): %s used or reserved, this call to %s may add %s; %s",
            breach.key, breach.limit.describe(), breach.spend, breach.model, breach.requested, outcome,
        )  # fmt: skip


def _store_key(label: str, limit: Limit) -> str:
    return f"{label}|{limit.unit}|{limit.window_seconds}"


def _limits_of(limits: str | Iterable[Limit | str]) -> tuple[Limit, ...]:
    items = [limits] if isinstance(limits, str) else list(limits)
    found: list[Limit] = []
    for item in items:
        found.extend(parse_budgets(item, source="BudgetGuard") if isinstance(item, str) else [item])
    return tuple(found)
