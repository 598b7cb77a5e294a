"""The ``opentelemetry_environment_variables`` entry point: our variables, for the launcher's flags.

``opentelemetry-instrument`` imports this module to build its command line, in the launcher process,
before it starts the app: the one moment before a distro's configurator runs. So it also checks, there
and only there, that an OTLP export it will be asked for can happen (:mod:`otel_llm_cost._exporter_check`).
"""

from __future__ import annotations

from otel_llm_cost._exporter_check import check_launch, in_launcher
from otel_llm_cost.environment_variables import *  # noqa: F403  (the names the launcher turns into flags)

try:
    if in_launcher():
        check_launch()
except Exception:  # a check must never stop the launcher
    pass
