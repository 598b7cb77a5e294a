"""Environment variables read by otel-llm-cost.

``OTEL_LLM_COST_PRICES_FILE``
    Path of a price override file (TOML, or YAML when PyYAML is installed) with prices of models
    genai-prices does not know (fine-tuned, self-hosted, private) and aliases (Azure deployment names,
    Bedrock inference-profile ARNs, gateway prefixes). See :func:`otel_llm_cost.pricing.load_overrides`.
"""

from typing import Final

OTEL_LLM_COST_PRICES_FILE: Final = "OTEL_LLM_COST_PRICES_FILE"
