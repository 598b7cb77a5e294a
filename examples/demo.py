"""The README's demo: the agent loop against the local demo server. No API key, no network.

Run it::

    python examples/demo.py

It starts an OpenAI-compatible server on 127.0.0.1 (``otel_llm_cost.demo.server``), runs the agent loop of
``examples/agent_loop.py`` against it with otel-llm-cost instrumenting the ``openai`` SDK, and prints
what each LLM call used and cost. Set ``OTEL_EXPORTER_OTLP_ENDPOINT`` to also send the spans to a
collector of yours.
"""

from __future__ import annotations

import os

# Set before agent_loop reads it: whatever keys are around, this run stays on the local server.
os.environ["OTEL_LLM_COST_DEMO_SERVER"] = "1"

import agent_loop

if __name__ == "__main__":
    raise SystemExit(agent_loop.main())
