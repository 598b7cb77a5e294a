"""User price files: models, aliases, prefixes, local $0, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from otel_llm_cost.environment_variables import OTEL_LLM_COST_PRICES_FILE
from otel_llm_cost.errors import ConfigurationError, OtelLLMCostError, PriceFileError
from otel_llm_cost.pricing import Pricer, get_pricer, load_overrides, set_pricer
from otel_llm_cost.usage import Usage

AT = datetime(2026, 11, 1, tzinfo=UTC)

PRICES_TOML = """\
strip_prefixes = ["litellm_proxy/"]

[models."ft:gpt-4o-mini-2024-07-18:acme::*"]
input = "0.30"
output = "1.20"
cache_read = "0.15"

[models."llama3.1:8b"]
provider = "ollama"
input = 0
output = 0

[models."house-model"]
input = 0.5
output = "2"
cache_write = "0.625"
cache_write_1h = "1"
reasoning = "4"

[aliases]
"prod-gpt4o" = "gpt-4o"
"arn:aws:bedrock:*:application-inference-profile/*" = { model = "claude-3-5-haiku-20241022", \
provider = "anthropic" }
"""


@pytest.fixture
def prices_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES_TOML, encoding="utf-8")
    return path


@pytest.fixture
def pricer(prices_file: Path) -> Pricer:
    return Pricer(load_overrides(prices_file))


def test_override_model_with_wildcard(pricer: Pricer, prices_file: Path):
    # $0.30 input, $0.15 cached input, $1.20 output per MTok, from the file.
    usage = Usage.of(10_000, 1_000, cache_read_tokens=4_000)
    cost = pricer.price(usage, "ft:gpt-4o-mini-2024-07-18:acme::AbC123", "openai", at=AT)
    assert cost.amount == Decimal("0.0018") + Decimal("0.0006") + Decimal("0.0012")
    assert cost.pricing_version == f"overrides:{prices_file}"
    assert cost.model_ref == "ft:gpt-4o-mini-2024-07-18:acme::AbC123"


def test_override_defaults_and_every_field(pricer: Pricer):
    # house-model: $0.50 input, $2 output, $0.625 5m write, $1 1h write, $4 reasoning; reads at input.
    usage = Usage.of(
        1_000_000, 1_000_000, cache_read_tokens=100_000, cache_write_tokens=300_000,
        cache_write_1h_tokens=100_000, reasoning_tokens=250_000,
    )  # fmt: skip
    cost = pricer.price(usage, "House-Model", "self.hosted.example")
    assert cost.input == Decimal("0.3")  # 600k uncached x $0.50
    assert cost.cache_read == Decimal("0.05")  # 100k x $0.50
    assert cost.cache_write == Decimal("0.125") + Decimal("0.1")
    assert cost.output == Decimal("1.5")
    assert cost.reasoning == Decimal("1")


def test_local_model_is_zero_only_where_the_user_says(pricer: Pricer):
    free = pricer.price(Usage.of(5_000, 500), "llama3.1:8b", "ollama")
    other = pricer.price(Usage.of(5_000, 500), "qwen2.5:7b", "ollama")
    elsewhere = pricer.price(Usage.of(5_000, 500), "llama3.1:8b", "groq")
    assert (free.status, free.amount) == ("priced", Decimal(0))
    assert other.status == elsewhere.status == "unpriced"


def test_alias_resolves_to_a_genai_prices_model(pricer: Pricer, shared_pricer: Pricer):
    usage = Usage.of(10_000, 1_000)
    via_alias = pricer.price(usage, "prod-gpt4o", "azure.ai.openai", at=AT)
    direct = shared_pricer.price(usage, "gpt-4o", "azure.ai.openai", at=AT)
    assert direct.amount is not None
    assert via_alias.amount == direct.amount
    assert shared_pricer.price(usage, "prod-gpt4o", "azure.ai.openai", at=AT).status == "unpriced"


def test_alias_with_provider_and_gateway_prefix(pricer: Pricer, shared_pricer: Pricer):
    usage = Usage.of(10_000, 1_000)
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    expected = shared_pricer.price(usage, "claude-3-5-haiku-20241022", "anthropic", at=AT).amount
    assert pricer.price(usage, arn, "aws.bedrock", at=AT).amount == expected
    prefixed = pricer.price(usage, "litellm_proxy/gpt-4o", "openai", at=AT)
    assert prefixed.amount == shared_pricer.price(usage, "gpt-4o", "openai", at=AT).amount


def test_yaml_file(tmp_path: Path):
    path = tmp_path / "prices.yaml"
    path.write_text('models:\n  my-model:\n    input: "1"\n    output: 2\naliases:\n  m: my-model\n')
    cost = Pricer(load_overrides(path)).price(Usage.of(1_000_000, 1_000_000), "m", None)
    assert cost.amount == Decimal(3)


BAD_FILES = [
    # (file name, content, line, field, words in the reason)
    ("bad.toml", '[models."x"]\ninput = "1"\noutput = "cheap"\n', 3, "models.x.output", "not a price"),
    ("bad.toml", '[models."x"]\ninput = "1"\nouput = "2"\n', 3, "models.x.ouput", "unknown field"),
    ("bad.toml", '\n[models."a.b"]\noutput = "2"\n', 2, 'models."a.b".input', "missing"),
    ("bad.toml", '[models."x"]\ninput = -1\noutput = 1\n', 2, "models.x.input", ">= 0"),
    ("bad.toml", '[aliases]\n"y" = { provider = "openai" }\n', 2, "aliases.y.model", "missing"),
    ("bad.toml", "[models.x\ninput = 1\n", 1, None, "invalid TOML"),
    ("bad.yaml", "models:\n  x:\n    input: 1\n    output: [2]\n", 4, "models.x.output", "not a price"),
    ("bad.yaml", "models:\n  x: [1\n", 3, None, "invalid YAML"),
]


@pytest.mark.parametrize(("name", "content", "line", "field", "reason"), BAD_FILES)
def test_bad_file_error_names_file_line_and_field(tmp_path: Path, name, content, line, field, reason):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PriceFileError) as caught:
        load_overrides(path)
    error = caught.value
    assert (error.path, error.line, error.field) == (str(path), line, field)
    assert reason in error.reason
    assert str(error).startswith(f"{path}:{line}:")
    if field:
        assert f" {field}: " in str(error)


def test_missing_file_is_a_configuration_error(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="cannot read") as caught:
        load_overrides(tmp_path / "nope.toml")
    assert isinstance(caught.value, OtelLLMCostError)


def test_environment_variable_selects_the_file(monkeypatch: pytest.MonkeyPatch, prices_file: Path):
    monkeypatch.setenv(OTEL_LLM_COST_PRICES_FILE, str(prices_file))
    cost = Pricer.from_environment().price(Usage.of(1_000, 100), "llama3.1:8b", "ollama")
    assert cost.amount == Decimal(0)


def test_global_pricer_ignores_a_bad_file_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog
):
    import otel_llm_cost.pricing._pricer as pricer_module

    bad = tmp_path / "bad.toml"
    bad.write_text("[models.x]\ninput = 1\n", encoding="utf-8")
    monkeypatch.setenv(OTEL_LLM_COST_PRICES_FILE, str(bad))
    monkeypatch.setattr(pricer_module, "_pricer", None)
    pricer = get_pricer()
    assert get_pricer() is pricer
    assert "price overrides not loaded" in caplog.text
    replacement = Pricer()
    set_pricer(replacement)
    assert get_pricer() is replacement
