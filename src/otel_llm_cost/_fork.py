"""Locks we own, made new in a child process after ``os.fork()``.

A process forked after ``configure()`` (gunicorn's pre-fork model, ``multiprocessing`` with ``fork``)
copies every lock in the state it had at that instant: one held by another thread (an export, a
metric collection) stays held forever in the child, whose first LLM call then hangs. Each owner of a
lock registers it here once; after a fork, the child replaces every registered lock by a new one.
The parent is untouched. Our package starts no threads of its own outside the ``tail`` command (the
span and metric pipelines belong to the OpenTelemetry SDK, which restarts its own workers after fork).

Owners are held weakly: a registered object that is garbage-collected is forgotten.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref
from typing import Any

__all__ = ["call_after_fork", "registered_count", "reinit_locks_after_fork"]

_owners: list[tuple[weakref.ReferenceType[Any], tuple[str, ...]]] = []
_modules: list[tuple[str, tuple[str, ...]]] = []
_callbacks: list[tuple[weakref.ReferenceType[Any], str]] = []
_registry_lock = threading.Lock()
_SWEEP_EVERY = 256


def reinit_locks_after_fork(owner: object, *names: str) -> None:
    """After a fork, the child sets ``owner.<name>`` to a new lock of the same kind, for each name.

    Args:
        owner: an object (held weakly), or a module's ``__name__`` (a string) for module-level locks.
        names: attributes holding a ``threading.Lock`` or ``threading.RLock``.
    """
    with _registry_lock:
        if isinstance(owner, str):
            _modules.append((owner, names))
            return
        _owners.append((weakref.ref(owner), names))
        if len(_owners) % _SWEEP_EVERY == 0:
            _owners[:] = [(ref, attrs) for ref, attrs in _owners if ref() is not None]


def call_after_fork(owner: object, method: str) -> None:
    """After a fork, the child calls ``owner.<method>()`` (after renewing the locks); held weakly.

    For state a lock cannot describe, e.g. a file object whose internal buffer lock another thread held.
    """
    with _registry_lock:
        _callbacks.append((weakref.ref(owner), method))


def registered_count() -> int:
    """How many owners are registered and alive (for tests)."""
    with _registry_lock:
        return len(_modules) + sum(1 for ref, _ in _owners if ref() is not None)


def _new_lock_like(lock: object) -> object:
    # RLock's type is private; its repr names it.
    return threading.RLock() if "RLock" in type(lock).__name__ else threading.Lock()


def _renew(owner: object, names: tuple[str, ...]) -> None:
    for name in names:
        lock = getattr(owner, name, None)
        if lock is not None:
            with contextlib.suppress(Exception):  # a frozen owner: nothing to raise into the child
                setattr(owner, name, _new_lock_like(lock))


def _after_fork_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    for module_name, names in _modules:
        module = sys.modules.get(module_name)
        if module is not None:
            _renew(module, names)
    for ref, names in _owners:
        owner = ref()
        if owner is not None:
            _renew(owner, names)
    for ref, method in _callbacks:
        owner = ref()
        if owner is not None:
            with contextlib.suppress(Exception):  # nothing may raise into the child
                getattr(owner, method)()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
