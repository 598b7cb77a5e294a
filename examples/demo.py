"""The README's demo: an agent loop against the local demo server, its spans in a file, and the report.

No API key, no network. Run it::

    make demo                 # installs only what the demo needs (.venv-demo), then runs this
    python examples/demo.py   # in any environment with otel-llm-cost[demo]

It starts an OpenAI-compatible server on 127.0.0.1 (``otel_llm_cost.demo.server``) and runs the agent
loop of ``examples/agent_loop.py`` against it twice (steps ``retrieve`` -> ``plan`` -> ``act`` with a
tool -> ``answer``), with otel-llm-cost instrumenting the ``openai`` SDK. Every span also goes to a
JSON-lines file (``otel-llm-cost-demo.jsonl``, or ``$OTEL_LLM_COST_DEMO_DIR/...``); the script ends
with the ``otel-llm-cost report`` of that file and the commands for the HTML report, a trace's tree
and ``tail``. Set ``OTEL_EXPORTER_OTLP_ENDPOINT`` to also send the spans to a collector of yours.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# Set before agent_loop reads it: whatever keys are around, this run stays on the local server.
os.environ["OTEL_LLM_COST_DEMO_SERVER"] = "1"

import agent_loop
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_llm_cost.demo.table import format_rows, llm_calls
from otel_llm_cost.export.jsonl import JsonlSpanExporter
from otel_llm_cost.report import build_report, render_table

RUNS = 2


def spans_path() -> Path:
    folder = Path(os.environ.get("OTEL_LLM_COST_DEMO_DIR") or ".")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "otel-llm-cost-demo.jsonl"
    path.unlink(missing_ok=True)  # one demo's spans, not every run's
    return path


def command() -> str:
    """How to run ``otel-llm-cost`` from here: by name when the shell finds this environment's."""
    script = Path(sys.executable).with_name("otel-llm-cost")
    found = shutil.which("otel-llm-cost")
    if not script.exists() or (found and Path(found).resolve() == script.resolve()):
        return "otel-llm-cost"
    return os.path.relpath(script)


def main() -> int:
    path = spans_path()
    provider, collector, owned = agent_loop.setup_tracing()
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
    with agent_loop.openai_client() as client:
        print(f"question: {agent_loop.QUESTION}")
        for run in range(1, RUNS + 1):
            answer, summary = agent_loop.run_agent(client, provider)
            print(f"run {run}: {answer}\n       summary: {summary}")
    provider.force_flush()
    rows = llm_calls(collector.get_finished_spans())
    print("\nLLM calls, as the instrumentation recorded them:\n" + format_rows(rows))
    if owned:
        provider.shutdown()
    if not rows:
        print("no LLM spans were recorded: is otel-llm-cost's instrumentation installed?", file=sys.stderr)
        return 1
    report = build_report([path], top=3)
    cli = command()
    print(f"\n$ otel-llm-cost report {path}\n")
    print(render_table(report, width=100, charts=False))
    top = report.top_traces[0].trace_id if report.top_traces else "TRACE_ID"
    print("Next:")
    print(f"  {cli} report {path} --html demo-report.html   # charts and trace views, one file")
    print(f"  {cli} report {path} --trace {top}   # one trace's spans as a tree")
    print(f"  {cli} tail {path} --from-start   # follow the file as an app writes it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
