"""Labels (model, step, agent, ``--by`` values) from untrusted span values, bounded in size."""

from __future__ import annotations

from typing import Final

# Longer labels are cut: a group table holds up to a thousand of them, and a label is read, not stored.
MAX_LABEL: Final = 10_000


def clip_label(value: str | None) -> str | None:
    """``value`` cut to :data:`MAX_LABEL` characters (``…`` marks the cut)."""
    if value is None or len(value) <= MAX_LABEL:
        return value
    return value[: MAX_LABEL - 1] + "…"


def label(value: object) -> str | None:
    """A label from any JSON value; ``None`` for null, empty or false."""
    if not value:
        return None
    if isinstance(value, str):
        return clip_label(value)
    text = str(value) if isinstance(value, int | float) else repr(value)[: MAX_LABEL + 1]
    return clip_label(text)
