"""How the botocore capture is turned on: lazily by ``configure()``, once per call, never twice."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from bedrock_replay import cases, client, params
from otel_llm_cost.instrumentation.botocore import _active
from replay import ReplayServer

CONVERSE = next(case for case in cases() if case.file.endswith("TestNovaInvokeModel.test_nova_converse.yaml"))

_APP = textwrap.dedent(
    """
    import json, sys
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    import otel_llm_cost

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    installed = otel_llm_cost.configure(tracer_provider=provider)
    imported_by_configure = "botocore" in sys.modules

    import boto3  # the app imports boto3 after configure(): the wrapper goes in now

    bedrock = boto3.client(
        "bedrock-runtime", endpoint_url=sys.argv[1], region_name="us-east-1",
        aws_access_key_id="a", aws_secret_access_key="b",
    )
    message = {"role": "user", "content": [{"text": "hi"}]}
    bedrock.converse(modelId="amazon.nova-micro-v1:0", messages=[message])
    spans = [
        s for s in exporter.get_finished_spans() if s.attributes.get("gen_ai.provider.name") == "aws.bedrock"
    ]
    print(json.dumps({
        "installed": [type(i).__name__ for i in installed],
        "imported_by_configure": imported_by_configure,
        "spans": len(spans),
        "cost": spans[0].attributes.get("gen_ai.usage.cost.amount") if spans else None,
    }))
    """
)


def test_configure_hooks_botocore_lazily_when_the_app_imports_it(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(_APP)
    with ReplayServer([CONVERSE.interaction()], prefix="") as server:
        result = subprocess.run(
            [sys.executable, str(app), server.url], capture_output=True, text=True, timeout=120, check=False
        )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "BotocoreInstrumentor" in report["installed"]
    assert report["imported_by_configure"] is False
    assert report["spans"] == 1
    assert report["cost"] > 0


def test_a_call_already_under_an_llm_span_adds_none(instrumented, exporter):
    token = _active.open_llm_span()
    try:
        with ReplayServer([CONVERSE.interaction()], prefix="") as server:
            client(server.url).converse(**params(CONVERSE))
    finally:
        _active.close_llm_span(token)
    assert not exporter.get_finished_spans()


def test_a_second_import_hook_does_not_wrap_again(instrumented, exporter):
    instrumented._wrapper = None  # what a hook registered by an earlier instrument() would see
    instrumented._on_import(sys.modules["botocore.client"])
    with ReplayServer([CONVERSE.interaction()], prefix="") as server:
        client(server.url).converse(**params(CONVERSE))
    assert len(exporter.get_finished_spans()) == 1
