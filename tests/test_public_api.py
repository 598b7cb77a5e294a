"""The public surface is what ``otel_llm_cost/__init__.py`` re-exports, pinned: changes are deliberate."""

from __future__ import annotations

import otel_llm_cost

PUBLIC = [
    "BudgetExceeded",
    "BudgetGuard",
    "LLMCostSpanProcessor",
    "Usage",
    "__version__",
    "agent_step",
    "bind_context",
    "budget_scope",
    "configure",
    "current_run_stats",
    "install_processor",
    "llm_call",
    "serve_prometheus",
    "stats",
    "tool_call",
]


def test_all_is_pinned_and_sorted():
    assert otel_llm_cost.__all__ == PUBLIC


def test_every_public_name_resolves():
    for name in otel_llm_cost.__all__:
        assert getattr(otel_llm_cost, name) is not None, name


def test_nothing_public_is_left_out_of_all():
    # dir(), not vars(): the public names are imported on first use (PEP 562).
    exported = {name for name in dir(otel_llm_cost) if not name.startswith("_")}
    modules = {name for name in exported if type(getattr(otel_llm_cost, name)).__name__ == "module"}
    assert exported - modules == set(PUBLIC) - {"__version__"}
