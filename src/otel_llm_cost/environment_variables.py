"""Environment variables read by otel-llm-cost.

``OTEL_LLM_COST_PRICES_FILE``
    Path of a price override file (TOML, or YAML when PyYAML is installed) with prices of models
    genai-prices does not know (fine-tuned, self-hosted, private) and aliases (Azure deployment names,
    Bedrock inference-profile ARNs, gateway prefixes). See :func:`otel_llm_cost.pricing.load_overrides`.

``OTEL_LLM_COST_AUTO_CONFIGURE``
    ``true`` (default) or ``false``. Under ``opentelemetry-instrument``, when no distro or configurator
    built an SDK tracer provider (``opentelemetry-distro`` not installed), otel-llm-cost builds one from
    the standard ``OTEL_*`` variables, as ``opentelemetry-distro``'s configurator would, without its
    OTLP defaults. ``false``: never; your application sets its own provider.

``OTEL_LLM_COST_JSONL_PATH``
    The JSON-lines file spans are appended to by the embedded default and by the ``llm_cost_jsonl``
    traces exporter; default ``otel-llm-cost-spans.jsonl`` in the working directory.

``OTEL_LLM_COST_SUMMARY``
    ``true`` or ``false``: print a one-screen summary of LLM calls, tokens and cost to stderr at exit.
    Default: on when the embedded default (the JSONL file) is in use, off otherwise.

``OTEL_LLM_COST_BUDGETS``
    Budget limits checked before each LLM call is sent, e.g.
    ``global:usd=2/10m; tenant:usd=50/1d:block; model=gpt-4o:tokens=1e6/1h:warn``, or the path of a
    file holding such limits. See :mod:`otel_llm_cost.budget._config` for the syntax.

``OTEL_LLM_COST_BUDGET_STORE``
    Where budget use is kept: ``memory`` (default, this process) or a ``redis://`` URL shared by a fleet.

``OTEL_LLM_COST_WIRE_HOSTS``
    More hosts whose LLM API requests the wire capture (beneath ``httpx`` / ``httpx2``) records, beside
    the provider table's and private (self-hosted) ones: comma-separated ``host`` or ``host=provider``
    entries, e.g. ``llm-gateway.corp.example, ai.example.com=openai``. Without ``=provider`` the host
    names the provider and models are priced by their maker. Read once, when instrumenting.

``OTEL_LLM_COST_BUDGET_ON_STORE_ERROR``
    ``open`` (default: admit calls, with a warning) or ``closed`` (refuse them) while the budget store
    cannot be reached.
"""

from typing import Final

OTEL_LLM_COST_PRICES_FILE: Final = "OTEL_LLM_COST_PRICES_FILE"
OTEL_LLM_COST_AUTO_CONFIGURE: Final = "OTEL_LLM_COST_AUTO_CONFIGURE"
OTEL_LLM_COST_JSONL_PATH: Final = "OTEL_LLM_COST_JSONL_PATH"
OTEL_LLM_COST_SUMMARY: Final = "OTEL_LLM_COST_SUMMARY"
OTEL_LLM_COST_BUDGETS: Final = "OTEL_LLM_COST_BUDGETS"
OTEL_LLM_COST_BUDGET_STORE: Final = "OTEL_LLM_COST_BUDGET_STORE"
OTEL_LLM_COST_BUDGET_ON_STORE_ERROR: Final = "OTEL_LLM_COST_BUDGET_ON_STORE_ERROR"
OTEL_LLM_COST_WIRE_HOSTS: Final = "OTEL_LLM_COST_WIRE_HOSTS"
