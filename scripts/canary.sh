#!/usr/bin/env bash
# SDK upgrade canary: the newest openai and anthropic releases on PyPI, in a virtualenv of their own,
# against the replay suites (every recorded exchange through the real SDK, sync and async).
#
#   scripts/canary.sh            # PYTHON=python3.12 CANARY_VENV=/tmp/canary scripts/canary.sh
#   scripts/canary.sh otel       # the newest opentelemetry-sdk / -api / -instrumentation and wrapt instead
#
# `otel` mode installs the newest releases past the upper bounds in pyproject.toml (they guard the private
# internals we touch: Span._attributes, SpanProcessor._on_ending, the SDK configurator, wrapt's proxies)
# and runs the canaries on them. Passing means the bound can move to the next release: the script names
# each package past its bound. Failing names what changed (each canary's message says what to do).
#
# A breaking SDK release fails here with the SDK versions named: in pytest's header, under every failing
# test ("SDK versions" section), in the summary line, and in this script's last line. Exit status is
# pytest's. The regular suites keep running on the pinned SDKs (requirements/sdk-*.txt).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${CANARY_VENV:-.venv-canary}

"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q -r requirements/test.txt -e .

if [ "${1:-}" = "otel" ]; then
  # pip warns that these break our own bounds: that is the point.
  "$VENV/bin/pip" install -q -r requirements/sdk-latest.txt
  "$VENV/bin/pip" install -q --upgrade opentelemetry-api opentelemetry-sdk opentelemetry-instrumentation wrapt
  status=0
  OTEL_LLM_COST_CANARY_BOUNDS=1 "$VENV/bin/python" -m pytest -s \
    tests/test_processor_canary.py tests/test_wrapping.py tests/test_span_handoff.py tests/test_zero_code.py \
    || status=$?
  if [ "$status" -ne 0 ]; then
    echo "CANARY FAILED on the newest OpenTelemetry / wrapt releases: keep the bounds (pytest exit $status)"
  else
    echo "canary passed: each package named 'past the bound' above can have its bound moved in pyproject.toml"
  fi
  exit "$status"
fi
# Newest releases, whatever requirements/sdk-latest.txt pins; their dependencies are upgraded too.
"$VENV/bin/pip" install -q --upgrade --upgrade-strategy eager openai anthropic

version() { "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))"; }
SDKS="openai==$(version openai) anthropic==$(version anthropic)"
echo "canary: testing $SDKS"

status=0
OTEL_LLM_COST_CANARY_SDKS="$SDKS" PYTHONPATH="tests/reliability${PYTHONPATH:+:$PYTHONPATH}" \
  "$VENV/bin/python" -m pytest -p reliability_canary_plugin \
  tests/reliability/test_sdk_versions.py tests/openai/test_replay_all.py tests/anthropic/test_replay_all.py \
  || status=$?

if [ "$status" -ne 0 ]; then
  echo "CANARY FAILED on $SDKS (pytest exit status $status)"
else
  echo "canary passed on $SDKS"
fi
exit "$status"
