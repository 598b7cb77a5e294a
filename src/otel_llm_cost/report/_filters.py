"""Which calls the report counts: a time range, a service, a model."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from otel_llm_cost.report._span import SpanRecord

_RELATIVE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, now: datetime | None = None) -> int:
    """Nanoseconds since the epoch for an ISO 8601 time (UTC unless it says) or a duration ago.

    Examples: ``2025-01-31``, ``2025-01-31T12:00:00+02:00``, ``90m`` (90 minutes ago), ``1.5h``, ``7d``.

    Raises:
        ValueError: neither form.
    """
    match = _RELATIVE.match(text)
    if match:
        now = now or datetime.now(UTC)
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        return int((now.timestamp() - seconds) * 1e9)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 time or a duration like 30m, 2h, 7d: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


@dataclass(frozen=True, slots=True)
class Filters:
    """Calls kept by the report; ``None`` means no restriction.

    Attributes:
        since_ns: keep calls starting at or after this time (ns since the epoch).
        until_ns: keep calls starting before this time.
        service: keep spans whose resource ``service.name`` matches (shell-style wildcards allowed).
        model: keep calls whose response or request model matches (wildcards allowed).
    """

    since_ns: int | None = None
    until_ns: int | None = None
    service: str | None = None
    model: str | None = None

    def keeps_span(self, span: SpanRecord) -> bool:
        """Whether the span's time and service pass."""
        if self.since_ns is not None and span.start_ns < self.since_ns:
            return False
        if self.until_ns is not None and span.start_ns >= self.until_ns:
            return False
        if self.service is not None:
            service = span.resource.get("service.name")
            return isinstance(service, str) and fnmatch.fnmatchcase(service, self.service)
        return True

    def keeps_model(self, *models: str | None) -> bool:
        """Whether any of the call's model names passes."""
        if self.model is None:
            return True
        return any(m is not None and fnmatch.fnmatchcase(m, self.model) for m in models)
