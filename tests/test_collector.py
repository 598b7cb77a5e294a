"""collector/: every configuration parses and is consistent; every dashboard query is valid PromQL
(``promtool``) and returns data from a real Prometheus scraping our metrics.

Docker is not needed: the Compose file, the collector configurations and the Grafana provisioning are
checked as data. The dashboard's PromQL runs against Prometheus scraping
:func:`otel_llm_cost.serve_prometheus`, which names metrics as the collector's Prometheus exporter
does (OpenTelemetry's Prometheus naming: dots to underscores, unit suffix, ``_total`` on counters).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost import serve_prometheus
from otel_llm_cost._config import GEN_AI_LATEST_EXPERIMENTAL, SEMCONV_STABILITY_OPT_IN, semconv_latest
from otel_llm_cost.agent import agent_step
from otel_llm_cost.demo import DemoServer
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.launch import install_processor
from test_prometheus_e2e import Prometheus, prometheus_binary, wait_for

COLLECTOR = Path(__file__).resolve().parents[1] / "collector"
COLLECTOR_CONFIGS = ["otel-collector.yaml", "gateway-loadbalancer.yaml", "gateway-sampler.yaml"]
DASHBOARD = COLLECTOR / "grafana" / "dashboards" / "llm-cost.json"
# Component types of the contrib distribution that the configurations may use.
KNOWN = {
    "receivers": {"otlp"},
    "processors": {"batch", "memory_limiter", "tail_sampling"},
    "exporters": {"otlp", "otlphttp", "prometheus", "loadbalancing", "debug", "file"},
    "extensions": {"health_check"},
}
# Grafana's variables, as Grafana would expand them on a short time range.
CALL_COUNTS = "gen_ai_client_operation_duration_seconds_count|gen_ai_client_inference_duration_seconds_count"
GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$__range": "5m", "$model": ".*"}


def load(name: str) -> Any:
    return yaml.safe_load((COLLECTOR / name).read_text())


# --- the collector configurations -------------------------------------------------------------------


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_pipelines_name_only_defined_components(name):
    config = load(name)
    for kind, known in KNOWN.items():
        for component in config.get(kind) or {}:
            assert component.split("/")[0] in known, f"{name}: unknown {kind} type {component}"
    service = config["service"]
    assert set(service.get("extensions", [])) <= set(config.get("extensions") or {})
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline_name, pipeline in service["pipelines"].items():
        assert pipeline_name.split("/")[0] in {"traces", "metrics", "logs"}
        for kind in used:
            for component in pipeline.get(kind, []):
                assert component in (config.get(kind) or {}), (
                    f"{name}: {pipeline_name} uses undefined {component}"
                )
                used[kind].add(component)
        assert pipeline["receivers"] and pipeline["exporters"]
        processors = pipeline.get("processors", [])
        assert processors[0] == "memory_limiter", f"{name}: {pipeline_name} must start with memory_limiter"
        if "batch" in processors:
            assert processors[-1] == "batch", f"{name}: {pipeline_name}: batch goes last"
    for kind, names in used.items():
        assert set(config.get(kind) or {}) == names, f"{name}: defined but unused {kind}"


def test_the_single_collector_sends_traces_to_jaeger_and_tempo_and_metrics_to_prometheus():
    pipelines = load("otel-collector.yaml")["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["otlp/jaeger", "otlp/tempo", "file/llm"]
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert pipelines["traces"]["processors"] == ["memory_limiter", "batch"]
    # The GenAI events are log records: the collector accepts them (otherwise OTLP log exports fail).
    assert pipelines["logs"]["receivers"] == ["otlp"]


def test_the_gateway_balances_by_trace_id_then_keeps_errors_and_expensive_traces():
    balancer = load("gateway-loadbalancer.yaml")
    assert balancer["exporters"]["loadbalancing"]["routing_key"] == "traceID"
    assert balancer["service"]["pipelines"]["traces"]["exporters"] == ["loadbalancing"]
    sampler = load("gateway-sampler.yaml")
    policies = {p["name"]: p for p in sampler["processors"]["tail_sampling"]["policies"]}
    assert policies["errors"]["status_code"]["status_codes"] == ["ERROR"]
    conditions = policies["expensive"]["ottl_condition"]["span"]
    assert any('attributes["llm_cost.total.cost"] >' in c for c in conditions)
    assert any('attributes["gen_ai.usage.cost.amount"] >' in c for c in conditions)
    assert "tail_sampling" in sampler["service"]["pipelines"]["traces"]["processors"]
    # The GenAI events (log records) pass the gateway unsampled.
    assert balancer["service"]["pipelines"]["logs"]["exporters"] == ["otlp/logs"]
    assert "tail_sampling" not in sampler["service"]["pipelines"]["logs"]["processors"]
    hosts = balancer["exporters"]["loadbalancing"]["resolver"]["static"]["hostnames"]
    services = load("docker-compose.yaml")["services"]
    assert {h.split(":")[0] for h in hosts} <= set(services)


# --- docker-compose and Grafana provisioning ---------------------------------------------------------


def test_compose_starts_the_stack_with_files_that_exist():
    services = load("docker-compose.yaml")["services"]
    assert {"collector", "jaeger", "tempo", "prometheus", "grafana"} <= set(services)
    for name, service in services.items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (COLLECTOR / source).exists(), f"{name} mounts missing {source}"
        for dependency in service.get("depends_on", []):
            assert dependency in services
    assert "gateway" in services["gateway-sampler-1"]["profiles"]
    scraped = {
        t
        for job in load("prometheus.yaml")["scrape_configs"]
        for c in job["static_configs"]
        for t in c["targets"]
    }
    assert "collector:8889" in scraped


def test_dashboard_datasources_are_provisioned():
    provisioned = {
        d["uid"]: d["type"] for d in load("grafana/provisioning/datasources/datasources.yaml")["datasources"]
    }
    assert {"prometheus", "tempo", "jaeger"} <= set(provisioned)
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            source = target["datasource"]
            assert provisioned[source["uid"]] == source["type"], panel["title"]
    provider = load("grafana/provisioning/dashboards/dashboards.yaml")["providers"][0]
    grafana = load("docker-compose.yaml")["services"]["grafana"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("cost", "tokens", "duration", "first token", "phase"):
        assert topic in titles


# --- PromQL --------------------------------------------------------------------------------------------


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title and refId, PromQL with Grafana's variables expanded) of every Prometheus target."""
    queries = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            if target["datasource"]["type"] != "prometheus":
                continue
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, expr
            queries.append((f"{panel['title']} [{target['refId']}]", expr))
    return queries


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("promtool is missing (Debian package prometheus)")
        pytest.skip("promtool is missing (Debian package prometheus)")
    return found


def test_every_dashboard_query_is_valid_promql(tmp_path):
    queries = dashboard_queries()
    assert len(queries) >= 12
    rules = {"groups": [{"name": "dashboard", "rules": []}]}
    for index, (_, expr) in enumerate(queries):
        rules["groups"][0]["rules"].append({"record": f"dashboard:query_{index}", "expr": expr})
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    done = subprocess.run(
        [_promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout


def test_promtool_rejects_a_broken_query(tmp_path):
    """The check above can fail: a query with a syntax error is refused."""
    path = tmp_path / "rules.yaml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "g", "rules": [{"record": "x:y", "expr": "sum(rate(x[1m])"}]}]})
    )
    done = subprocess.run(
        [_promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0


@pytest.fixture(params=["default", "latest"])
def scraped_app(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Prometheus, float]]:
    """Prometheus scraping an app that made calls of every kind the dashboard shows, in each edition of
    the GenAI metric names (the dashboard serves both), and the time of the first scrape that saw them all.

    Queries are evaluated at that time: a `rate(...[30s])` evaluated whenever a slow machine gets to it
    would see no increase in its window, and its ratio panels would answer 0/0."""
    binary = prometheus_binary()
    if request.param == "latest":
        monkeypatch.setenv(SEMCONV_STABILITY_OPT_IN, GEN_AI_LATEST_EXPERIMENTAL)
    else:
        monkeypatch.delenv(SEMCONV_STABILITY_OPT_IN, raising=False)
    semconv_latest.cache_clear()
    endpoint = serve_prometheus(0)
    server = Prometheus(binary, endpoint.port, tmp_path)
    tracer_provider = TracerProvider()
    install_processor(tracer_provider, endpoint.meter_provider)
    instrumentors = [OpenAIInstrumentor(), AnthropicInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=endpoint.meter_provider)
    try:
        with DemoServer(first_token_delay=0.01, chunk_delay=0) as demo:
            wait_for("Prometheus to be ready", lambda: server.get("/-/ready") == 200)
            # Two rounds, each seen by a scrape: rates and quantiles then have an increase to show.
            count = f"sum({{__name__=~'{CALL_COUNTS}'}})"
            for round_number in (1, 2):
                _calls(demo, tracer_provider)
                seen = wait_for(
                    f"a scrape after round {round_number}",
                    lambda n=round_number: [r for r in server.query(count) if float(r["value"][1]) >= 6 * n],
                )
        yield server, float(seen[0]["value"][0])
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        endpoint.shutdown()
        server.stop()
        semconv_latest.cache_clear()


def _calls(demo: DemoServer, tracer_provider: TracerProvider) -> None:
    """Six calls in one agent step: streamed, plain, reasoning, two cached, one unpriceable model."""
    oai = openai.OpenAI(base_url=demo.base_url, api_key="demo", max_retries=0)
    claude = anthropic.Anthropic(base_url=demo.anthropic_base_url, api_key="demo", max_retries=0)
    hello = [{"role": "user", "content": "hello"}]
    with agent_step("answer", agent="dashboard-test", tracer_provider=tracer_provider):
        list(oai.chat.completions.create(model="gpt-4o-mini", messages=hello, stream=True))
        oai.chat.completions.create(model="gpt-4o-mini", messages=hello)
        oai.chat.completions.create(model="acme-unknown-model", messages=hello)
        oai.responses.create(model="o4-mini", input="think, then answer")
        system = [{"type": "text", "text": "A long guide. " * 200, "cache_control": {"type": "ephemeral"}}]
        for question in ("one?", "two?"):
            claude.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                system=system,
                messages=[{"role": "user", "content": question}],
            )


def test_every_dashboard_query_returns_data(scraped_app):
    server, at = scraped_app
    for title, expr in dashboard_queries():
        result = wait_for(f"data for {title}: {expr}", lambda e=expr: server.query(e, at))
        values = [float(sample["value"][1]) for sample in result]
        assert any(math.isfinite(v) for v in values), (title, expr, values)
        assert all(v >= 0 for v in values if math.isfinite(v)), (title, expr, values)
        if "cost" in title.lower() and "rate" in title.lower():
            assert max(values) > 0, (title, values)


def readme_queries() -> list[str]:
    """The PromQL of the README's Metrics section: one query per line, comments and continuations joined."""
    text = (COLLECTOR.parent / "README.md").read_text()
    block = text.split("```promql\n", 1)[1].split("```", 1)[0]
    queries: list[str] = []
    for line in block.splitlines():
        if line.startswith("#"):
            queries.append("")
        elif line.strip():
            if not queries:
                queries.append("")
            queries[-1] += line.strip() + " "
    return [q.strip() for q in queries if q.strip()]


def test_every_readme_query_returns_data(scraped_app):
    server, at = scraped_app
    queries = readme_queries()
    assert len(queries) == 4
    answered = 0
    for expr in queries:
        result = server.query(expr, at)  # valid PromQL in either edition
        answered += bool(result)
    assert answered == 3  # cost and time to first chunk always, token rate in the running edition only
