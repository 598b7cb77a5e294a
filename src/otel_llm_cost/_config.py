"""Settings read from the environment once, into a frozen :class:`Settings`; the conventions' edition."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Final

_TRUE = frozenset({"1", "true", "yes", "on"})

CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

SEMCONV_STABILITY_OPT_IN: Final = "OTEL_SEMCONV_STABILITY_OPT_IN"
"""The transition switch of the GenAI conventions: a comma-separated list of opt-ins."""
GEN_AI_LATEST_EXPERIMENTAL: Final = "gen_ai_latest_experimental"
"""The opt-in for the newest GenAI conventions (and only them), instead of what we emitted before."""

SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"
"""Schema URL of every tracer, meter and logger we create (the one the official GenAI packages use)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the instrumentation records, decided when it is installed."""

    capture_message_content: bool = False


def _flag(name: str) -> bool:
    # The GenAI conventions also allow modes such as "SPAN_ONLY"; any of them means "capture".
    value = os.environ.get(name, "").strip().lower()
    return value in _TRUE or value in {"span_only", "span_and_event", "event_only"}


def settings_from_env() -> Settings:
    return Settings(capture_message_content=_flag(CAPTURE_MESSAGE_CONTENT))


def latest_in(opt_in: str | None) -> bool:
    """Whether an ``OTEL_SEMCONV_STABILITY_OPT_IN`` value opts into the newest GenAI conventions.

    Read as ``opentelemetry-instrumentation`` reads it: items split on commas, spaces stripped.
    """
    return bool(opt_in) and GEN_AI_LATEST_EXPERIMENTAL in (item.strip() for item in opt_in.split(","))


@functools.cache
def semconv_latest() -> bool:
    """``OTEL_SEMCONV_STABILITY_OPT_IN`` holds ``gen_ai_latest_experimental``: read once per process.

    Components that take an explicit ``latest=`` argument use that instead (tests do).
    """
    return latest_in(os.environ.get(SEMCONV_STABILITY_OPT_IN))
