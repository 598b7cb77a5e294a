"""Install and remove our wrappers on SDK methods, beside anyone else's.

Other instrumentations (OpenLLMetry, the official GenAI packages, a user's own) wrap the same SDK
methods with ``wrapt`` too. Ours are recognised by a mark on the wrapper function, not by "is this a
``wrapt`` proxy", so that installing never skips a method another package wrapped first, and removing
takes out our layer only, wherever it sits in the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import wrapt

from otel_llm_cost._log import log_once

# wrapt 2 wraps functions in proxies that derive from BaseObjectProxy, not ObjectProxy.
_PROXY: Final = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)
_MARK: Final = "_otel_llm_cost_wrapper"


def wrap(owner: Any, name: str, wrapper: Callable[..., Any]) -> bool:
    """Wrap ``owner.name`` with ``wrapper`` unless one of our wrappers is already in its chain.

    Returns:
        Whether a wrapper was installed.
    """
    if _our_layer(vars(owner).get(name)) is not None:
        return False
    setattr(wrapper, _MARK, True)
    wrapt.wrap_function_wrapper(owner, name, wrapper)
    return True


def unwrap(owner: Any, name: str) -> None:
    """Remove our wrapper from ``owner.name``, keeping any other package's wrappers around it."""
    current = vars(owner).get(name)
    ours = _our_layer(current)
    if ours is None:
        return
    if ours is current:
        setattr(owner, name, ours.__wrapped__)
        return
    outer = current
    while outer.__wrapped__ is not ours:
        outer = outer.__wrapped__
    try:
        outer.__wrapped__ = ours.__wrapped__
    except (AttributeError, TypeError):
        log_once(f"unwrap.{name}", "could not remove our wrapper from %s beneath another wrapper", name)


def _our_layer(function: Any) -> Any:
    while isinstance(function, _PROXY):
        if getattr(getattr(function, "_self_wrapper", None), _MARK, False):
            return function
        function = function.__wrapped__
    return None
