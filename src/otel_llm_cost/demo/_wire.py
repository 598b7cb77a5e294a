"""What the endpoint builders hand back to the HTTP layer, and the state they share."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from otel_llm_cost.demo._cache import PromptCache


class BadRequest(Exception):
    """The request cannot be answered; the server replies 400 with this message."""


@dataclass(frozen=True, slots=True)
class JsonReply:
    """A complete JSON answer; ``chunks`` is how many deltas it would have streamed in (for pacing)."""

    body: Mapping[str, Any]
    chunks: int = 1


@dataclass(frozen=True, slots=True)
class StreamReply:
    """A server-sent-event stream: each entry is one complete event frame."""

    events: list[str] = field(default_factory=list)


Reply = JsonReply | StreamReply


class Session:
    """State shared by every request to one server: the prompt cache and id counters."""

    def __init__(self) -> None:
        self.cache = PromptCache()
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new_id(self, prefix: str) -> str:
        """A fresh id in the provider's style, e.g. ``chatcmpl-demo000001``."""
        with self._lock:
            number = next(self._counter)
        return f"{prefix}demo{number:06d}"

    @staticmethod
    def now() -> int:
        return int(time.time())


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event frame (``event:`` line only when named)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"


def require_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' is required")
    return model


def text_of(content: Any) -> str:
    """The plain text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (part.get("text") for part in content if isinstance(part, Mapping))
        return " ".join(part for part in parts if isinstance(part, str))
    return ""


def last_user_text(conversation: Sequence[Any]) -> str:
    """The text of the last user turn that has any (a turn holding only tool results is skipped)."""
    for message in reversed(conversation):
        if isinstance(message, Mapping) and message.get("role") == "user":
            text = text_of(message.get("content"))
            if text:
                return text
    return ""
