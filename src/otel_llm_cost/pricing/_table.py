"""The resolution cache: (provider, model, UTC day, service tier) -> :class:`Schedule`, once.

User overrides are consulted first, then genai-prices. Unknown models are cached too (as ``None``),
so a stream of calls to an unknown model costs a dict lookup each, not a failed search.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from otel_llm_cost._bounded import BoundedDict
from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import log_once, logger
from otel_llm_cost.pricing import _genai
from otel_llm_cost.pricing._overrides import PriceOverrides
from otel_llm_cost.pricing._rates import Schedule

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot

CacheKey = tuple[str | None, str, int, str | None]

_MISS = object()
_DEFAULT_MAX_ENTRIES = 4096
_UNKNOWN_WARNINGS = 100


class PriceTable:
    """Resolved schedules, valid while genai-prices keeps the same snapshot.

    Args:
        overrides: user prices and aliases, consulted before genai-prices.
        max_entries: the cache is cleared when it reaches this size (model names can be arbitrary
            strings; a bound keeps a flood of distinct names from growing memory).
    """

    def __init__(
        self, overrides: PriceOverrides | None = None, max_entries: int = _DEFAULT_MAX_ENTRIES
    ) -> None:
        self._overrides = overrides
        self._max_entries = max_entries
        self._cache: dict[CacheKey, Schedule | None] = {}
        self._windows: BoundedDict[tuple[str | None, str], int | None] = BoundedDict(max_entries)
        self._get_snapshot: Callable[[], DataSnapshot] | None = None
        self._snapshot: DataSnapshot | None = None
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")
        self._unknown_models = 0
        self.resolutions = 0
        """How many times the slow path ran (for tests and diagnostics)."""

    def schedule(self, provider: str | None, model: str, day: int, tier: str | None) -> Schedule | None:
        """The schedule for this key, resolving it on first use; ``None`` when the model is unknown."""
        get_snapshot = self._get_snapshot or self._load()
        if get_snapshot() is not self._snapshot:
            self._reset(get_snapshot())
        found = self._cache.get((provider, model, day, tier), _MISS)
        if found is not _MISS:
            return found  # type: ignore[return-value]
        return self._resolve((provider, model, day, tier))

    def context_window(self, provider: str | None, model: str) -> int | None:
        """The model's context window from genai-prices (``None``: unknown, or a price-file model)."""
        key = (provider, model)
        if key in self._windows:
            return self._windows[key]
        get_snapshot = self._get_snapshot or self._load()
        try:
            window = _genai.context_window(get_snapshot(), provider, model)
        except Exception:
            log_once("pricing.context_window", "genai-prices failed on model %r", model, exc_info=True)
            window = None
        self._windows[key] = window
        return window

    def warm_up(self) -> None:
        """Load genai-prices' data now rather than on the first call."""
        get_snapshot = self._get_snapshot or self._load()
        self._reset(get_snapshot())

    def _resolve(self, key: CacheKey) -> Schedule | None:
        provider, model, day, tier = key
        snap = self._snapshot
        schedule: Schedule | None = None
        if self._overrides is not None:
            provider, model = self._overrides.rewrite(provider, model)
            schedule = self._overrides.schedule(provider, model)
        if schedule is None and snap is not None:
            try:
                schedule = _genai.resolve(snap, provider, model, day, tier)
            except Exception:  # odd price data must cost one log line, not an exception per call
                log_once("pricing.resolve", "genai-prices failed on model %r", model, exc_info=True)
        if schedule is None:
            self._log_unknown(key[1], key[0])
        with self._lock:
            self.resolutions += 1
            if len(self._cache) >= self._max_entries:
                self._cache.clear()
            self._cache[key] = schedule
        return schedule

    def _log_unknown(self, model: str, provider: str | None) -> None:
        """One warning per unknown model for the first :data:`_UNKNOWN_WARNINGS`, then one in all: a
        stream of distinct names (generated, or hostile) must not flood the log."""
        self._unknown_models += 1
        if self._unknown_models <= _UNKNOWN_WARNINGS:
            log_once(f"pricing.unknown:{model}", "no price for model %r (provider %r)", model, provider)
            return
        log_once(
            "pricing.unknown.many",
            "more than %d models without a price; later ones are logged at debug level "
            "(Pricer.unpriced_count and add_unpriced_listener() count every unpriced call)",
            _UNKNOWN_WARNINGS,
        )
        logger.debug("no price for model %r (provider %r)", model, provider)

    def _load(self) -> Callable[[], DataSnapshot]:
        from genai_prices.data_snapshot import get_snapshot

        self._get_snapshot = get_snapshot
        return get_snapshot

    def _reset(self, snap: DataSnapshot) -> None:
        with self._lock:
            self._snapshot = snap
            self._cache.clear()
