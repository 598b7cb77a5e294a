"""Whether an instrumented call got as far as sending a request.

An SDK may refuse a call before it sends anything: anthropic raises ``ValueError("Streaming is
required ...")`` for a non-streamed request that may run past ten minutes, and pydantic-ai relies on it
(it tries ``stream=False`` first, then streams). Such a call is not an LLM call: nothing was billed and no
server failed, so recording it as a failed one would give a false error rate, an error point in the
duration metrics, and error traces for tail sampling to keep.

Both SDKs build every HTTP request (each retry too) in ``BaseClient._build_request`` of their
``_base_client`` module. That method is wrapped (:func:`build_request`); while an instrumented call runs,
:func:`sending` makes its invocation current, and building a request marks it sent. A call that fails
with its invocation still unmarked was refused locally (:meth:`LLMInvocation.refused`). Where the hook
cannot be installed (an SDK without the method) calls stay unmarked-unknown and fail as before.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation

HOOK_NAME: Final = "_build_request"
_SENDING: Final[ContextVar[LLMInvocation | None]] = ContextVar("otel_llm_cost.sending", default=None)
_hooked: set[str] = set()  # SDK modules whose _build_request is wrapped


def hooked(module_name: str, on: bool) -> None:
    """Record that ``module_name``'s request builder is (or is no longer) wrapped."""
    if on:
        _hooked.add(module_name)
    else:
        _hooked.discard(module_name)


class sending:  # lower case: used like the context-manager function it replaced
    """Run the SDK call with ``invocation`` current, so building a request marks it sent.

    A class rather than ``@contextmanager``: it runs on every call, and a generator costs more.
    """

    __slots__ = ("_invocation", "_sdk_module", "_token")

    def __init__(self, invocation: LLMInvocation, sdk_module: str) -> None:
        self._invocation = invocation
        self._sdk_module = sdk_module

    def __enter__(self) -> None:
        if self._sdk_module in _hooked:
            self._invocation.request_sent = False  # known from now on: unmarked means refused locally
        self._token = _SENDING.set(self._invocation)

    def __exit__(self, *exc_info: object) -> None:
        _SENDING.reset(self._token)


def build_request(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """The wrapper of ``BaseClient._build_request``: the current call is being sent."""
    invocation = _SENDING.get()
    if invocation is not None:
        invocation.request_sent = True
    return wrapped(*args, **kwargs)


def refused_locally(invocation: LLMInvocation, error: BaseException) -> bool:
    """Whether ``error`` ended a call that never built a request (and is an ordinary exception)."""
    return invocation.request_sent is False and isinstance(error, Exception)
