"""The virtual environments the workers run in, built once under ``benchmarks/.work/`` and reused.

Every configuration of one SDK generation runs in the same environment (same interpreter, same SDK,
same OpenTelemetry SDK), so the only difference between two rows of a generation is the instrumentation.
An environment is rebuilt when one of its requirement files (or pyproject.toml) changes.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"

_CONSTRAINTS = ROOT / "requirements" / "test.txt"  # the OpenTelemetry pins the test suite uses
_ANCHORS = BENCH / "requirements-anchors.txt"
# generation -> requirement files with its SDK pins (and anchors); otel-llm-cost is added to each.
GENERATIONS: dict[str, tuple[Path, ...]] = {
    "latest": (ROOT / "requirements" / "sdk-latest.txt", _ANCHORS),
    "legacy": (BENCH / "requirements-legacy.txt", _ANCHORS),
    # OpenLIT's pins clash with the newest SDKs and with the test suite's OpenTelemetry pins.
    "openlit": (BENCH / "requirements-openlit.txt",),
    # openai-v2 needs an opentelemetry-util-genai older than the genai-* anchors'.
    "openai_v2": (BENCH / "requirements-openai-v2.txt",),
}
_UNCONSTRAINED = {"openlit"}  # generations installed without requirements/test.txt as constraints
_EXTRAS = "otlp"  # otel-llm-cost's extras installed with it (the collector-down runs export by OTLP)


def _fingerprint(files: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in (*files, _CONSTRAINTS, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    digest.update(_EXTRAS.encode())
    return digest.hexdigest()


def ensure(generation: str) -> Path:
    """The Python interpreter of ``generation``'s environment, built first if missing or stale.

    Raises:
        subprocess.CalledProcessError: when venv creation or pip fails (e.g. PyPI unreachable).
    """
    env = WORK / f"venv-{generation}"
    python = env / "bin" / "python"
    marker = env / ".installed"
    files = GENERATIONS[generation]
    fingerprint = _fingerprint(files)
    if python.exists() and marker.exists() and marker.read_text() == fingerprint:
        return python
    print(f"[bench] building {env.relative_to(ROOT)} (once; pip install from PyPI)...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
    requirements = [arg for path in files for arg in ("-r", str(path))]
    constraints = [] if generation in _UNCONSTRAINED else ["-c", str(_CONSTRAINTS)]
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *constraints,
            *requirements,
            "-e",
            f"{ROOT}[{_EXTRAS}]",
        ],
        check=True,
    )
    marker.write_text(fingerprint)
    return python
