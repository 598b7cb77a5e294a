"""What the instrumentation calls: admit a request before sending it, settle it when it ends.

The wrappers call :func:`admit_request` only when a guard is configured. It returns the keyword
arguments to send (with the model replaced when ``on_exceeded`` downgraded the call) and raises
nothing but :class:`~otel_llm_cost.errors.BudgetExceeded`: a fault of ours admits the call
unchecked (logged once) rather than break the application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otel_llm_cost._log import log_once
from otel_llm_cost.errors import BudgetExceeded

if TYPE_CHECKING:
    from otel_llm_cost.budget.guard import BudgetGuard, Ticket

_listening = False


def admit_request(
    guard: BudgetGuard, provider: str, operation: str, kwargs: dict[str, Any]
) -> tuple[Ticket | None, dict[str, Any]]:
    """Ask ``guard`` about a request; returns its ticket (or ``None``) and the kwargs to send.

    Raises:
        BudgetExceeded: the call is refused; nothing was sent.
    """
    _listen()
    model = kwargs.get("model")
    try:
        ticket = guard.admit(
            model=model if isinstance(model, str) else None,
            provider=provider,
            operation=operation,
            request=kwargs,
        )
    except BudgetExceeded:
        raise
    except Exception:
        log_once("budget.admit", "otel-llm-cost could not check a call against its budgets", exc_info=True)
        return None, kwargs
    if ticket is not None and ticket.model != ticket.requested_model:
        kwargs = {**kwargs, "model": ticket.model}
    return ticket, kwargs


def _listen() -> None:
    global _listening
    if not _listening:
        from otel_llm_cost._calls import add_invocation_listener
        from otel_llm_cost.budget.guard import settle_listener

        add_invocation_listener(settle_listener)
        _listening = True
