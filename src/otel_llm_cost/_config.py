"""Settings read from the environment once, into a frozen :class:`Settings`."""

from __future__ import annotations

import os
from dataclasses import dataclass

_TRUE = frozenset({"1", "true", "yes", "on"})

CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


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
