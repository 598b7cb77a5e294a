"""The one table from OTel ``gen_ai.provider.name`` values to genai-prices provider ids."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from otel_llm_cost.providers import SELF_HOSTED as SELF_HOSTED  # re-exported for _genai

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

LOCAL_PROVIDERS: Final = frozenset(
    {"ollama", "vllm", "lmstudio", "lm_studio", "llama.cpp", "localai", "tgi", SELF_HOSTED}
)
"""Self-hosted servers (:mod:`otel_llm_cost.providers` names them): never priced from public data (a
local Llama is not Groq's Llama); they cost what the override file says, $0 included, or stay unpriced.
The one exception is :data:`SELF_HOSTED`, a private host of unknown kind."""

# SELF_HOSTED, a private host that may be a gateway: a proprietary model there (a local proxy forwarding
# ``gpt-4o``) is priced as its maker's; an open-weight one stays unpriced.

PROPRIETARY_MAKERS: Final = ("openai", "anthropic", "google", "x-ai")
"""genai-prices providers whose models only their maker serves, the open-weight ones aside."""

OPEN_WEIGHT_PREFIXES: Final = ("gpt-oss", "gemma", "llama", "mistral", "mixtral", "qwen", "phi", "olmo")
"""Model names that are open weights even where a proprietary maker's price list carries them."""
