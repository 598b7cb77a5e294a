"""One clear line, instead of SDK tracebacks and no telemetry, when OTLP is asked for and not installed.

Two set-ups ask for OTLP without the exporter package (``opentelemetry-exporter-otlp``, our ``[otlp]``
extra) being there:

- ``opentelemetry-distro`` installed: its configurator exports OTLP by default. It fails with two
  tracebacks, before any hook of ours runs, and the app records nothing.
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_TRACES_EXPORTER=otlp``) set: the SDK's configurator fails
  with a long traceback.

:func:`check_launch` runs in the ``opentelemetry-instrument`` launcher, the one process step before the
app's: the launcher imports every ``opentelemetry_environment_variables`` entry point (to build its
command line), which is the only code of ours that runs before the distro's configurator. Only there,
and only when an OTLP exporter is needed and missing, it says what to install and points the traces
exporter at the embedded JSONL file (metrics and logs exporters off), so everything is kept; the app
then runs with those variables. :func:`missing_otlp_message` serves the in-process path (``_autoconfig``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping, MutableMapping

INSTALL_HINT = "pip install 'otel-llm-cost[otlp]'"
_OTLP_MODULES = {
    "grpc": "opentelemetry.exporter.otlp.proto.grpc",
    "http/protobuf": "opentelemetry.exporter.otlp.proto.http",
    "http/json": "opentelemetry.exporter.otlp.proto.http",
}
_LAUNCHER = "opentelemetry.instrumentation.auto_instrumentation"


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def wants_otlp(env: Mapping[str, str], distro_installed: bool) -> bool:
    """Whether the configuration will create an OTLP traces exporter."""
    exporters = _names(env.get("OTEL_TRACES_EXPORTER"))
    if exporters:
        return "otlp" in exporters
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return distro_installed or bool(endpoint)


def otlp_installed(env: Mapping[str, str], distro_installed: bool) -> bool:
    """Whether the exporter for the OTLP protocol the configuration names can be imported."""
    default = "grpc" if distro_installed else "http/protobuf"  # the distro's default; the spec's
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
    module = _OTLP_MODULES.get(protocol.strip() or default, _OTLP_MODULES[default])
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_otlp_message(where: str) -> str:
    return (
        f"otel-llm-cost: {where} asks for OTLP export, but no OTLP exporter is installed "
        f"({INSTALL_HINT}); spans go to the JSONL file instead"
    )


def check_launch(env: MutableMapping[str, str] | None = None) -> bool:
    """In the launcher: keep everything in the embedded default when OTLP is needed and missing.

    Returns:
        Whether the environment was changed.
    """
    env = os.environ if env is None else env
    distro = importlib.util.find_spec("opentelemetry.distro") is not None
    if not wants_otlp(env, distro) or otlp_installed(env, distro):
        return False
    where = "OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT" if not distro else "opentelemetry-distro"
    print(missing_otlp_message(where), file=sys.stderr)
    exporters = [name for name in _names(env.get("OTEL_TRACES_EXPORTER")) if name != "otlp"]
    env["OTEL_TRACES_EXPORTER"] = ",".join([*exporters, "llm_cost_jsonl"])
    for signal in ("OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"):
        if "otlp" in _names(env.get(signal)) or not env.get(signal):
            env[signal] = "none"
    env.setdefault("OTEL_LLM_COST_SUMMARY", "true")
    return True


def in_launcher() -> bool:
    """Whether we are being imported by ``opentelemetry-instrument``'s ``run()`` (not the app)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == _LAUNCHER and frame.f_code.co_name == "run":
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False
