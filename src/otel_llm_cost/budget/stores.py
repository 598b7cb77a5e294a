"""Where budget use is kept: one interface, an in-memory store, and a Redis store for fleets.

A store counts integers per key (nano-dollars, tokens or calls) in the buckets of a sliding window
(:mod:`.windows`) and does two things atomically across all the keys of one call: *reserve* (check
every enforced limit, then reserve on every key, or on none) and *settle* (replace a reservation by
what the call used). The guard never holds a lock across the network call itself.

:class:`MemoryStore` is the default (one process). :class:`RedisStore` shares budgets between
processes and machines.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost.budget import _lua
from otel_llm_cost.budget._deadline import deadline, deadline_connection_class
from otel_llm_cost.budget.windows import BucketRing, Window

__all__ = [
    "BudgetStore",
    "Entry",
    "MemoryStore",
    "RedisStore",
    "Reservation",
    "Settlement",
    "StoreUnavailable",
]


T = TypeVar("T")


class StoreUnavailable(Exception):
    """The store could not be reached (the guard then applies its failure policy)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One key a call reserves on.

    Attributes:
        key: the store key (budget label, unit and window).
        window: the window's bucket layout.
        amount: what to reserve, in store units.
        limit: the enforced limit in store units, or ``None`` to count without refusing.
    """

    key: str
    window: Window
    amount: int
    limit: int | None


@dataclass(frozen=True, slots=True)
class Reservation:
    """What a store answered to a reservation.

    Attributes:
        admitted: whether the amounts were reserved (on every entry) or not (on none).
        used: per entry, spent plus reserved in the window *before* this call.
        refused: the index of the first entry whose limit refused the call, or ``None``.
        bucket: per entry, the bucket the reservation went into (for settling).
    """

    admitted: bool
    used: tuple[int, ...]
    refused: int | None = None
    bucket: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Settlement:
    """Replace ``reserved`` in bucket ``bucket`` of ``key`` by ``actual``."""

    key: str
    window: Window
    bucket: int
    reserved: int
    actual: int


@runtime_checkable
class BudgetStore(Protocol):
    """The interface every budget store implements. Methods raise only :class:`StoreUnavailable`."""

    def reserve(self, entries: Sequence[Entry], now: float) -> Reservation: ...

    def settle(self, settlements: Sequence[Settlement], now: float) -> None: ...

    def usage(self, key: str, window: Window, now: float) -> tuple[int, int]:
        """(spent, reserved) of ``key`` in its window at ``now``."""
        ...

    def close(self) -> None: ...


class MemoryStore:
    """Budgets of this process only, under one lock (reserve and settle are a few dict updates)."""

    _SWEEP_EVERY = 4096

    def __init__(self) -> None:
        self._rings: dict[str, BucketRing] = {}
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")
        self._until_sweep = self._SWEEP_EVERY

    def reserve(self, entries: Sequence[Entry], now: float) -> Reservation:
        with self._lock:
            rings = [self._ring(entry) for entry in entries]
            used = tuple(sum(ring.totals(now)) for ring in rings)
            for position, entry in enumerate(entries):
                if entry.limit is not None and used[position] + entry.amount > entry.limit:
                    return Reservation(False, used, position)
            buckets = tuple(entry.window.index(now) for entry in entries)
            for ring, entry, bucket in zip(rings, entries, buckets, strict=True):
                ring.reserve(bucket, entry.amount)
            self._maybe_sweep(now)
            return Reservation(True, used, None, buckets)

    def settle(self, settlements: Sequence[Settlement], now: float) -> None:
        with self._lock:
            for item in settlements:
                ring = self._rings.get(item.key)
                if ring is not None:
                    ring.settle(item.bucket, item.reserved, item.actual, now)

    def usage(self, key: str, window: Window, now: float) -> tuple[int, int]:
        with self._lock:
            ring = self._rings.get(key)
            return ring.totals(now) if ring is not None else (0, 0)

    def close(self) -> None:
        pass

    def _ring(self, entry: Entry) -> BucketRing:
        ring = self._rings.get(entry.key)
        if ring is None:
            ring = self._rings[entry.key] = BucketRing(entry.window)
        return ring

    def _maybe_sweep(self, now: float) -> None:
        # Keys of finished runs and one-off users would otherwise pile up for the life of the process.
        self._until_sweep -= 1
        if self._until_sweep > 0:
            return
        self._until_sweep = self._SWEEP_EVERY
        for key in [k for k, ring in self._rings.items() if ring.totals(now) == (0, 0) and ring.is_empty()]:
            del self._rings[key]


class RedisStore:
    """Budgets shared by every process that points at the same Redis (``pip install redis``).

    Reserve and settle are one Lua script each (:mod:`._lua`), atomic on the server and O(buckets)
    per key; all keys carry one hash tag, so a Redis Cluster keeps a call's keys on one shard.
    Windows are counted on the callers' clocks (keep the fleet's clocks in sync, e.g. NTP).

    A call never waits long on Redis: each operation (connecting included) has a total deadline of
    ``deadline`` seconds, enforced at the socket for ``redis://`` URLs (a Redis that trickles its
    answer byte by byte is cut off, not waited for); each socket operation also times out after
    ``timeout`` seconds; there are no retries, and after a failure Redis is left alone for
    ``retry_after`` seconds (the guard applies its failure policy meanwhile, without touching the
    network). A reply that is not what the scripts return (another server on the port, a proxy
    answering garbage) is a store error like an unreachable Redis.

    Example::

        store = RedisStore(url="redis://budget-redis:6379/0")
        guard = BudgetGuard([Limit("tenant", "usd", "50", "1d")], store=store, on_store_error="closed")

    Args:
        url: the Redis URL (ignored when ``client`` is given).
        client: a ready ``redis.Redis`` client (its own timeouts then apply).
        prefix: namespace of the keys (``{prefix}:...``).
        timeout: socket connect and read timeout, in seconds.
        deadline: total seconds one operation may take (``redis://`` URLs; for ``rediss://`` and
            ``unix://`` only ``timeout`` applies).
        retry_after: seconds to skip Redis after a failure.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        client: Any = None,
        prefix: str = "llm_cost",
        timeout: float = 0.25,
        deadline: float = 0.5,
        retry_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis  # deferred: an optional dependency
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        if client is None:
            client = redis.Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=0,
                connection_class=deadline_connection_class(),  # the URL's scheme may choose another
            )
        self._deadline = deadline
        self._client = client
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._prefix = "{" + prefix + "}:"
        self._reserve_script = client.register_script(_lua.RESERVE)
        self._settle_script = client.register_script(_lua.SETTLE)
        self._retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0

    def reserve(self, entries: Sequence[Entry], now: float) -> Reservation:
        args: list[Any] = [repr(float(now))]
        for e in entries:
            limit = -1 if e.limit is None else e.limit
            args += [e.window.bucket_seconds, e.window.buckets, e.amount, limit, e.window.ttl_ms()]
        keys = [self._prefix + e.key for e in entries]
        n = len(entries)
        return self._run(lambda: _reservation(self._reserve_script(keys=keys, args=args), n))

    def settle(self, settlements: Sequence[Settlement], now: float) -> None:
        args: list[Any] = [repr(float(now))]
        for s in settlements:
            w = s.window
            args += [w.bucket_seconds, w.buckets, s.bucket, -s.reserved, s.actual, w.ttl_ms()]
        keys = [self._prefix + s.key for s in settlements]
        self._run(lambda: self._settle_script(keys=keys, args=args))

    def usage(self, key: str, window: Window, now: float) -> tuple[int, int]:
        return self._run(lambda: _usage(self._client.hgetall(self._prefix + key), window.oldest(now)))

    def close(self) -> None:
        with contextlib.suppress(*self._errors):
            self._client.close()

    def _run(self, command: Callable[[], T]) -> T:
        """Run one operation within the deadline; any failure, or a reply of the wrong shape, is a
        :class:`StoreUnavailable` (never another exception: the guard's failure policy must apply)."""
        if self._clock() < self._down_until:
            raise StoreUnavailable("redis marked down after a recent failure")
        try:
            with deadline(self._deadline):
                return command()
        except Exception as error:
            self._down_until = self._clock() + self._retry_after
            kind = "unexpected reply" if isinstance(error, _BadReply) else type(error).__name__
            raise StoreUnavailable(f"redis: {kind}: {error}") from error


class _BadReply(ValueError):
    """The server answered, but not what the script returns (not Redis, or not our script)."""


def _int(value: object) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bytes | str) and len(value) <= 24:
        return int(value)
    raise _BadReply(f"not an integer: {value!r:.40}")


def _reservation(reply: object, n: int) -> Reservation:
    if not isinstance(reply, list) or len(reply) != 2 + 2 * n:
        raise _BadReply(f"{type(reply).__name__} of {len(reply) if isinstance(reply, list) else '?'} items")
    admitted, refused = _int(reply[0]), _int(reply[1])
    if admitted not in (0, 1) or not 0 <= refused <= n or (admitted == 1) == (refused != 0):
        raise _BadReply(f"admitted={admitted} refused={refused}")
    used = tuple(_int(v) for v in reply[2 : 2 + n])
    buckets = tuple(_int(v) for v in reply[2 + n :])
    return Reservation(bool(admitted), used, refused - 1 if refused else None, buckets)


def _usage(fields: object, oldest: int) -> tuple[int, int]:
    if not isinstance(fields, dict):
        raise _BadReply(type(fields).__name__)
    spent = reserved = 0
    for raw, value in fields.items():
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        if not name or name[0] not in "sr" or _int(name[1:]) < oldest:
            continue
        if name[0] == "s":
            spent += _int(value)
        else:
            reserved += _int(value)
    return spent, reserved
