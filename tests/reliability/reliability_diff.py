"""Differential runs: one scripted response served to the bare SDK method and to the instrumented one.

The instrumented call must end exactly like the bare one: the same value (or the same chunks), or the same
SDK exception with the same message. Anything else means our code raised into the caller or changed
what it sees. The bare method is the wrapped method's ``__wrapped__`` (wrapt), so nothing is uninstrumented
between the two runs.

    harness = Differential(server, recording)
    harness.run(json_response(body), lambda m: m(model="x", messages=[...]), client.chat.completions.create)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reliability_checks import FaultLog, Recording

from replay import Interaction, ReplayServer


@dataclass
class Outcome:
    """How a call ended: a value, a stream's items and how the stream ended, or an exception."""

    value: Any = None
    items: list[Any] | None = None
    error: tuple[type[BaseException], str] | None = None
    raw_items: list[Any] = field(default_factory=list, repr=False, compare=False)


def _error(exc: BaseException) -> tuple[type[BaseException], str]:
    return type(exc), str(exc)


def _is_stream(result: Any) -> bool:
    return hasattr(type(result), "__next__")


def settle(call: Callable[[], Any]) -> Outcome:
    """Make the call; drain it if it is a stream. SDK exceptions are caught and kept."""
    try:
        result = call()
    except Exception as exc:
        return Outcome(error=_error(exc))
    if not _is_stream(result):
        return Outcome(value=repr(result))
    raw: list[Any] = []
    try:
        for item in result:
            raw.append(item)
    except Exception as exc:
        return Outcome(items=[repr(i) for i in raw], error=_error(exc), raw_items=raw)
    return Outcome(items=[repr(i) for i in raw], raw_items=raw)


async def asettle(call: Callable[[], Any]) -> Outcome:
    """:func:`settle` for async methods and streams."""
    try:
        result = await call()
    except Exception as exc:
        return Outcome(error=_error(exc))
    if not hasattr(type(result), "__anext__"):
        return Outcome(value=repr(result))
    raw: list[Any] = []
    try:
        async for item in result:
            raw.append(item)
    except Exception as exc:
        return Outcome(items=[repr(i) for i in raw], error=_error(exc), raw_items=raw)
    return Outcome(items=[repr(i) for i in raw], raw_items=raw)


@dataclass
class Differential:
    """Runs scripted responses through bare and instrumented SDK methods and checks the spans."""

    server: ReplayServer
    recording: Recording
    # error.type values a span may carry instead of the caller's exception: a stream that ended wrong
    # before the SDK raised about it afterwards (e.g. the Anthropic helper's get_final_message()).
    stream_errors: tuple[str | None, ...] = ()

    def bare_and_instrumented(
        self, reply: Interaction, method: Any, call: Callable[[Callable[..., Any]], Any]
    ) -> tuple[Outcome, Outcome]:
        """Serve ``reply`` twice; ``call(m)`` calls ``m`` (the bare, then the instrumented method)."""
        bare_method = getattr(method, "__wrapped__", None)
        assert bare_method is not None, f"{method!r} is not instrumented"
        self.server.pending[:] = [reply]
        bare = settle(lambda: call(bare_method))
        self.recording.clear()
        self.server.pending[:] = [reply]
        with FaultLog() as faults:
            instrumented = settle(lambda: call(method))
        self.check(faults, instrumented)
        return bare, instrumented

    async def abare_and_instrumented(
        self, reply: Interaction, method: Any, call: Callable[[Callable[..., Any]], Any]
    ) -> tuple[Outcome, Outcome]:
        bare_method = getattr(method, "__wrapped__", None)
        assert bare_method is not None, f"{method!r} is not instrumented"
        self.server.pending[:] = [reply]
        bare = await asettle(lambda: call(bare_method))
        self.recording.clear()
        self.server.pending[:] = [reply]
        with FaultLog() as faults:
            instrumented = await asettle(lambda: call(method))
        self.check(faults, instrumented)
        return bare, instrumented

    def check(self, faults: FaultLog, outcome: Outcome) -> None:
        assert not self.server.unmatched, "the instrumented call sent a request the bare one did not"
        assert not faults.faults, faults.faults
        spans = self.recording.check()
        assert len(spans) == 1, f"{len(spans)} LLM spans for one call"
        if outcome.error is not None:
            error_type = outcome.error[0]
            recorded = (spans[0].attributes or {}).get("error.type")
            module = error_type.__module__
            name = error_type.__qualname__ if module == "builtins" else f"{module}.{error_type.__qualname__}"
            assert recorded in (name, *self.stream_errors), recorded
