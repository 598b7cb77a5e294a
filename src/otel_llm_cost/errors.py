"""The exceptions otel-llm-cost raises to its caller.

Instrumentation never raises into the application, with one deliberate exception: a budget guard
refusing a call (:class:`BudgetExceeded`), raised before the request is sent. The others reach users
only from explicit setup calls (loading a price file, configuring the package)::

    OtelLLMCostError
    ├── ConfigurationError
    │   ├── PriceFileError
    │   └── BudgetConfigError
    └── BudgetExceeded
        └── BudgetUnavailable
"""

from __future__ import annotations

import os
from decimal import Decimal

__all__ = [
    "BudgetConfigError",
    "BudgetExceeded",
    "BudgetUnavailable",
    "ConfigurationError",
    "OtelLLMCostError",
    "PriceFileError",
]


class OtelLLMCostError(Exception):
    """Base class of every exception otel-llm-cost raises."""


class ConfigurationError(OtelLLMCostError):
    """A setting, environment variable or configuration file is unusable."""


class PriceFileError(ConfigurationError):
    """A price override file cannot be read or holds an invalid entry.

    The message names the file, the line (when it is known) and the offending field, e.g.
    ``prices.toml:7: models."my-model".input: not a price: 'cheap'``.

    Attributes:
        path: the file.
        line: 1-based line number, or ``None`` when the parser does not say.
        field: dotted name of the offending field, or ``None`` for a syntax error.
        reason: what is wrong, without the location.
    """

    def __init__(
        self, path: str | os.PathLike[str], reason: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.field = field
        self.reason = reason
        location = self.path if line is None else f"{self.path}:{line}"
        subject = f" {field}:" if field else ""
        super().__init__(f"{location}:{subject} {reason}")


class BudgetConfigError(ConfigurationError):
    """A budget specification (``OTEL_LLM_COST_BUDGETS``, a budget file, or a ``Limit``) is invalid.

    The message names the offending item and what is wrong with it, e.g.
    ``OTEL_LLM_COST_BUDGETS: 'tenant:usd=5/10x': unknown window unit 'x' (use s, m, h, d or w)``.
    """


class BudgetExceeded(OtelLLMCostError):
    """A budget guard refused an LLM call before it was sent (nothing reached the network).

    Example::

        try:
            client.chat.completions.create(model="gpt-4o", messages=messages, max_tokens=500)
        except BudgetExceeded as refused:
            print(refused.key, refused.spend, refused.limit, refused.window)

    Attributes:
        key: the budget that refused the call, e.g. ``"tenant=acme"`` or ``"global"``.
        limit: the limit, in ``unit``.
        window: the sliding window, in seconds.
        spend: settled plus reserved use in the window before this call, in ``unit``; ``None`` when
            the budget store could not be read (:class:`BudgetUnavailable`).
        unit: ``"usd"``, ``"tokens"`` or ``"calls"``.
        requested: this call's worst-case estimate, in ``unit``.
        model: the model the call asked for.
    """

    def __init__(
        self,
        key: str,
        limit: Decimal,
        window: int,
        spend: Decimal | None,
        *,
        unit: str = "usd",
        requested: Decimal = Decimal(0),
        model: str | None = None,
        message: str | None = None,
    ) -> None:
        self.key = key
        self.limit = limit
        self.window = window
        self.spend = spend
        self.unit = unit
        self.requested = requested
        self.model = model
        super().__init__(message or self._describe())

    def _describe(self) -> str:
        per = f"per {format_window(self.window)}"
        return (
            f"LLM budget {self.key} exceeded: {_amount(self.spend, self.unit)} of "
            f"{_amount(self.limit, self.unit)} {per} already spent or reserved; this call "
            f"({self.model or 'unknown model'}) may use up to {_amount(self.requested, self.unit)}"
        )


class BudgetUnavailable(BudgetExceeded):
    """The shared budget store could not be reached and the guard is set to fail closed."""


def format_window(seconds: int) -> str:
    """``600`` -> ``"10m"``; the largest unit that divides the window exactly."""
    for size, unit in ((604800, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _amount(value: Decimal | None, unit: str) -> str:
    if value is None:
        return "unknown"
    if unit == "usd":
        return f"${value.normalize():f}" if value else "$0"
    return f"{value.normalize():f} {unit}"
