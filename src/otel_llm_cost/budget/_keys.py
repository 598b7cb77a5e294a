"""Which budget keys a call counts against: the scope set in code, the call, and the current span.

A limit counted per ``key`` finds the call's value for it, first match wins:

1. ``global``: one value for every call; ``model`` and ``provider``: the request's model (after any
   downgrade) and ``gen_ai.provider.name``;
2. a value set by :func:`budget_scope` around the call (``tenant``, ``user``, ``run``, ``agent``,
   or any name);
3. an attribute of the span current when the call is made (the caller's step): ``agent`` reads
   ``gen_ai.agent.name`` (set by :func:`otel_llm_cost.agent_step`), any other key the attribute of
   that name (``deployment.environment``, ``enduser.id``...);
4. ``run`` falls back to the current trace id: one run = one trace.

A call with no value for a limit's key is not counted by that limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Final

from opentelemetry import trace

from otel_llm_cost import attributes as attr

_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})
_SCOPE: Final[ContextVar[Mapping[str, str]]] = ContextVar("otel_llm_cost.budget.scope", default=_EMPTY)
_SPAN_NAMES: Final = {"agent": attr.GEN_AI_AGENT_NAME}


@contextmanager
def budget_scope(**values: object) -> Iterator[Mapping[str, str]]:
    """Name the budget keys of the LLM calls made inside the block (nested scopes add to outer ones).

    Example::

        with budget_scope(tenant="acme", user=user_id):
            client.chat.completions.create(...)   # counts against tenant=acme and user=<user_id>

    It follows the ``contextvars`` context: asyncio tasks created inside inherit it; threads do not
    (use ``contextvars.copy_context().run``). ``None`` values are ignored.

    Yields:
        The merged scope in force inside the block.
    """
    merged = dict(_SCOPE.get())
    merged.update({name: str(value) for name, value in values.items() if value is not None})
    token = _SCOPE.set(MappingProxyType(merged))
    try:
        yield _SCOPE.get()
    finally:
        _SCOPE.reset(token)


def current_scope() -> Mapping[str, str]:
    """The budget scope in force here (empty outside any :func:`budget_scope`)."""
    return _SCOPE.get()


class CallKeys:
    """Looks up one call's key values (the current span and scope are read once per call)."""

    __slots__ = ("_attributes", "_scope", "_span", "model", "provider")

    def __init__(self, model: str | None, provider: str) -> None:
        self.model = model
        self.provider = provider
        self._scope = _SCOPE.get()
        self._span = trace.get_current_span()
        self._attributes: Mapping[str, Any] | None = None

    def value(self, key: str) -> str | None:
        if key == "global":
            return "*"
        if key == "model":
            return self.model
        if key == "provider":
            return self.provider
        found = self._scope.get(key)
        if found is not None:
            return found
        value = self._span_attributes().get(_SPAN_NAMES.get(key, key))
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        if key == "run":
            context = self._span.get_span_context()
            return format(context.trace_id, "032x") if context.is_valid else None
        return None

    def _span_attributes(self) -> Mapping[str, Any]:
        if self._attributes is None:
            found = getattr(self._span, "attributes", None)  # SDK spans expose theirs; others do not
            self._attributes = found if isinstance(found, Mapping) else _EMPTY
        return self._attributes
