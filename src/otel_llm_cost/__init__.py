"""otel-llm-cost: what every LLM call cost, how long each phase took, and where the tokens went."""

from otel_llm_cost.agent import agent_step, bind_context, tool_call
from otel_llm_cost.budget import BudgetGuard, budget_scope
from otel_llm_cost.errors import BudgetExceeded
from otel_llm_cost.launch import configure, install_processor
from otel_llm_cost.live_stats import current_run_stats, stats
from otel_llm_cost.manual import llm_call
from otel_llm_cost.metrics import serve_prometheus
from otel_llm_cost.processor import LLMCostSpanProcessor
from otel_llm_cost.usage import Usage
from otel_llm_cost.version import __version__

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
