"""End to end with a real Prometheus server (Debian's ``prometheus``) scraping the app's metrics.

The app side runs in-process: :func:`otel_llm_cost.serve_prometheus` on a free port, the OpenAI SDK
instrumented into it, streamed calls to the loopback demo server with known first-chunk delays. Prometheus
runs on loopback with a temporary configuration (1 s scrape interval) and is queried through its HTTP API.
A second test checks ``OTEL_METRICS_EXPORTER=prometheus`` under ``opentelemetry-instrument``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import attributes as attr
from otel_llm_cost import serve_prometheus
from otel_llm_cost._config import GEN_AI_LATEST_EXPERIMENTAL, SEMCONV_STABILITY_OPT_IN, semconv_latest
from otel_llm_cost.demo import DemoServer
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.metrics import DURATION_BUCKETS

DEADLINE = 20.0  # seconds any one wait may take before the test fails
MESSAGES = [{"role": "user", "content": "hello"}]
# (model, first-token delay): fast calls land below 0.08 s, slow ones in the (0.08, 0.16] bucket.
CALLS = [("gpt-4o-mini", 0.01)] * 5 + [("gpt-4o", 0.1)] * 5


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None
    )
    if found is None:
        message = "the prometheus binary is missing (Debian package prometheus)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, probe: Callable[[], Any]) -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``DEADLINE`` seconds."""
    deadline = time.monotonic() + DEADLINE
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except OSError as error:  # not listening yet
            last = error
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; last: {last!r}")


class Prometheus:
    def __init__(self, binary: str, target_port: int, workdir: Path) -> None:
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text(
            textwrap.dedent(f"""\
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: app
                    static_configs:
                      - targets: ["127.0.0.1:{target_port}"]
                """)
        )
        self.log = (workdir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return json.loads(response.read()) if "/api/" in path else response.status

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query, evaluated now or at the Unix time `at`."""
        parameters: dict[str, Any] = {"query": promql}
        if at is not None:
            parameters["time"] = at
        answer = self.get("/api/v1/query?" + urllib.parse.urlencode(parameters))
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[int], Prometheus]]:
    binary = prometheus_binary()
    started: list[Prometheus] = []

    def start(target_port: int) -> Prometheus:
        server = Prometheus(binary, target_port, tmp_path)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def histogram_quantile(q: float, values: list[float], bounds: tuple[float, ...]) -> float:
    """What PromQL's ``histogram_quantile`` returns for these observations in these buckets."""
    counts = [sum(1 for v in values if v <= bound) for bound in bounds]
    rank = q * len(values)
    for index, count in enumerate(counts):
        if count >= rank:
            lower = bounds[index - 1] if index else 0.0
            below = counts[index - 1] if index else 0
            return lower + (bounds[index] - lower) * (rank - below) / (count - below)
    return bounds[-1]


@pytest.mark.parametrize(
    ("edition", "ttfc"),
    [
        ("default", "gen_ai_client_operation_time_to_first_chunk_seconds"),
        ("latest", "gen_ai_client_inference_time_to_first_chunk_seconds"),
    ],
)
def test_prometheus_scrapes_cost_by_model_and_time_to_first_chunk(prometheus, monkeypatch, edition, ttfc):
    if edition == "latest":
        monkeypatch.setenv(SEMCONV_STABILITY_OPT_IN, GEN_AI_LATEST_EXPERIMENTAL)
    else:
        monkeypatch.delenv(SEMCONV_STABILITY_OPT_IN, raising=False)
    semconv_latest.cache_clear()
    endpoint = serve_prometheus(0)
    server = prometheus(endpoint.port)
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=endpoint.meter_provider)
    try:
        with DemoServer(first_token_delay=0, chunk_delay=0.002) as demo:
            client = openai.OpenAI(base_url=demo.base_url, api_key="demo", max_retries=0)
            for model, delay in CALLS:
                demo.first_token_delay = delay
                list(client.chat.completions.create(model=model, messages=MESSAGES, stream=True))
        spans = exporter.get_finished_spans()
        wait_for("Prometheus to be ready", lambda: server.get("/-/ready") == 200)
        count = f"sum({ttfc}_count)"
        wait_for(
            "a scrape after the calls",
            lambda: [r for r in server.query(count) if float(r["value"][1]) == len(CALLS)],
        )
        cost = server.query("sum by (gen_ai_request_model) (llm_cost_client_cost_USD_total)")
        buckets = f"sum by (le) ({ttfc}_bucket)"
        p95 = server.query(f"histogram_quantile(0.95, {buckets})")
        per_chunk = server.query(f"sum({ttfc.replace('time_to_first_chunk', 'time_per_output_chunk')}_count)")
    finally:
        instrumentor.uninstrument()
        endpoint.shutdown()
        semconv_latest.cache_clear()

    expected_cost: dict[str, float] = {}
    for span in spans:
        model = span.attributes[attr.GEN_AI_REQUEST_MODEL]
        expected_cost[model] = expected_cost.get(model, 0.0) + span.attributes[attr.GEN_AI_USAGE_COST_AMOUNT]
    got_cost = {r["metric"]["gen_ai_request_model"]: float(r["value"][1]) for r in cost}
    assert got_cost == pytest.approx(expected_cost, rel=1e-9)
    assert set(got_cost) == {"gpt-4o-mini", "gpt-4o"}

    ttfcs = [span.attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] for span in spans]
    (quantile,) = p95
    value = float(quantile["value"][1])
    assert value == pytest.approx(histogram_quantile(0.95, ttfcs, DURATION_BUCKETS), rel=1e-9)
    assert value > 0.08  # half the calls waited 0.1 s for their first token: p95 is in their bucket or above
    # One time-per-chunk observation per chunk after the first content chunk, not one per stream.
    (observations,) = per_chunk
    assert float(observations["value"][1]) > 2 * len(CALLS)


APP = """
import openai, sys, time
from otel_llm_cost.demo import DemoServer
with DemoServer(first_token_delay=0, chunk_delay=0) as demo:
    client = openai.OpenAI(base_url=demo.base_url, api_key="demo", max_retries=0)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                        stream=True))
print("done", flush=True)
sys.stdin.read()  # serve metrics until the test closes stdin
"""


def test_otel_metrics_exporter_prometheus_under_opentelemetry_instrument(tmp_path):
    port = free_port()
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {
        **os.environ,
        "OTEL_METRICS_EXPORTER": "prometheus",
        "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
        "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai,anthropic",  # other producers' instrumentors
    }
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    process = subprocess.Popen(
        [str(instrument), sys.executable, str(app)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == b"done", process.stderr.read() if process.poll() is not None else line
        url = f"http://127.0.0.1:{port}/metrics"
        text = wait_for(
            "the metrics endpoint", lambda: urllib.request.urlopen(url, timeout=5).read().decode()
        )
    finally:
        process.communicate(input=b"", timeout=20)
    ours = [line for line in text.splitlines() if 'otel_scope_name="otel_llm_cost.metrics"' in line]
    names = {line.split("{", 1)[0] for line in ours}
    assert {
        "gen_ai_client_token_usage_count",
        "llm_cost_client_cost_USD_total",
        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
    } <= names


def test_configure_prometheus_port_serves_the_metrics():
    from otel_llm_cost import configure, launch
    from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor

    port = free_port()
    AnthropicInstrumentor().uninstrument()
    installed = configure(tracer_provider=TracerProvider(), prometheus_port=port)
    try:
        with DemoServer(first_token_delay=0, chunk_delay=0) as demo:
            client = openai.OpenAI(base_url=demo.base_url, api_key="demo", max_retries=0)
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        for instrumentor in installed:
            instrumentor.uninstrument()
        launch._prometheus_endpoints.pop().shutdown()
    assert 'llm_cost_client_cost_USD_total{gen_ai_operation_name="chat"' in text
    assert "gen_ai_client_operation_duration_seconds_count{" in text
