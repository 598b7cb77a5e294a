# Two commands on a fresh machine: `make demo` (no API key, no network) and `make test`.
PYTHON ?= python3
VENV := .venv
VENV_LEGACY := .venv-legacy
VENV_MLFLOW := .venv-mlflow
VENV_FRAMEWORKS := .venv-frameworks
VENV_DEMO := .venv-demo

.PHONY: demo test test-latest test-legacy test-canary test-frameworks lint bench clean

demo: $(VENV_DEMO)/.installed
	@echo "==> running the demo: a local model server, an agent loop, its spans in a file, the report"
	$(VENV_DEMO)/bin/python examples/demo.py

test: lint test-latest test-legacy

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples

# The whole suite on the newest SDKs (httpx2).
test-latest: $(VENV)/.installed $(VENV_MLFLOW)/.installed
	$(VENV)/bin/python -m pytest -q

# The SDK-facing suites again on the last httpx-era SDK releases.
test-legacy: $(VENV_LEGACY)/.installed
	$(VENV_LEGACY)/bin/python -m pytest -q tests/openai tests/anthropic tests/test_replay_infra.py

# The framework conformance suite (LangChain, LangGraph, openai-agents, pydantic-ai, logfire, LiteLLM),
# in its own venv: real framework releases against a loopback server, otel-llm-cost on and off.
test-frameworks: $(VENV_FRAMEWORKS)/.installed
	$(VENV_FRAMEWORKS)/bin/python -m pytest -q -rxX tests/frameworks

# The replay suites against the newest openai and anthropic on PyPI; names the versions when they break.
test-canary:
	PYTHON=$(PYTHON) scripts/canary.sh

bench: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/run.py
	$(VENV)/bin/python benchmarks/bench_wire.py
	$(VENV)/bin/python benchmarks/bench_import.py

$(VENV)/.installed: pyproject.toml requirements/test.txt requirements/sdk-latest.txt requirements/providers.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements/test.txt -r requirements/sdk-latest.txt -r requirements/providers.txt -e .
	touch $@

$(VENV_LEGACY)/.installed: pyproject.toml requirements/test.txt requirements/sdk-legacy.txt
	$(PYTHON) -m venv $(VENV_LEGACY)
	$(VENV_LEGACY)/bin/pip install -q -r requirements/test.txt -r requirements/sdk-legacy.txt -e .
	touch $@

# Only what the demo needs (otel-llm-cost, the openai SDK, the report's extra), not the test toolchain.
$(VENV_DEMO)/.installed: pyproject.toml
	@echo "==> creating $(VENV_DEMO) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV_DEMO)
	@echo "==> installing otel-llm-cost[demo] into $(VENV_DEMO) (about 25 packages)"
	$(VENV_DEMO)/bin/pip install --disable-pip-version-check --progress-bar on -e '.[demo]'
	touch $@

# A real OTLP backend (MLflow's tracing server) for the export round trip; its pins clash with ours.
$(VENV_MLFLOW)/.installed: requirements/otlp-backend.txt
	$(PYTHON) -m venv $(VENV_MLFLOW)
	$(VENV_MLFLOW)/bin/pip install -q -r requirements/otlp-backend.txt
	touch $@

$(VENV_FRAMEWORKS)/.installed: pyproject.toml requirements/test.txt requirements/sdk-latest.txt requirements/frameworks.txt
	$(PYTHON) -m venv $(VENV_FRAMEWORKS)
	$(VENV_FRAMEWORKS)/bin/pip install -q -r requirements/test.txt -r requirements/sdk-latest.txt \
		-r requirements/frameworks.txt -e .
	touch $@

clean:
	rm -rf $(VENV) $(VENV_LEGACY) $(VENV_MLFLOW) $(VENV_FRAMEWORKS) $(VENV_DEMO) build dist src/*.egg-info
