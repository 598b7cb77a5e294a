"""Tracer providers owned by logfire (pydantic-ai's documented tracing route): ``configure()`` accepts
them, with and without ``tracer_provider=``, and every call is priced and rolled up (issue #15, item 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

APP = Path(__file__).parent / "logfire_app.py"


@pytest.mark.parametrize("framework", ["openai", "pydantic-ai"])
@pytest.mark.parametrize("mode", ["global", "explicit"])
def test_logfire_owned_provider(mode: str, framework: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LOGFIRE_"))}
    done = subprocess.run(
        [sys.executable, str(APP), mode, framework],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: "), done.stdout
    assert "Traceback" not in done.stderr, done.stderr
