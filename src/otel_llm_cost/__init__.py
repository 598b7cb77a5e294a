"""otel-llm-cost: what every LLM call cost, how long each phase took, and where the tokens went.

The public names are imported on first use (PEP 562), so that ``import otel_llm_cost`` and its
subpackages (the ``otel-llm-cost report`` command among them) do not load the OpenTelemetry SDK glue,
the agent and budget machinery and wrapt until an app uses them.
"""

# Private aliases: every public name of this module is in __all__ (tests/test_public_api.py).
import importlib as _importlib
import typing as _typing

from otel_llm_cost.version import __version__

if _typing.TYPE_CHECKING:
    from otel_llm_cost.agent import agent_step, bind_context, tool_call
    from otel_llm_cost.budget import BudgetGuard, budget_scope
    from otel_llm_cost.errors import BudgetExceeded
    from otel_llm_cost.launch import configure, install_processor
    from otel_llm_cost.live_stats import current_run_stats, stats
    from otel_llm_cost.manual import llm_call
    from otel_llm_cost.metrics import serve_prometheus
    from otel_llm_cost.processor import LLMCostSpanProcessor
    from otel_llm_cost.usage import Usage

# Each public name and the module it lives in.
_HOMES = {
    "BudgetExceeded": "errors",
    "BudgetGuard": "budget",
    "LLMCostSpanProcessor": "processor",
    "Usage": "usage",
    "agent_step": "agent",
    "bind_context": "agent",
    "budget_scope": "budget",
    "configure": "launch",
    "current_run_stats": "live_stats",
    "install_processor": "launch",
    "llm_call": "manual",
    "serve_prometheus": "metrics",
    "stats": "live_stats",
    "tool_call": "agent",
}

__all__ = [
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


def __getattr__(name: str) -> _typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
