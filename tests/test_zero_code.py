"""``opentelemetry-instrument`` with no code change: with opentelemetry-distro, without it, with another.

"Without" is a real environment without the distribution: a venv made once per session whose
site-packages links to every package of this one except ``opentelemetry-distro`` (no pip, ~1 s).
"Another distro" is a test distribution (dist-info with entry points) put on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
import venv
from collections.abc import Mapping
from pathlib import Path

import pytest

from otel_llm_cost import attributes as attr
from otel_llm_cost import environment_variables
from otel_llm_cost._autoconfig import plan_from_env
from test_export_jsonl import check_record

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "streaming_chat.py"
LAUNCH = "from opentelemetry.instrumentation.auto_instrumentation import run; run()"
# Other GenAI instrumentations installed in the test environment would record each call twice.
OTHERS = "openai,anthropic"


@pytest.fixture(scope="session")
def python_without_distro(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python whose site-packages is this one's minus opentelemetry-distro (module and metadata)."""
    home = tmp_path_factory.mktemp("no-distro-venv")
    python = python_without(home, ("opentelemetry_distro-",), ("opentelemetry/distro",))
    check = "import importlib.util as u, importlib.metadata as m; print(u.find_spec('opentelemetry.distro'))"
    assert subprocess.check_output([python, "-c", check], text=True).strip() == "None"
    return python


def python_without(home: Path, dists: tuple[str, ...], hidden: tuple[str, ...]) -> Path:
    """A venv linking this site-packages minus distributions (dist-info name prefixes) and packages
    (paths under site-packages, e.g. ``opentelemetry/distro``)."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(home)
    python = home / "bin" / "python"
    target = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    source = Path(sysconfig.get_paths()["purelib"])
    gone = {Path(path) for path in hidden}
    parents = {parent for path in gone for parent in path.parents if parent != Path(".")}

    def link(relative: Path) -> None:
        if relative in gone:
            return
        if relative in parents:  # a namespace package holding something hidden: link the rest
            (target / relative).mkdir()
            for child in (source / relative).iterdir():
                link(relative / child.name)
            return
        (target / relative).symlink_to(source / relative)

    for entry in source.iterdir():
        if not entry.name.startswith(dists) and entry.name != "__pycache__":
            link(Path(entry.name))
    return python


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "ANTHROPIC_"))}
    env.pop("PYTHONPATH", None)
    env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = OTHERS
    env["OTEL_METRICS_EXPORTER"] = "none"
    env["OTEL_LOGS_EXPORTER"] = "none"
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def instrument(python: Path | str, cwd: Path, extra: Mapping[str, str], script: Path = EXAMPLE):
    """Run ``opentelemetry-instrument <python> <script>`` (the launcher's own code, from ``python``)."""
    done = subprocess.run(
        [str(python), "-c", LAUNCH, str(python), str(script)],
        cwd=cwd,
        env=_env(extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def console_spans(stdout: str) -> list[dict]:
    """The console exporter prints one indented JSON object per span."""
    decoder, spans, index = json.JSONDecoder(), [], 0
    # A span may follow the example's own output on the same line: find each by its first key.
    while match := re.compile(r'\{\n\s+"name": ').search(stdout, index):
        obj, index = decoder.raw_decode(stdout, match.start())
        if isinstance(obj, dict) and "attributes" in obj:
            spans.append(obj)
    return spans


def assert_priced_chat(attributes: Mapping) -> None:
    assert attributes[attr.GEN_AI_OPERATION_NAME] == "chat"
    assert attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert attributes[attr.GEN_AI_USAGE_COST_AMOUNT] > 0
    assert attributes[attr.LLM_COST_COST_STATUS] == "priced"
    assert attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


def _chat_spans(spans: list[dict]) -> list[dict]:
    return [s for s in spans if s["attributes"].get(attr.GEN_AI_OPERATION_NAME) == "chat"]


# --- opentelemetry-instrument --help -----------------------------------------------------------------


def test_help_lists_every_variable_of_ours():
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    ours = [name for name in dir(environment_variables) if name.startswith("OTEL_LLM_COST_")]
    assert {"OTEL_LLM_COST_JSONL_PATH", "OTEL_LLM_COST_SUMMARY", "OTEL_LLM_COST_AUTO_CONFIGURE"} <= set(ours)
    for name in ours:
        assert f"--{name.removeprefix('OTEL_').lower()}" in done.stdout


# --- with and without opentelemetry-distro ----------------------------------------------------------


@pytest.mark.parametrize("distro", ["with-distro", "without-distro"])
def test_console_exporter_gets_a_priced_llm_span(distro, request, tmp_path):
    python = sys.executable if distro == "with-distro" else request.getfixturevalue("python_without_distro")
    done = instrument(python, tmp_path, {"OTEL_TRACES_EXPORTER": "console"})
    (span,) = _chat_spans(console_spans(done.stdout))
    assert_priced_chat(span["attributes"])
    assert span["resource"]["attributes"]["telemetry.auto.version"]
    assert not (tmp_path / "otel-llm-cost-spans.jsonl").exists()


def test_disabling_our_instrumentor_by_name_switches_it_off(python_without_distro, tmp_path):
    """(With opentelemetry-distro: tests/test_launch.py.)"""
    python = python_without_distro
    extra = {
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": f"{OTHERS},llm_cost_openai,llm_cost_wire",
    }
    done = instrument(python, tmp_path, extra)
    assert _chat_spans(console_spans(done.stdout)) == []


def test_without_settings_spans_go_to_the_jsonl_file_and_a_summary(python_without_distro, tmp_path):
    done = instrument(python_without_distro, tmp_path, {})
    lines = (tmp_path / "otel-llm-cost-spans.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:
        check_record(record)
    (chat,) = [r for r in records if r["attributes"].get(attr.GEN_AI_OPERATION_NAME) == "chat"]
    assert_priced_chat(chat["attributes"])
    summary = [line for line in done.stderr.splitlines() if line.startswith("otel-llm-cost: ")]
    assert summary == [line for line in summary if "1 LLM call," in line] and len(summary) == 1
    assert "gpt-4o-mini" in done.stderr
    assert "spans: otel-llm-cost-spans.jsonl" in done.stderr


def test_the_jsonl_path_and_the_summary_are_configurable(python_without_distro, tmp_path):
    path = tmp_path / "state" / "calls.jsonl"
    extra = {"OTEL_LLM_COST_JSONL_PATH": str(path), "OTEL_LLM_COST_SUMMARY": "false"}
    done = instrument(python_without_distro, tmp_path, extra)
    assert len(_chat_spans([json.loads(line) for line in path.read_text().splitlines()])) == 1
    assert "otel-llm-cost: " not in done.stderr


def test_auto_configure_false_leaves_the_sdk_unconfigured(python_without_distro, tmp_path):
    done = instrument(python_without_distro, tmp_path, {"OTEL_LLM_COST_AUTO_CONFIGURE": "false"})
    assert not (tmp_path / "otel-llm-cost-spans.jsonl").exists()
    assert "LLM call" not in done.stderr
    assert "is not an SDK provider" in done.stderr  # the processor had nothing to attach to


def test_two_exporters_at_once(python_without_distro, tmp_path):
    """OTEL_TRACES_EXPORTER takes a list: here the console and our JSONL file."""
    done = instrument(python_without_distro, tmp_path, {"OTEL_TRACES_EXPORTER": "console,llm_cost_jsonl"})
    (printed,) = _chat_spans(console_spans(done.stdout))
    lines = (tmp_path / "otel-llm-cost-spans.jsonl").read_text().splitlines()
    (written,) = _chat_spans([json.loads(line) for line in lines])
    assert written["span_id"] == printed["context"]["span_id"].removeprefix("0x")
    assert_priced_chat(written["attributes"])


# --- another distro ---------------------------------------------------------------------------------

_ACME = textwrap.dedent(
    """
    import os
    from opentelemetry import trace
    from opentelemetry.instrumentation.distro import BaseDistro
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor


    class AcmeDistro(BaseDistro):
        def _configure(self, **kwargs):
            os.environ.setdefault("ACME_DISTRO_RAN", "1")


    class AcmeConfigurator:
        def configure(self, **kwargs):
            provider = TracerProvider(resource=Resource.create({"acme.distro": True}))
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
            trace.set_tracer_provider(provider)
    """
)


@pytest.fixture
def acme_distro(tmp_path: Path) -> Path:
    """A vendor distro with a configurator of its own, 'installed' on PYTHONPATH."""
    site = tmp_path / "acme-site"
    (site / "acme_distro-1.0.dist-info").mkdir(parents=True)
    (site / "acme_distro.py").write_text(_ACME)
    (site / "acme_distro-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-distro\nVersion: 1.0\n"
    )
    (site / "acme_distro-1.0.dist-info" / "entry_points.txt").write_text(
        "[opentelemetry_distro]\nacme = acme_distro:AcmeDistro\n\n"
        "[opentelemetry_configurator]\nacme = acme_distro:AcmeConfigurator\n"
    )
    return site


def test_another_distros_provider_gets_our_processor(python_without_distro, acme_distro, tmp_path):
    done = instrument(python_without_distro, tmp_path, {"PYTHONPATH": str(acme_distro)})
    (span,) = _chat_spans(console_spans(done.stdout))
    assert span["resource"]["attributes"]["acme.distro"] is True
    assert_priced_chat(span["attributes"])
    assert not (tmp_path / "otel-llm-cost-spans.jsonl").exists()  # theirs configured the SDK, not us


def test_two_distros_are_named_in_a_warning(acme_distro, tmp_path):
    """With opentelemetry-distro and another, which one ran depends on install order: we say so."""
    extra = {"PYTHONPATH": str(acme_distro), "OTEL_TRACES_EXPORTER": "console"}
    done = instrument(sys.executable, tmp_path, extra)
    (warning,) = [line for line in done.stderr.splitlines() if "OpenTelemetry distros are installed" in line]
    assert "acme" in warning and "distro" in warning and "OTEL_PYTHON_DISTRO" in warning
    # Whichever configurator won, the call was recorded and priced.
    (span,) = _chat_spans(console_spans(done.stdout))
    assert_priced_chat(span["attributes"])


def test_naming_a_distro_silences_the_warning(acme_distro, tmp_path):
    extra = {"PYTHONPATH": str(acme_distro), "OTEL_PYTHON_DISTRO": "acme", "OTEL_PYTHON_CONFIGURATOR": "acme"}
    done = instrument(sys.executable, tmp_path, extra)
    assert "OpenTelemetry distros are installed" not in done.stderr
    (span,) = _chat_spans(console_spans(done.stdout))
    assert span["resource"]["attributes"]["acme.distro"] is True


# --- the decision, in-process -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "embedded", "summary", "traces_exporter"),
    [
        ({}, True, True, None),
        ({"OTEL_LLM_COST_SUMMARY": "false"}, True, False, None),
        ({"OTEL_TRACES_EXPORTER": "console"}, False, False, None),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_LLM_COST_SUMMARY": "true"}, False, True, None),
        ({"OTEL_TRACES_EXPORTER": "none"}, False, False, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False, False, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, False, False, "otlp"),
        ({"OTEL_CONFIG_FILE": "otel.yaml"}, False, False, None),
    ],
)
def test_plan_from_env(env, embedded, summary, traces_exporter):
    plan = plan_from_env(env)
    assert (plan.embedded, plan.summary) == (embedded, summary)
    assert plan.env_defaults.get("OTEL_TRACES_EXPORTER") == traces_exporter
    assert plan.env_defaults["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
