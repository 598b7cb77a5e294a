"""The public surface of otel_llm_cost.pricing, and the span attributes of a cost."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import otel_llm_cost.pricing as pricing
from otel_llm_cost import attributes as attr
from otel_llm_cost.pricing import Cost, Pricer, cost_attributes
from otel_llm_cost.usage import Usage


def test_exported_members():
    assert sorted(pricing.__all__) == [
        "Cost",
        "PriceOverrides",
        "Pricer",
        "UnpricedListener",
        "cost_attributes",
        "get_pricer",
        "load_overrides",
        "set_pricer",
    ]
    assert pricing.Cost.__module__ == "otel_llm_cost.pricing"


def test_pricing_imports_no_opentelemetry():
    package = Path(pricing.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.startswith("opentelemetry") for name in names), module.name


def test_cost_attributes_priced():
    cost = Cost(
        "priced", Decimal("0.048"), Decimal("0.003"), Decimal("0.012"), Decimal("0.006"),
        Decimal("0.027"), Decimal(0), pricing_version="genai-prices 0.2.3", model_ref="claude-sonnet-4-5",
    )  # fmt: skip
    assert cost_attributes(cost, mirror=True) == {
        attr.GEN_AI_USAGE_COST_AMOUNT: 0.048,
        attr.GEN_AI_USAGE_COST: 0.048,
        attr.GEN_AI_USAGE_COST_CURRENCY: "USD",
        attr.GEN_AI_USAGE_COST_SOURCE: "local",
        attr.LLM_COST_COST_INPUT: 0.003,
        attr.LLM_COST_COST_OUTPUT: 0.012,
        attr.LLM_COST_COST_CACHE_READ: 0.006,
        attr.LLM_COST_COST_CACHE_WRITE: 0.027,
        attr.LLM_COST_COST_STATUS: "priced",
        attr.LLM_COST_PRICING_VERSION: "genai-prices 0.2.3",
        attr.LLM_COST_PRICING_MODEL: "claude-sonnet-4-5",
    }  # the zero reasoning part is left out: absent reads as $0


def test_cost_attributes_unpriced_omit_amount_and_parts():
    zero = Decimal(0)
    attributes = cost_attributes(Cost("unpriced", None, zero, zero, zero, zero, zero))
    assert attributes == {
        attr.GEN_AI_USAGE_COST_CURRENCY: "USD",
        attr.GEN_AI_USAGE_COST_SOURCE: "local",
        attr.LLM_COST_COST_STATUS: "unpriced",
    }


def test_import_is_light_and_offline():
    code = (
        "import socket, sys\n"
        "def refuse(*args, **kwargs): raise AssertionError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import otel_llm_cost.pricing as pricing\n"
        "assert 'genai_prices' not in sys.modules, 'genai-prices imported eagerly'\n"
        "from otel_llm_cost.usage import Usage\n"
        "cost = pricing.Pricer().price(Usage.of(10, 10), 'gpt-4o', 'openai')\n"
        "assert cost.status == 'priced', cost\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_price_file_docstring_example_loads(tmp_path: Path):
    from otel_llm_cost.pricing import _price_file, load_overrides

    doc = _price_file.__doc__ or ""
    example = doc.split("::\n", 1)[1].split("\nA ``.yaml``", 1)[0]
    path = tmp_path / "prices.toml"
    path.write_text(textwrap.dedent(example), encoding="utf-8")
    overrides = load_overrides(path)
    assert len(overrides.models) == 2
    assert len(overrides.aliases) == 2
    assert overrides.strip_prefixes == ("litellm_proxy/",)


def test_cost_attributes_provider_total_without_breakdown(shared_pricer):
    from otel_llm_cost.usage import Usage

    cost = shared_pricer.price(Usage.of(10, 10), "acme/secret", "openrouter", provider_cost="0.25")
    assert cost_attributes(cost) == {
        attr.GEN_AI_USAGE_COST_AMOUNT: 0.25,
        attr.GEN_AI_USAGE_COST_CURRENCY: "USD",
        attr.GEN_AI_USAGE_COST_SOURCE: "provider",
        attr.LLM_COST_COST_STATUS: "priced",
        attr.LLM_COST_PRICING_VERSION: "provider",
    }


def test_unknown_host_prices_a_model_by_the_provider_that_lists_it() -> None:
    """A gateway or proxy host: the model id alone finds OpenAI's embedding price ($0.02 / MTok)."""
    cost = Pricer().price(Usage.of(1_000_000, 0), "text-embedding-3-small", "llm-gateway.internal")
    assert cost.status == "priced"
    assert cost.amount == Decimal("0.02")


def test_local_servers_are_not_priced_from_public_data_even_for_a_listed_model() -> None:
    cost = Pricer().price(Usage.of(1_000_000, 0), "text-embedding-3-small", "ollama")
    assert cost.status == "unpriced"
