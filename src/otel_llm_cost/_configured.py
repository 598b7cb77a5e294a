"""What ``configure()`` was given, for the parts that are not instrumentors (manual calls, agent metrics).

The package's one piece of set-up state, behind :func:`get_configured` / :func:`set_configured`. Before
``configure()`` runs (or without it) everything falls back to the global providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = ["Configured", "get_configured", "set_configured"]


@dataclass(frozen=True, slots=True)
class Configured:
    """Providers and budget guard of the last ``configure()`` (``None``: the global one / from env)."""

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    budget_guard: Any = None


_configured = Configured()


def get_configured() -> Configured:
    return _configured


def set_configured(configured: Configured) -> None:
    global _configured
    _configured = configured
