"""The one table from OTel ``gen_ai.provider.name`` values to genai-prices provider ids."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

GENAI_PRICES_PROVIDER_IDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "openai": "openai",
        "anthropic": "anthropic",
        "azure.ai.openai": "azure",
        "azure.ai.inference": "azure",
        "aws.bedrock": "aws",
        "gcp.vertex_ai": "google",
        "gcp.gemini": "google",
        "gcp.gen_ai": "google",
        "groq": "groq",
        "deepseek": "deepseek",
        "mistral_ai": "mistral",
        "x_ai": "x-ai",
        "cohere": "cohere",
        "perplexity": "perplexity",
        "openrouter": "openrouter",
        "together": "together",
        "together_ai": "together",
        "fireworks": "fireworks",
        "cerebras": "cerebras",
        "novita": "novita",
        "moonshot_ai": "moonshotai",
        "moonshot": "moonshotai",  # the name we emitted before #18; spans recorded then still price
    }
)
"""Known providers. A model missing under its mapped provider stays unpriced: guessing another
provider's price for, say, an Azure deployment name would be a wrong number, not a missing one."""

LOCAL_PROVIDERS: Final = frozenset({"ollama", "vllm", "lmstudio", "llama.cpp", "localai"})
"""Self-hosted servers: never priced from public data (a local Llama is not Groq's Llama); they cost
what the override file says, $0 included, or stay unpriced."""
