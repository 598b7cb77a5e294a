"""Budgets from text: the ``OTEL_LLM_COST_BUDGETS`` syntax, budget files, and the guard built from env.

Syntax: limits separated by ``;`` or new lines (``#`` starts a comment), each::

    <key>[=<value>]:<unit>=<amount>/<window>[:<action>]

- ``key``: ``global``, ``model``, ``provider``, ``tenant``, ``user``, ``agent``, ``run`` or any name
  (see :mod:`otel_llm_cost.budget._keys`); ``=<value>`` limits it to matching calls (wildcards
  allowed, e.g. ``model=gpt-4o*``), otherwise each value gets its own budget;
- ``unit``: ``usd``, ``tokens`` or ``calls``; ``amount``: a number (``50``, ``0.25``, ``1e6``);
- ``window``: a number and ``s``, ``m``, ``h``, ``d`` or ``w`` (``10m``, ``1d``; ``h`` = ``1h``);
- ``action``: ``block`` (the default) or ``warn``.

Example: ``global:usd=2/10m; tenant:usd=50/1d:block; model=gpt-4o:tokens=1e6/1h:warn``.
The value may also be the path of a file holding limits in this syntax. Model names containing
``:`` (fine-tuned models) are fine: a limit is read from its right end.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import log_once
from otel_llm_cost.budget._limits import ACTIONS, Limit
from otel_llm_cost.environment_variables import (
    OTEL_LLM_COST_BUDGET_ON_STORE_ERROR,
    OTEL_LLM_COST_BUDGET_STORE,
    OTEL_LLM_COST_BUDGETS,
)
from otel_llm_cost.errors import BudgetConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from otel_llm_cost.budget.guard import BudgetGuard

_ENV_GUARDS: dict[tuple[str, str, str], BudgetGuard] = {}
_ENV_LOCK: Final = threading.Lock()
reinit_locks_after_fork(__name__, "_ENV_LOCK")


def parse_budgets(text: str, *, source: str = OTEL_LLM_COST_BUDGETS) -> list[Limit]:
    """Limits from the budget syntax (or from the file ``text`` names).

    Raises:
        BudgetConfigError: naming ``source``, the offending item and what is wrong.
    """
    text = text.strip()
    if _looks_like_path(text):
        try:
            return parse_budgets(Path(text).expanduser().read_text(encoding="utf-8"), source=text)
        except OSError as error:
            raise BudgetConfigError(f"{source}: cannot read budget file {text!r}: {error}") from None
    limits = []
    for line in text.splitlines():
        for item in line.split("#", 1)[0].split(";"):
            if item.strip():
                limits.append(_parse_item(item.strip(), source))
    return limits


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and ":" not in text.replace(":\\", "") and (
        "/" in text or "\\" in text or text.endswith((".txt", ".conf", ".budgets"))
    )  # fmt: skip


def _parse_item(item: str, source: str) -> Limit:
    parts = item.split(":")
    action = "block"
    if len(parts) >= 3 and parts[-1].strip().lower() in ACTIONS:
        action = parts.pop().strip().lower()
    if len(parts) < 2:
        raise BudgetConfigError(f"{source}: {item!r}: expected <key>:<unit>=<amount>/<window>[:<action>]")
    rule = parts.pop().strip()
    scope = ":".join(parts).strip()
    key, _, value = scope.partition("=")
    unit, eq, rest = rule.partition("=")
    amount, slash, window = rest.partition("/")
    if not eq or not slash:
        raise BudgetConfigError(f"{source}: {item!r}: expected <unit>=<amount>/<window>, got {rule!r}")
    try:
        return Limit(
            key.strip(), unit.strip().lower(), amount.strip(), window.strip(),  # type: ignore[arg-type]
            value=value.strip() or None, action=action,  # type: ignore[arg-type]
        )  # fmt: skip
    except BudgetConfigError as error:
        raise BudgetConfigError(f"{source}: {item!r}: {error}") from None


def guard_from_env(meter_provider: Any = None) -> BudgetGuard | None:
    """The guard ``OTEL_LLM_COST_BUDGETS`` describes, built once per process; ``None`` when unset.

    ``OTEL_LLM_COST_BUDGET_STORE`` (``memory``, or a ``redis://`` URL) picks the store and
    ``OTEL_LLM_COST_BUDGET_ON_STORE_ERROR`` (``open`` or ``closed``) the failure policy. Both
    instrumentors share the guard, so a budget counts OpenAI and Anthropic calls together.

    Raises:
        BudgetConfigError: at set-up, never inside a call.
    """
    spec = os.environ.get(OTEL_LLM_COST_BUDGETS, "").strip()
    if not spec:
        return None
    store_url = os.environ.get(OTEL_LLM_COST_BUDGET_STORE, "memory").strip() or "memory"
    policy = os.environ.get(OTEL_LLM_COST_BUDGET_ON_STORE_ERROR, "open").strip().lower() or "open"
    cache_key = (spec, store_url, policy)
    with _ENV_LOCK:
        guard = _ENV_GUARDS.get(cache_key)
        if guard is None:
            guard = _ENV_GUARDS[cache_key] = _build(spec, store_url, policy, meter_provider)
        return guard


def guard_for(options: Mapping[str, Any]) -> BudgetGuard | None:
    """The guard an instrumentor uses: ``instrument(budget_guard=...)``, else the one from env.

    Never raises: an unusable budget variable (or a store that cannot be built, e.g. ``redis`` not
    installed) is one warning line, and only budgets are off; the instrumentation runs on.
    """
    guard = options.get("budget_guard")
    if guard is not None:
        return guard  # type: ignore[no-any-return]
    try:
        return guard_from_env(options.get("meter_provider"))
    except Exception as error:
        log_once(
            f"budget.env.{type(error).__name__}.{error}",
            "otel-llm-cost: budgets from the environment are OFF (everything else runs): %s",
            error if isinstance(error, BudgetConfigError) else f"{type(error).__name__}: {error}",
        )
        return None


def _build(spec: str, store_url: str, policy: str, meter_provider: Any) -> BudgetGuard:
    from opentelemetry.metrics import get_meter

    from otel_llm_cost._config import SCHEMA_URL
    from otel_llm_cost.budget.guard import BudgetGuard
    from otel_llm_cost.budget.stores import MemoryStore, RedisStore
    from otel_llm_cost.version import __version__

    if policy not in ("open", "closed"):
        raise BudgetConfigError(f"{OTEL_LLM_COST_BUDGET_ON_STORE_ERROR}={policy!r}: use open or closed")
    if store_url == "memory":
        store: Any = MemoryStore()
    elif store_url.startswith(("redis://", "rediss://", "unix://")):
        store = RedisStore(store_url)
    else:
        raise BudgetConfigError(f"{OTEL_LLM_COST_BUDGET_STORE}={store_url!r}: use memory or a redis:// URL")
    meter = get_meter("otel_llm_cost.budget", __version__, meter_provider, schema_url=SCHEMA_URL)
    return BudgetGuard(parse_budgets(spec), store=store, on_store_error=policy, meter=meter)  # type: ignore[arg-type]
