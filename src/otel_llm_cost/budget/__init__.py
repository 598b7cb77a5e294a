"""Budget guardrails: spend, token and call limits checked before each LLM call is sent.

Example::

    from otel_llm_cost.budget import BudgetGuard, budget_scope

    guard = BudgetGuard("global:usd=2/10m; tenant:usd=50/1d")
    otel_llm_cost.configure(tracer_provider=provider, budget_guard=guard)
    with budget_scope(tenant="acme"):
        client.chat.completions.create(...)   # BudgetExceeded once acme's $50 a day is spent

Or with no code: ``OTEL_LLM_COST_BUDGETS="global:usd=2/10m; tenant:usd=50/1d"``
(:mod:`._config` has the syntax). :mod:`.guard` admits calls, :mod:`.windows` counts them per
sliding window, :mod:`.stores` keeps the counts (in memory, or in Redis for a fleet).
"""

from otel_llm_cost.budget._config import guard_from_env, parse_budgets
from otel_llm_cost.budget._keys import budget_scope, current_scope
from otel_llm_cost.budget._limits import Limit
from otel_llm_cost.budget.guard import BudgetBreach, BudgetGuard, OnExceeded, Ticket
from otel_llm_cost.budget.stores import BudgetStore, MemoryStore, RedisStore
from otel_llm_cost.errors import BudgetExceeded, BudgetUnavailable

__all__ = [
    "BudgetBreach",
    "BudgetExceeded",
    "BudgetGuard",
    "BudgetStore",
    "BudgetUnavailable",
    "Limit",
    "MemoryStore",
    "OnExceeded",
    "RedisStore",
    "Ticket",
    "budget_scope",
    "current_scope",
    "guard_from_env",
    "parse_budgets",
]

for _obj in (BudgetBreach, BudgetGuard, Limit, MemoryStore, RedisStore, budget_scope, parse_budgets):
    _obj.__module__ = __name__
del _obj
