"""Issue #15 (11): set-up mistakes give one clear line naming what to install, and keep every span.

Each case runs ``opentelemetry-instrument`` (or ``configure()``) in a Python whose site-packages is this
one's minus the packages the user forgot (links, no pip).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from otel_llm_cost import attributes as attr
from otel_llm_cost._exporter_check import INSTALL_HINT
from test_zero_code import _env, assert_priced_chat, instrument, python_without

_NO_OTLP = (("opentelemetry_exporter_otlp",), ("opentelemetry/exporter/otlp",))


@pytest.fixture(scope="module")
def python_without_otlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = python_without(tmp_path_factory.mktemp("no-otlp"), *_NO_OTLP)
    check = "import importlib.util as u; print(u.find_spec('opentelemetry.exporter.otlp'))"
    assert subprocess.check_output([python, "-c", check], text=True).strip() == "None"
    return python


@pytest.fixture(scope="module")
def python_without_otlp_or_distro(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dists, modules = _NO_OTLP
    home = tmp_path_factory.mktemp("no-otlp-no-distro")
    return python_without(home, (*dists, "opentelemetry_distro-"), (*modules, "opentelemetry/distro"))


def _records(cwd: Path) -> list[dict]:
    return [json.loads(line) for line in (cwd / "otel-llm-cost-spans.jsonl").read_text().splitlines()]


def _one_clear_line(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    hints = [line for line in stderr.splitlines() if INSTALL_HINT in line]
    assert len(hints) == 1, stderr


def _chat(records: list[dict]) -> dict:
    (chat,) = [r for r in records if r["attributes"].get(attr.GEN_AI_OPERATION_NAME) == "chat"]
    return chat


def test_issue_15_distro_without_an_otlp_exporter_keeps_everything_in_the_jsonl(
    python_without_otlp, tmp_path
):
    done = instrument(
        python_without_otlp, tmp_path, {"OTEL_METRICS_EXPORTER": None, "OTEL_LOGS_EXPORTER": None}
    )
    _one_clear_line(done.stderr)
    assert_priced_chat(_chat(_records(tmp_path))["attributes"])
    assert "1 LLM call," in done.stderr  # the summary, as with the embedded default


def test_issue_15_an_otlp_endpoint_without_an_exporter_keeps_everything_in_the_jsonl(
    python_without_otlp_or_distro, tmp_path
):
    done = instrument(
        python_without_otlp_or_distro, tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    )
    _one_clear_line(done.stderr)
    assert_priced_chat(_chat(_records(tmp_path))["attributes"])


_CONFIGURE_APP = textwrap.dedent(
    """
    import openai
    import otel_llm_cost
    from otel_llm_cost.demo import DemoServer

    otel_llm_cost.configure()  # no provider anywhere
    with DemoServer(first_token_delay=0, chunk_delay=0) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="demo", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    """
)


def test_issue_15_configure_with_no_provider_anywhere_records_to_the_jsonl(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", _CONFIGURE_APP],
        cwd=tmp_path,
        env=_env({}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "configure() found no tracer provider" in done.stderr
    chat = _chat(_records(tmp_path))["attributes"]
    assert chat[attr.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert chat[attr.LLM_COST_COST_STATUS] == "priced"
