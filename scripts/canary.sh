#!/usr/bin/env bash
# SDK upgrade canary: the newest openai and anthropic releases on PyPI, in a virtualenv of their own,
# against the replay suites (every recorded exchange through the real SDK, sync and async).
#
#   scripts/canary.sh            # PYTHON=python3.12 CANARY_VENV=/tmp/canary scripts/canary.sh
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
