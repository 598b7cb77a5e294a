"""OTLP export with OpenTelemetry's own exporters, configured by the standard ``OTEL_EXPORTER_OTLP_*``.

HTTP/protobuf: a round trip through a real backend, the MLflow tracking server (installed from PyPI
in its own virtualenv, ``.venv-mlflow``: it is large and pins packages of its own; found through
``OTEL_LLM_COST_TEST_MLFLOW``, ``PATH`` or that venv), started on loopback once per session. Spans
come back through its REST API with our attributes intact.

gRPC: MLflow has no gRPC receiver, so a receiver made from opentelemetry-proto's generated
``TraceService`` stubs runs in the test process and collects what the gRPC exporter sends.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_llm_cost import attributes as attr
from otel_llm_cost.agent import agent_step
from otel_llm_cost.demo.server import DemoServer
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.launch import install_processor
from test_zero_code import OTHERS, instrument

ROOT = Path(__file__).resolve().parents[1]
CACHING_EXAMPLE = ROOT / "examples" / "anthropic_caching.py"
READY_TIMEOUT = 120.0  # seconds; MLflow starts in ~5-15 s (migrations of a fresh sqlite store)


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} is not installed (make .venv-mlflow)")


def _mlflow_executable() -> str | None:
    candidates = [os.environ.get("OTEL_LLM_COST_TEST_MLFLOW"), shutil.which("mlflow")]
    candidates.append(str(ROOT / ".venv-mlflow" / "bin" / "mlflow"))
    return next((c for c in candidates if c and Path(c).is_file()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MLflow:
    """A running MLflow tracking server and the few REST calls the tests need."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def new_experiment(self, name: str) -> str:
        return str(self.call("POST", "/api/2.0/mlflow/experiments/create", {"name": name})["experiment_id"])

    def spans(self, experiment_id: str, expected: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """All spans of the experiment's traces, once at least ``expected`` have arrived (bounded poll)."""
        deadline = time.monotonic() + timeout
        while True:
            listed = self.call("GET", f"/api/2.0/mlflow/traces?experiment_ids={experiment_id}")
            ids = [t["request_id"] for t in listed.get("traces", [])]
            spans = []
            if ids:
                query = "&".join(f"trace_ids={i}" for i in ids)
                for found in self.call("GET", f"/api/3.0/mlflow/traces/batchGet?{query}").get("traces", []):
                    spans.extend(found.get("spans", []))
            if len(spans) >= expected or time.monotonic() > deadline:
                return spans
            time.sleep(0.2)


@pytest.fixture(scope="session")
def mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLflow]:
    executable = _mlflow_executable()
    if executable is None:
        _missing("the MLflow tracking server")
    home = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    command = [executable, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += [
        "--backend-store-uri",
        f"sqlite:///{home / 'mlflow.db'}",
        "--artifacts-destination",
        str(home),
    ]
    log = (home / "server.log").open("w")
    # Its background job runner (evaluation jobs, archival) starts worker processes that keep a
    # small machine busy for a minute after start-up; the tests need only the tracking API.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    process = subprocess.Popen(command, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = MLflow(f"http://127.0.0.1:{port}")
    try:
        _wait_until_ready(server, process, home / "server.log")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_until_ready(server: MLflow, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"MLflow exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.base_url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"MLflow was not ready after {READY_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}")


def _value(any_value: dict[str, Any]) -> Any:
    """An OTLP AnyValue, as MLflow returns it in JSON, as a Python value."""
    if "array_value" in any_value:
        return [_value(v) for v in any_value["array_value"].get("values", [])]
    (kind, value), *_ = any_value.items()
    return int(value) if kind == "int_value" else value


def _attributes(span: dict[str, Any]) -> dict[str, Any]:
    raw = span.get("attributes", [])
    if isinstance(raw, dict):
        return raw
    return {item["key"]: _value(item["value"]) for item in raw}


def _otlp_env(mlflow: MLflow, experiment_id: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": mlflow.base_url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_HEADERS": f"x-mlflow-experiment-id={experiment_id}",
    }


# --- HTTP/protobuf, through MLflow ------------------------------------------------------------------


def test_zero_code_http_export_to_mlflow_and_a_local_file_at_once(mlflow, tmp_path):
    """opentelemetry-instrument (with opentelemetry-distro), OTEL_TRACES_EXPORTER=otlp,llm_cost_jsonl."""
    experiment = mlflow.new_experiment("zero-code")
    extra = {**_otlp_env(mlflow, experiment), "OTEL_TRACES_EXPORTER": "otlp,llm_cost_jsonl"}
    extra["OTEL_SERVICE_NAME"] = "caching-example"
    instrument(sys.executable, tmp_path, extra, script=CACHING_EXAMPLE)
    spans = mlflow.spans(experiment, expected=2)
    calls = [_attributes(s) for s in spans if s["name"] == "chat claude-haiku-4-5"]
    assert len(calls) == 2
    write, read = sorted(calls, key=lambda a: a.get(attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0))
    assert write[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] > 0
    assert read[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] > 0
    for call in calls:
        assert call[attr.GEN_AI_PROVIDER_NAME] == "anthropic"
        assert call[attr.GEN_AI_USAGE_INPUT_TOKENS] > 2000
        assert call[attr.GEN_AI_USAGE_COST_AMOUNT] > 0
        assert call[attr.GEN_AI_USAGE_COST_CURRENCY] == "USD"
        assert call[attr.LLM_COST_COST_STATUS] == "priced"
    assert read[attr.GEN_AI_USAGE_COST_AMOUNT] < write[attr.GEN_AI_USAGE_COST_AMOUNT]  # reads are cheaper
    lines = (tmp_path / "otel-llm-cost-spans.jsonl").read_text().splitlines()
    written = {json.loads(line)["span_id"] for line in lines}
    returned = {base64.b64decode(s["span_id"]).hex() for s in spans}
    assert returned <= written


def test_http_export_keeps_roll_ups_of_agent_steps(mlflow):
    """In code: an SDK provider with OTel's OTLP/HTTP exporter; the step's llm_cost.total.* survive."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    experiment = mlflow.new_experiment("in-code")
    exporter = OTLPSpanExporter(
        endpoint=f"{mlflow.base_url}/v1/traces", headers={"x-mlflow-experiment-id": experiment}
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "roundtrip"}))
    install_processor(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with DemoServer(first_token_delay=0, chunk_delay=0) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="demo", max_retries=0)
            with agent_step("plan", agent="roundtrip", tracer_provider=provider):
                for _ in range(2):
                    client.chat.completions.create(
                        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
                    )
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    spans = mlflow.spans(experiment, expected=3)
    (step,) = [
        _attributes(s) for s in spans if s["name"] == "invoke_agent roundtrip"
    ]  # named by its agent (#18)
    calls = [_attributes(s) for s in spans if s["name"] == "chat gpt-4o"]
    assert len(calls) == 2 == step[attr.LLM_COST_TOTAL_LLM_CALLS]
    assert step[attr.LLM_COST_TOTAL_COST] == pytest.approx(
        sum(c[attr.GEN_AI_USAGE_COST_AMOUNT] for c in calls)
    )
    assert step[attr.LLM_COST_TOTAL_INPUT_TOKENS] == sum(c[attr.GEN_AI_USAGE_INPUT_TOKENS] for c in calls)
    assert step[attr.GEN_AI_AGENT_NAME] == "roundtrip"


# --- gRPC, into a receiver built from opentelemetry-proto -------------------------------------------


@pytest.fixture
def grpc_receiver() -> Iterator[tuple[str, list[Any]]]:
    import grpc  # with opentelemetry-exporter-otlp-proto-grpc, pinned in requirements/test.txt
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    received: list[Any] = []

    class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            received.append(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Receiver(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        server.stop(grace=None)


def test_zero_code_grpc_export(grpc_receiver, tmp_path):
    endpoint, received = grpc_receiver
    extra = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": OTHERS,
    }
    instrument(sys.executable, tmp_path, extra)
    spans = [
        span
        for request in received
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    (chat,) = [s for s in spans if s.name == "chat gpt-4o-mini"]
    values = {kv.key: kv.value for kv in chat.attributes}
    assert values[attr.GEN_AI_USAGE_INPUT_TOKENS].int_value > 0
    assert values[attr.GEN_AI_USAGE_COST_AMOUNT].double_value > 0
    assert values[attr.LLM_COST_COST_STATUS].string_value == "priced"
