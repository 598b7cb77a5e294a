"""otel-llm-cost: what every LLM call cost, how long each phase took, and where the tokens went."""

from otel_llm_cost.launch import configure, install_processor
from otel_llm_cost.processor import LLMCostSpanProcessor
from otel_llm_cost.usage import Usage
from otel_llm_cost.version import __version__

__all__ = ["LLMCostSpanProcessor", "Usage", "__version__", "configure", "install_processor"]
