"""The :class:`Pricer`: usage + model + provider -> :class:`Cost`, in a few microseconds."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from otel_llm_cost import attributes as attr
from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import log_once
from otel_llm_cost._numbers import plausible_call, read_cost
from otel_llm_cost.environment_variables import OTEL_LLM_COST_PRICES_FILE
from otel_llm_cost.errors import PriceFileError
from otel_llm_cost.pricing._cost import Cost, CostDetail, local_cost, unpriced_cost
from otel_llm_cost.pricing._overrides import PriceOverrides
from otel_llm_cost.pricing._price_file import load_overrides
from otel_llm_cost.pricing._rates import ZERO, Schedule
from otel_llm_cost.pricing._table import PriceTable
from otel_llm_cost.pricing._units import detailed_cost, status_of, ttl_unknown
from otel_llm_cost.usage import ESTIMATED, Usage

UnpricedListener = Callable[[str | None, str | None], None]
"""Called with (model, provider) for every call that could not be priced."""

_SECONDS_PER_DAY = 86_400
# Positions of Usage.units and Usage.iterations: indexing a tuple is the cheapest read on the hot path.
_UNITS, _ITERATIONS = Usage._fields.index("units"), Usage._fields.index("iterations")
_WRITE_5M, _WRITE_1H = (
    Usage._fields.index("cache_write_5m_tokens"),
    Usage._fields.index("cache_write_1h_tokens"),
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class Pricer:
    """Prices calls from genai-prices data and optional user overrides.

    Example::

        cost = Pricer().price(Usage.of(1200, 300, cache_read_tokens=1000), "gpt-4o", "openai")
        cost.amount  # Decimal('0.00475000'): 200 x $2.50 + 1000 x $1.25 + 300 x $10 per MTok

    Args:
        overrides: user prices and aliases (see :func:`load_overrides`), consulted first.
    """

    def __init__(self, overrides: PriceOverrides | None = None) -> None:
        self._table = PriceTable(overrides)
        self._unpriced_count = 0
        self._listeners: tuple[UnpricedListener, ...] = ()
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")

    @classmethod
    def from_environment(cls) -> Pricer:
        """A pricer with the overrides named by ``OTEL_LLM_COST_PRICES_FILE``, if set.

        Raises:
            PriceFileError: the file named there is missing or invalid.
        """
        path = os.environ.get(OTEL_LLM_COST_PRICES_FILE, "").strip()
        return cls(load_overrides(path) if path else None)

    @property
    def unpriced_count(self) -> int:
        """Calls this pricer could not price (unknown model, or an internal failure)."""
        return self._unpriced_count

    @property
    def resolutions(self) -> int:
        """How many (provider, model, day, tier) keys were resolved on the slow path."""
        return self._table.resolutions

    def add_unpriced_listener(self, listener: UnpricedListener) -> None:
        """Call ``listener(model, provider)`` for each unpriced call (e.g. to count it in a metric)."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

    def context_window(self, model: str | None, provider: str | None) -> int | None:
        """The context window in tokens from the price data, or ``None`` when unknown. Never raises."""
        if not model or not isinstance(model, str):
            return None
        try:
            return self._table.context_window(provider if isinstance(provider, str) else None, model)
        except Exception:
            return None

    def warm_up(self) -> None:
        """Load the price data now instead of on the first priced call (it takes ~0.2 s)."""
        self._table.warm_up()

    def price(
        self,
        usage: Usage,
        model: str | None,
        provider: str | None,
        *,
        at: datetime | None = None,
        service_tier: str | None = None,
        provider_cost: Decimal | float | None = None,
    ) -> Cost:
        """Price one call. Never raises.

        Args:
            usage: the call's normalised token usage.
            model: the model name as sent or returned (response model preferred).
            provider: the ``gen_ai.provider.name`` value, or a host for unknown providers.
            at: when the request was made (prices change over time); default now. Naive is UTC.
            service_tier: ``"batch"``, ``"flex"``, ``"priority"``, ... when known.
            provider_cost: a cost the provider or gateway reported (USD); it wins over local prices.

        Returns:
            The cost; ``status == "unpriced"`` and ``amount is None`` when the model is unknown.
        """
        try:
            cost = self._local(usage, model, provider, at, service_tier)
            if usage[_ITERATIONS] is not None and cost.amount is not None:
                cost = self._with_iterations(cost, usage, model, provider, at, service_tier)
            if provider_cost is not None:
                cost = _with_provider_cost(cost, provider_cost)
        except Exception:
            log_once(
                "pricing.failure", "pricing failed for model %r; call left unpriced", model, exc_info=True
            )
            cost = unpriced_cost()
        if cost.amount is not None and not plausible_call(cost.amount, _total_tokens(usage)):
            cost = unpriced_cost(cost.source, attr.COST_IMPLAUSIBLE)
        if cost.amount is None:
            self._count_unpriced(model, provider)
        return cost

    def _local(
        self, usage: Usage, model: str | None, provider: str | None, at: datetime | None, tier: str | None
    ) -> Cost:
        if not model or not isinstance(model, str):
            log_once("pricing.no_model", "a call without a model name cannot be priced")
            return unpriced_cost()
        if provider is not None and not isinstance(provider, str):
            provider = None
        if tier is not None and not isinstance(tier, str):
            tier = None
        day, second = _day_and_second(at)
        schedule = self._table.schedule(provider, model, day, tier)
        if schedule is None:
            return unpriced_cost()
        return _cost(schedule, second, usage)

    def _with_iterations(
        self,
        cost: Cost,
        usage: Usage,
        model: str | None,
        provider: str | None,
        at: datetime | None,
        tier: str | None,
    ) -> Cost:
        """``cost`` plus the iterations billed on top of the totals, each at its own model."""
        parts = dict(cost.parts)
        unpriced = list(cost.unpriced_units)
        extra = ZERO
        for step in usage.extra_iterations:
            step_model = step.model or model
            step_cost = self._local(step.usage, step_model, provider, at, tier)
            unpriced.extend(step_cost.unpriced_units)
            if step_cost.amount is None:
                unpriced.append(f"{step.kind}:{step_model}")
                continue
            parts[step.kind] = parts.get(step.kind, ZERO) + step_cost.amount
            extra += step_cost.amount
        return replace(
            cost,
            status=status_of(usage, unpriced),
            amount=(cost.amount or ZERO) + extra,
            detail=CostDetail(tuple(parts.items()), tuple(dict.fromkeys(unpriced))),
        )

    def _count_unpriced(self, model: str | None, provider: str | None) -> None:
        with self._lock:
            self._unpriced_count += 1
            listeners = self._listeners
        for listener in listeners:
            try:
                listener(model, provider)
            except Exception:
                log_once("pricing.listener", "unpriced-call listener %r failed", listener, exc_info=True)


def _cost(schedule: Schedule, second: int, usage: Usage) -> Cost:
    """The arithmetic of the hot path: pick the rates, multiply, add."""
    counts = _counts(usage)
    input_tokens, output_tokens, cache_read, cache_write, write_1h, reasoning = counts
    rates = schedule.rates_at(second, input_tokens)
    if usage[_UNITS] is not None or (
        cache_write
        and usage[_WRITE_5M] is None
        and usage[_WRITE_1H] is None
        and ttl_unknown(usage, cache_write, rates)
    ):
        return detailed_cost(rates, usage, counts, schedule.version, schedule.model_ref)
    input_ = max(input_tokens - cache_read - cache_write, 0) * rates.input
    output = max(output_tokens - reasoning, 0) * rates.output
    # Most calls have no cache writes or reasoning: skip multiplying zeros.
    read = cache_read * rates.cache_read if cache_read else ZERO
    write = (
        (cache_write - write_1h) * rates.cache_write + write_1h * rates.cache_write_1h
        if cache_write
        else ZERO
    )
    reason = reasoning * rates.reasoning if reasoning else ZERO
    amount = input_ + output + read + write + reason + rates.per_request
    status = attr.COST_ESTIMATED if usage.source == ESTIMATED else attr.COST_PRICED
    return local_cost(
        status, amount, input_, output, read, write, reason, schedule.version, schedule.model_ref
    )


def _counts(usage: Usage) -> tuple[int, int, int, int, int, int]:
    """Input, output, cache read, cache write, 1-hour cache write and reasoning token counts.

    A :class:`Usage` built directly (not with ``Usage.of``) may hold negatives or non-integers; one
    cheap check catches both, and only then is the record repaired.
    """
    counts = (
        usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens,
        usage.cache_write_1h_tokens or 0, usage.reasoning_tokens,
    )  # fmt: skip
    input_tokens, output_tokens, cache_read, cache_write, write_1h, reasoning = counts
    try:
        valid = (input_tokens | output_tokens | cache_read | cache_write | write_1h | reasoning) >= 0
    except TypeError:
        valid = False
    if not valid:
        return _counts(_repaired(usage))
    if write_1h > cache_write:
        return input_tokens, output_tokens, cache_read, cache_write, cache_write, reasoning
    return counts


def _repaired(usage: Usage) -> Usage:
    return Usage.of(
        usage.input_tokens,
        usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        units=usage.units,
        iterations=usage.iterations,
    )


def _day_and_second(at: datetime | None) -> tuple[int, int]:
    """UTC day number since the epoch and second of that day."""
    if at is None:
        now = time.time()
        day = int(now // _SECONDS_PER_DAY)
        return day, int(now - day * _SECONDS_PER_DAY)
    try:
        if at.tzinfo is None or at.tzinfo is UTC:  # the common cases, without a timestamp round trip
            return at.toordinal() - _EPOCH_ORDINAL, (at.hour * 60 + at.minute) * 60 + at.second
        now = at.timestamp()
    except (AttributeError, TypeError, ValueError, OverflowError, OSError):
        log_once("pricing.bad_time", "unusable request time %r; pricing at the current time", at)
        return _day_and_second(None)
    day = int(now // _SECONDS_PER_DAY)
    return day, int(now - day * _SECONDS_PER_DAY)


def _with_provider_cost(local: Cost, provider_cost: Decimal | float) -> Cost:
    """The provider's figure as the amount; our breakdown kept when we had one."""
    amount = _as_decimal(provider_cost)
    if amount is None:
        log_once("pricing.bad_provider_cost", "ignoring unusable provider-reported cost %r", provider_cost)
        return local
    return Cost(
        attr.COST_PRICED, amount, local.input, local.output, local.cache_read, local.cache_write,
        local.reasoning, attr.COST_SOURCE_PROVIDER, "USD", attr.COST_SOURCE_PROVIDER, local.model_ref,
        local.detail and CostDetail(local.detail.parts),
    )  # fmt: skip


def _total_tokens(usage: Usage) -> int:
    inp, out = usage.input_tokens, usage.output_tokens
    return inp + out if type(inp) is int and type(out) is int else 0


def _as_decimal(value: object) -> Decimal | None:
    """A reported cost as Decimal (floats via their shortest repr), or ``None`` if unusable or absurd."""
    return read_cost(value)


_pricer: Pricer | None = None
_pricer_lock = threading.Lock()
reinit_locks_after_fork(__name__, "_pricer_lock")


def get_pricer() -> Pricer:
    """The process-wide pricer; built on first use from ``OTEL_LLM_COST_PRICES_FILE``.

    A bad price file is logged and ignored here (this may run inside an LLM call); call
    :meth:`Pricer.from_environment` at startup to have it raise instead.
    """
    global _pricer
    if _pricer is None:
        with _pricer_lock:
            if _pricer is None:
                _pricer = _default_pricer()
    return _pricer


def set_pricer(pricer: Pricer) -> None:
    """Replace the process-wide pricer (e.g. one built with your overrides)."""
    global _pricer
    with _pricer_lock:
        _pricer = pricer


def _default_pricer() -> Pricer:
    try:
        return Pricer.from_environment()
    except PriceFileError as exc:
        log_once("pricing.price_file", "price overrides not loaded: %s", exc)
        return Pricer()
