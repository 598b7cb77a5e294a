"""What an instrumented call reads from its SDK client (provider, host, port), worked out once per client.

Keyed by the client's identity and checked against its class and the object its base URL is stored in
(``_base_url``, which both SDKs replace when ``base_url`` is set): a client whose URL changes, or a new
client that reuses a dead one's ``id``, is worked out again. The entry holds the URL object, so while
it lives no other URL can take its ``id``. Bounded: cleared past 256 clients (ids of dead clients).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

V = TypeVar("V")

_MAX_CLIENTS: Final = 256


class ClientCache:
    """``get(client, make)``: ``make(client)`` once per client (and per base URL)."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[int, tuple[object, type, Any]] = {}

    def get(self, client: object, make: Callable[[Any], V]) -> V:
        key = id(client)
        url = getattr(client, "_base_url", None)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is url and entry[1] is type(client):
            return entry[2]  # type: ignore[no-any-return]
        value = make(client)
        if url is None:  # nothing to tell a reused id from its first owner by
            return value
        if len(self._entries) >= _MAX_CLIENTS:
            self._entries.clear()
        self._entries[key] = (url, type(client), value)
        return value

    def clear(self) -> None:
        self._entries.clear()
