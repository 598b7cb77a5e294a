"""Call an SDK method so that the warnings it raises are credited to our caller, as without us.

The SDKs warn with a fixed ``stacklevel`` (anthropic: a deprecated model, ``stacklevel=3``), counted
from their own frame up to the application's. A wrapper adds one frame on that way, so the warning is
credited to the wrapper's module; Python's default filters then hide it (a ``DeprecationWarning`` is
shown only where ``__main__`` triggered it), and one that is shown names our file.

``stacklevel`` cannot be changed from outside, ``warnings.catch_warnings`` swaps process-wide state (not
safe with threads or tasks), and ``skip_file_prefixes`` (3.12+) is the SDK's argument, not ours. So the
SDK is called through a one-line trampoline built to look like the caller's frame: the caller's file,
line and function name, run in the caller's globals (its ``__name__`` and ``__warningregistry__``). The
frame the SDK's ``stacklevel`` lands on then is, for the warnings module, the caller's own. A traceback
through the call shows the caller's line once more; nothing else can see the difference.

Async calls need nothing: an awaited SDK coroutine counts frames through the awaiting coroutines, and the
extra one there is ours, so the warning lands on the application's coroutine (as it should).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

Trampoline = Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]

# A function (fn, args, kwargs) -> fn(*args, **kwargs), on one line: its frame's line is co_firstlineno.
_TEMPLATE = (lambda fn, args, kwargs: fn(*args, **kwargs)).__code__
_MAX_CACHED = 512
# (id of the caller's code, its instruction, id of its globals) -> (that code, the trampoline). Ids, not
# the code object, as the key: hashing a code object hashes its content. The code is kept to check the id.
_trampolines: dict[tuple[int, int, int], tuple[types.CodeType, Trampoline]] = {}


def _direct(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return fn(*args, **kwargs)


def caller_trampoline() -> Trampoline:
    """For a wrapper to call the SDK with: ``trampoline(fn, args, kwargs)`` runs ``fn(*args, **kwargs)``
    in a frame that looks like the wrapper's caller's (call this from the wrapper itself)."""
    try:
        return _trampoline(sys._getframe(2))  # 0: here, 1: the wrapper, 2: its caller
    except Exception:  # no frame to copy (or an interpreter without _getframe): call directly
        return _direct


def _trampoline(frame: types.FrameType) -> Trampoline:
    while frame.f_globals.get("__name__", "").startswith("wrapt."):  # wrapt's pure-Python fallback
        frame = frame.f_back  # type: ignore[assignment]
    code, namespace = frame.f_code, frame.f_globals
    key = (id(code), frame.f_lasti, id(namespace))  # the call's instruction: cheaper than its line
    found = _trampolines.get(key)
    if found is not None and found[0] is code:
        return found[1]
    line = frame.f_lineno or code.co_firstlineno
    copy = _TEMPLATE.replace(
        co_filename=code.co_filename, co_firstlineno=line, co_name=code.co_name, co_qualname=code.co_name
    )
    trampoline: Trampoline = types.FunctionType(copy, namespace)  # holds the globals: their id stays theirs
    if len(_trampolines) >= _MAX_CACHED:
        _trampolines.clear()
    _trampolines[key] = (code, trampoline)
    return trampoline
