"""otel-llm-cost: what every LLM call cost, how long each phase took, and where the tokens went."""

from otel_llm_cost.usage import Usage
from otel_llm_cost.version import __version__

__all__ = ["Usage", "__version__"]
